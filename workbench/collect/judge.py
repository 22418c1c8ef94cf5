"""LLM-as-judge verifier: the probability that a model answers "yes" to "is this correct?".

The judge is asked about a whole solution (mode "outcome") or about the last step of a prefix
(mode "step"). One token is generated at temperature 0 with the top-k logprobs; the score is
P(yes) / (P(yes) + P(no)), summing case and whitespace variants of each word. When neither word
is among the top-k tokens the score is 0.5 (no information) and the unit is flagged, so the
run's metadata can say how often it happened.

>>> import math
>>> yes_no_score({" Yes": math.log(0.6), "No": math.log(0.2), "The": math.log(0.1)})
(0.75, 0.6, 0.2)
>>> yes_no_score({"The": -0.1})
(0.5, 0.0, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.collect.client import Replicas
from workbench.collect.config import JudgeConfig
from workbench.collect.prompts import chat_messages, judge_user_message, render_chat
from workbench.errors import CollectError


def yes_no_score(top: dict[str, float]) -> tuple[float, float, float]:
    """(score, P(yes), P(no)) from one token's {token: logprob} alternatives."""
    p_yes = math.fsum(math.exp(lp) for t, lp in top.items() if t.strip().lower() == "yes")
    p_no = math.fsum(math.exp(lp) for t, lp in top.items() if t.strip().lower() == "no")
    total = p_yes + p_no
    score = p_yes / total if total > 0 else 0.5
    return round(score, 12), round(p_yes, 12), round(p_no, 12)


@dataclass(frozen=True)
class Judge:
    """A judge verifier bound to its endpoint (`api` "completions" or "chat")."""

    cfg: JudgeConfig
    clients: Replicas
    model: str
    api: str
    template: str

    async def score(
        self, question: str, steps: Sequence[str], *, mode: str, route: str
    ) -> dict[str, Any]:
        """Score a solution (mode "outcome") or the last step of a prefix (mode "step").

        `route` (the problem id) picks the replica that serves the request.
        """
        user = judge_user_message(question, steps, mode=mode)
        client = self.clients.pick(route)
        params: dict[str, Any] = {"model": self.model, "max_tokens": 1, "temperature": 0.0}
        if self.api == "completions":
            prompt = render_chat(self.template, self.cfg.system, user)
            comp = await client.completion(prompt, logprobs=self.cfg.top_logprobs, **params)
        else:
            comp = await client.chat(
                chat_messages(self.cfg.system, user),
                logprobs=True,
                top_logprobs=self.cfg.top_logprobs,
                **params,
            )
        if not comp.top_logprobs:
            raise CollectError(
                f"judge {self.cfg.name!r}: the server returned no top logprobs; it must support "
                "`logprobs` (completions API) or `top_logprobs` (chat API)"
            )
        score, p_yes, p_no = yes_no_score(comp.top_logprobs[0])
        return {"score": score, "p_yes": p_yes, "p_no": p_no, "fallback": p_yes + p_no == 0}
