"""Revision chains: revisions(N, ratio) and pass@attempts against known truth.

Synthetic chains (labelled as such) have hand-computed or exactly enumerated values; the real
Reflexion HumanEval log is checked against numbers computed here from the raw JSONL with
`json` only, independently of the importer.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import numpy as np
import pytest

from tests.store_helpers import mirror_path
from workbench.engine.chains import ChainData, load_chains
from workbench.engine.data import load_run_data
from workbench.engine.strategies.pass_at_attempts import PassAtAttempts
from workbench.engine.strategies.revisions import Revisions
from workbench.engine.strategy import get_strategy
from workbench.errors import BiasedEstimateWarning, BudgetError, InputError, StrategyError
from workbench.importers import reflexion
from workbench.store import OutcomeScore, Problem, Run, RunBundle, RunStore, Sample

DRAWS = 4000


def chain_samples(pid: str, chains: list[list[tuple[str | None, bool | None]]],
                  start: int = 0) -> list[Sample]:
    """Samples for one problem from [[(answer_key, is_correct), ...] per chain] (synthetic)."""
    out = []
    idx = 0
    for c, attempts in enumerate(chains):
        for r, (key, ok) in enumerate(attempts):
            out.append(Sample(pid, idx, answer_key=key, is_correct=ok, output_tokens=10 + r,
                              prompt_tokens=100, chain_id=start + c, revision_idx=r))
            idx += 1
    return out


# --- pass@attempts on hand-made chains -------------------------------------------------------


def test_pass_at_attempts_hand_computed():
    samples = (
        # p: two chains; chain 0 solves at attempt 2 (index 1); chain 1 at attempt 3
        chain_samples("p", [[("1", False), ("2", True)],
                            [("1", False), ("3", False), ("2", True)]])
        # q: one chain that stopped at success on attempt 1
        + chain_samples("q", [[("9", True)]], start=2)
        # r: one chain that never succeeds within its 3 attempts (= max_iters)
        + chain_samples("r", [[("0", False), ("0", False), ("5", False)]], start=3)
    )
    chains = ChainData.from_records("synthetic/chains", samples, max_iters=3)
    curve = PassAtAttempts().curve(chains, [1, 2, 3])
    assert curve.problem_ids.tolist() == ["p", "q", "r"]
    assert curve.per_problem.tolist() == [[0.0, 0.5, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    assert curve.exact and curve.mc_se.max() == 0
    np.testing.assert_allclose(curve.accuracy, [1 / 3, 1.5 / 3, 2 / 3])
    # attempts made within k: p (1,1)->(2,2)->(2,3), q stops after 1, r (1,2,3)
    np.testing.assert_allclose(curve.cost.generations, [(1 + 1 + 1) / 3, (2 + 1 + 2) / 3,
                                                        (2.5 + 1 + 3) / 3])
    # k = 4 needs a 4th attempt of p's chain 1 and of r, which hold max_iters: refused
    with pytest.raises(StrategyError, match="chain 1 holds 3 and did not stop"):
        PassAtAttempts().curve(chains, [4])


def test_pass_at_attempts_ungraded_attempts_bound_the_truth():
    samples = chain_samples("p", [[("a", False), (None, None), ("b", True)],
                                  [("a", False), (None, None), ("c", False)]])
    curve = PassAtAttempts().curve(ChainData.from_records("s", samples), [1, 2, 3])
    assert curve.per_problem.tolist() == [[0.0, 0.0, 0.5]]
    assert curve.meta["upper_bound"].tolist() == [[0.0, 1.0, 1.0]]


# --- revisions on hand-made chains -------------------------------------------------------------


def majority_truth(chains: list[list[tuple[str, bool]]], k: int, ratio: int) -> float:
    """Exact expected plurality-vote correctness over all k-subsets of chains (independent
    implementation; ties count as a uniform pick; stopped chains padded with their last)."""
    total, subsets = 0.0, list(itertools.combinations(range(len(chains)), k))
    for sub in subsets:
        votes: Counter[str] = Counter()
        right: dict[str, bool] = {}
        for c in sub:
            attempts = chains[c][:ratio]
            attempts = attempts + [attempts[-1]] * (ratio - len(attempts))
            for key, ok in attempts:
                votes[key] += 1
                right[key] = ok
        top = max(votes.values())
        winners = [a for a, v in votes.items() if v == top]
        total += sum(right[a] for a in winners) / len(winners)
    return total / len(subsets)


CHAINS = [
    [("4", False), ("5", True), ("5", True)],
    [("4", False), ("4", False), ("6", False)],
    [("5", True)],                       # stopped at success: its answer stands for 3 slots
    [("6", False), ("4", False), ("5", True)],
    [("6", False), ("6", False), ("6", False)],
]


@pytest.mark.parametrize(("n", "ratio"), [(2, 1), (4, 2), (6, 3), (3, 3), (9, 3)])
def test_revisions_majority_matches_exact_enumeration(n, ratio):
    chains = ChainData.from_records("synthetic/rev", chain_samples("p", CHAINS), max_iters=3)
    curve = Revisions(ratio=ratio, draws=DRAWS).curve(chains, [n], rng=2)
    truth = majority_truth(CHAINS, n // ratio, ratio)
    tol = 4 * max(curve.mc_se[0, 0], math.sqrt(truth * (1 - truth) / DRAWS)) + 1e-12
    assert abs(curve.per_problem[0, 0] - truth) <= tol, (curve.per_problem, truth)


def test_stopped_chain_keeps_its_answer_and_costs_nothing_more():
    # max_iters = 2 recorded: the 1-attempt chain stopped by the generator's own rule
    chains = ChainData.from_records("s", chain_samples("p", [[("5", True)],
                                                             [("4", False), ("4", False)]]),
                                    max_iters=2)
    # N = 4, ratio 2: both chains; "5" pads to 2 votes vs "4" 2 votes: a tie -> 1/2
    curve = Revisions(ratio=2, draws=50).curve(chains, [4], rng=0)
    assert curve.per_problem.tolist() == [[0.5]] and curve.mc_se.tolist() == [[0.0]]
    assert curve.cost.generations.tolist() == [3.0]   # 1 + 2 attempts made, not 4
    assert curve.cost.tokens.tolist() == [10 + 10 + 11]
    assert np.isnan(curve.cost.money).all()  # no price table
    # the 2-attempt chain reached max_iters: it cannot serve ratio 3
    with pytest.raises(StrategyError, match="holds 2 and did not stop"):
        Revisions(ratio=3).curve(chains, [3])


@pytest.mark.parametrize("last_correct", [True, False])
def test_short_chain_is_padded_or_refused_whatever_its_gold_grade(last_correct: bool):
    """Regression (issue 10): a 1-attempt chain used to be padded when its last attempt was
    graded CORRECT and refused when it was wrong, so the answer key chose which chains count.
    Now the grade plays no part: without a recorded stopping rule the chain is refused either
    way; with max_iters = 3 it is padded either way, with the same stop flags."""
    attempts = [[("5", last_correct)], [("4", not last_correct), ("4", not last_correct)]]
    bare = ChainData.from_records("s", chain_samples("p", attempts))
    assert bare.problem("p").stopped.tolist() == [False, False]
    with pytest.raises(StrategyError, match="chain 0 holds 1 and did not stop"):
        Revisions(ratio=2).curve(bare, [4])
    ruled = ChainData.from_records("s", chain_samples("p", attempts), max_iters=3)
    assert ruled.problem("p").stopped.tolist() == [True, True]
    # N = 4, ratio 2: "5" padded to 2 votes vs "4" 2 votes: a tie, whichever is correct
    curve = Revisions(ratio=2, draws=20).curve(ruled, [4], rng=0)
    assert curve.per_problem.tolist() == [[0.5]]


def test_revisions_hierarchical_hand_computed():
    """Chain A: "1" (0.9), "2" (0.3), "2" (0.3): within A "1" wins (0.9 > 0.6), weight 0.9.
    Chain B: "2" (0.5), "2" (0.5), "3" (0.2): "2" wins, weight 1.0. Across: "2" (1.0) beats
    "1" (0.9), and "2" is correct. Majority over all six says "2" too; "last" over chains
    says "2" vs "3": a tie."""
    attempts = [[("1", False), ("2", True), ("2", True)], [("2", True), ("2", True), ("3", False)]]
    samples = chain_samples("p", attempts)
    scores = dict(zip([(s.problem_id, s.sample_idx) for s in samples],
                      [0.9, 0.3, 0.3, 0.5, 0.5, 0.2], strict=True))
    chains = ChainData.from_records("s", samples, scores=scores)
    hier = Revisions(ratio=3, select="hierarchical", draws=20).curve(chains, [6], rng=0)
    assert hier.per_problem.tolist() == [[1.0]]
    # FLOPs not computable without parameter counts; the verifier reads attempts + prompts
    assert np.isnan(hier.cost.flops).all()
    # one chain at a time (N = 3): A says "1" (wrong), B says "2" (right)
    half = Revisions(ratio=3, select="hierarchical", draws=DRAWS).curve(chains, [3], rng=0)
    assert abs(half.per_problem[0, 0] - 0.5) <= 4 * math.sqrt(0.25 / DRAWS)
    last = Revisions(ratio=3, select="last", draws=20).curve(chains, [6], rng=0)
    assert last.per_problem.tolist() == [[0.5]]
    # "verifier": weighted best-of-N over all six: "1" 0.9, "2" 0.3+0.3+0.5+0.5 = 1.6, "3" 0.2
    ver = Revisions(ratio=3, select="verifier", draws=20).curve(chains, [6], rng=0)
    assert ver.per_problem.tolist() == [[1.0]]
    # one chain: A: "1" 0.9 > "2" 0.6 (wrong); B: "2" 1.0 (right): 1/2 in expectation
    one = Revisions(ratio=3, select="verifier", draws=DRAWS).curve(chains, [3], rng=0)
    assert abs(one.per_problem[0, 0] - 0.5) <= 4 * math.sqrt(0.25 / DRAWS)
    # raising A's "1" to 1.2 makes it win across chains
    scores[("p", 0)] = 1.2
    flipped = ChainData.from_records("s", samples, scores=scores)
    out = Revisions(ratio=3, select="hierarchical", draws=20).curve(flipped, [6], rng=0)
    assert out.per_problem.tolist() == [[0.0]]


def test_revisions_validation_and_budget_errors():
    chains = ChainData.from_records("s", chain_samples("p", CHAINS), max_iters=3)
    with pytest.raises(StrategyError, match="budget N=5 must be a multiple of `ratio`=2"):
        Revisions(ratio=2).curve(chains, [5])
    with pytest.raises(StrategyError, match="`ratio` must be an integer >= 1"):
        Revisions(ratio=0)
    with pytest.raises(StrategyError, match="`select` must be one of"):
        Revisions(select="best")
    with pytest.raises(StrategyError, match="needs a verifier score on every attempt"):
        Revisions(ratio=1, select="hierarchical").curve(chains, [1])
    with pytest.raises(BudgetError, match="needs 6 chains per problem"):
        Revisions(ratio=1).curve(chains, [6])
    with pytest.warns(BiasedEstimateWarning):
        biased = Revisions(ratio=1, draws=200).curve(chains, [6], rng=0, replace=True)
    assert biased.biased
    ungraded = ChainData.from_records("s", chain_samples("p", [[("1", False), (None, None)]]),
                                      max_iters=5)
    with pytest.raises(StrategyError, match="attempt 1 of chain 0 of problem 'p'.*ungraded"):
        Revisions(ratio=2).curve(ungraded, [2])
    assert get_strategy("revisions", ratio=2).params() == {"ratio": 2, "select": "majority"}


def test_chain_building_errors_name_the_field():
    gap = [Sample("p", 0, is_correct=True, chain_id=0, revision_idx=0),
           Sample("p", 1, is_correct=True, chain_id=0, revision_idx=2)]
    with pytest.raises(InputError, match="field `revision_idx`.*without gaps"):
        ChainData.from_records("s", gap)
    twice = [Sample("p", 0, is_correct=True, chain_id=0, revision_idx=0),
             Sample("p", 1, is_correct=True, chain_id=0, revision_idx=0)]
    with pytest.raises(InputError, match="revision 0 twice"):
        ChainData.from_records("s", twice)


def test_load_chains_with_verifier_scores_and_without_chains():
    store = RunStore(":memory:")
    samples = chain_samples("p", [[("1", False), ("2", True)]])
    store.ingest(RunBundle(
        Run("r/c", "toy", "m", "synthetic", sampler={"max_iters": 2}),
        problems=[Problem("toy", "p")], samples=samples,
        outcome_scores=[OutcomeScore("orm", "p", s.sample_idx, 0.25 * (s.sample_idx + 1))
                        for s in samples],
    ))
    chains = load_chains(store, "r/c")
    assert chains is not None and chains.verifier == "orm" and chains.has_scores
    assert chains.max_iters == 2
    assert chains.problem("p").score.tolist() == [[0.25, 0.5]]
    store.ingest(RunBundle(Run("r/n", "toy", "m", "synthetic"), problems=[Problem("toy", "p")],
                           samples=[Sample("p", 0, is_correct=True)]))
    assert load_chains(store, "r/n") is None


# --- the real Reflexion HumanEval log -----------------------------------------------------------


@pytest.fixture(scope="module")
def reflexion_run():
    folder = mirror_path() / "reflexion"
    files = {p.name: p for p in folder.glob("*.jsonl")}
    store = RunStore(":memory:")
    for bundle in reflexion.read(files):
        store.ingest(bundle)
    data = load_run_data(store, "reflexion/humaneval-gpt-4-reflexion")
    raw = [json.loads(line) for line in
           (folder / reflexion.REFLEXION_FILE).read_text().splitlines() if line.strip()]
    return data, raw


def test_reflexion_pass_at_attempts_matches_the_raw_log(reflexion_run):
    data, raw = reflexion_run
    assert data.chains is not None and len(data.chains.problems) == 164
    attempts = [len(r["reflections"]) + 1 for r in raw]
    max_attempts = max(attempts)
    curve = PassAtAttempts().curve(data, list(range(1, max_attempts + 1)))
    solved = [r["is_solved"] for r in raw]
    # at the maximum: the file's final solve rate (150 / 164)
    assert curve.accuracy[-1] == pytest.approx(sum(solved) / len(raw))
    assert sum(solved) == 150
    # at every k: chains that stopped solved within k attempts (a recorded success happens only
    # at a chain's last attempt)
    for j, k in enumerate(range(1, max_attempts + 1)):
        expect = sum(s and a <= k for s, a in zip(solved, attempts, strict=True)) / len(raw)
        assert curve.accuracy[j] == pytest.approx(expect)
    assert curve.accuracy[0] == pytest.approx(134 / 164)
    # the upper bound counts chains whose ungraded middle attempts fall within k
    upper = curve.meta["accuracy_upper"]
    assert (upper >= curve.accuracy).all() and upper[-1] > curve.accuracy[-1]
    assert curve.cost.generations[-1] == pytest.approx(np.mean(attempts))
    with pytest.raises(StrategyError, match="did not stop"):
        PassAtAttempts().curve(data, [max_attempts + 1])  # unsolved 10-attempt chains


def test_reflexion_revisions_uses_the_last_graded_attempt(reflexion_run):
    data, raw = reflexion_run
    ratio = max(len(r["reflections"]) + 1 for r in raw)
    curve = Revisions(ratio=ratio, select="last", draws=10).curve(data, [ratio], rng=0)
    assert curve.accuracy[0] == pytest.approx(150 / 164) and curve.accuracy_se[0] == 0
    # middle attempts were never graded: a ratio that selects one is refused
    with pytest.raises(StrategyError, match="ungraded"):
        Revisions(ratio=2, select="last").curve(data, [2])
