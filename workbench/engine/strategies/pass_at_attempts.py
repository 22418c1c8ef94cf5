"""pass@attempts(k): the share of problems solved within the first k attempts of a chain.

For sequential revision chains (Reflexion, Snell et al.'s revision model): a chain counts as
solved within k when one of its first k attempts is graded correct. Chains that stopped
before k attempts (see `workbench.engine.chains`) count as they ended; a chain truncated
before k makes the strategy refuse. With several chains per problem the per-problem value is
the share of its chains solved (the expectation for one chain drawn at random). Exact, no
Monte Carlo.

Ungraded attempts count as not solved, so the value is what the logged system delivered and
recognised by attempt k. Reflexion's middle attempts were never run against the real tests
(the model's own tests rejected them), so some of them may have been right:
``meta["upper_bound"]`` (P, B) counts a chain as solved also when an ungraded attempt lies
within its first k, and ``meta["accuracy_upper"]`` is its mean: the true value lies between.

>>> from workbench.engine.chains import ChainData
>>> from workbench.store.records import Sample
>>> chains = ChainData.from_records("demo", [
...     Sample("p", 0, is_correct=False, chain_id=0, revision_idx=0),
...     Sample("p", 1, is_correct=True, chain_id=0, revision_idx=1),
...     Sample("q", 0, is_correct=False, chain_id=1, revision_idx=0),
...     Sample("q", 1, is_correct=None, chain_id=1, revision_idx=1),
...     Sample("q", 2, is_correct=False, chain_id=1, revision_idx=2)], max_iters=3)
>>> curve = PassAtAttempts().curve(chains, [1, 2, 3])
>>> curve.accuracy.tolist(), curve.meta["accuracy_upper"].tolist()
([0.0, 0.5, 0.5], [0.0, 1.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.engine.budgets import check_budgets
from workbench.engine.chains import chains_of, first_attempts
from workbench.engine.results import Curve
from workbench.engine.strategy import RngLike, Strategy, register


@register
class PassAtAttempts(Strategy):
    """pass@attempts(k) over revision chains; budgets are k (attempts per chain)."""

    name = "pass_at_attempts"
    needs = frozenset({"chains"})
    exact = True

    def curve(
        self, data: Any, budgets: Sequence[int], *, rng: RngLike = None, replace: bool = False
    ) -> Curve:
        chains, cost_model = chains_of(data, self.name)
        ks = check_budgets(budgets)
        p, b = len(chains.problems), ks.size
        solved = np.zeros((p, b))
        upper = np.zeros((p, b))
        spent = np.zeros((3, p, b))  # attempts, output tokens, prompt tokens
        for i, problem in enumerate(chains.problems):
            for j, k in enumerate(ks.tolist()):
                slots = first_attempts(problem, k, self.name)
                hit = (slots.correct == 1.0).any(axis=1)
                maybe = hit | np.isnan(slots.correct).any(axis=1)
                solved[i, j], upper[i, j] = hit.mean(), maybe.mean()
                spent[:, i, j] = (slots.generated.sum(axis=1).mean(),
                                  slots.output_tokens.sum(axis=1).mean(),
                                  slots.prompt_tokens.sum(axis=1).mean())
        mean = spent.mean(axis=1) if p else np.full((3, b), np.nan)
        cost = cost_model.cost(mean[0], output_tokens=mean[1], prompt_tokens=mean[2])
        return Curve(
            strategy=self.name, params={}, run_id=chains.run_id, problem_ids=chains.problem_ids,
            budgets=ks, per_problem=solved, mc_se=np.zeros_like(solved), cost=cost, exact=True,
            meta={"upper_bound": upper, "accuracy_upper": upper.mean(axis=0)},
        )
