"""Reward-model verifiers served with vLLM's pooling API (`vllm serve <rm> --runner pooling`).

Request: ``POST {base_url}{path}`` with ``{"model": ..., "input": text}``, where `text` is the
question, a blank line, then every step followed by the step tag (a PRM such as
Qwen2.5-Math-PRM pools the hidden state at each tag). Reply: ``{"data": [{"data": X}]}``.

- kind "step": X holds one row per step tag; a row is either a class-probability list (the
  `positive_index` entry is the score, e.g. [p_bad, p_good] -> p_good) or a bare number.
- kind "outcome": X is flattened and its last value is the score (an ORM's reward for the
  whole solution).

>>> parse_pooling({"data": [{"data": [[0.9, 0.1], [0.2, 0.8]]}]}, kind="step", n_steps=2)
[0.1, 0.8]
>>> parse_pooling({"data": [{"data": [[1.5]]}]}, kind="outcome", n_steps=3)
[1.5]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.collect.client import EndpointClient
from workbench.collect.config import RewardConfig
from workbench.errors import CollectError


def _flatten(x: Any) -> list[Any]:
    if isinstance(x, list):
        return [v for item in x for v in _flatten(item)]
    return [x]


def _number(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise CollectError(f"reward reply: {what} is not a finite number: {v!r:.60}")
    return float(v)


def parse_pooling(
    data: dict[str, Any], *, kind: str, n_steps: int, positive_index: int = 1
) -> list[float]:
    """Scores from a pooling reply: one per step (kind "step") or one (kind "outcome")."""
    try:
        payload = data["data"][0]["data"]
    except (KeyError, IndexError, TypeError):
        raise CollectError(f"reward reply lacks data[0].data: {str(data)[:300]}") from None
    if kind == "outcome":
        flat = _flatten(payload)
        if not flat:
            raise CollectError("reward reply: empty data")
        return [_number(flat[-1], "outcome reward")]
    if not isinstance(payload, list) or len(payload) != n_steps:
        got = len(payload) if isinstance(payload, list) else type(payload).__name__
        raise CollectError(
            f"reward reply: expected {n_steps} step rows (one per step tag), got {got}; "
            "check reward.step_tag matches the model's step tag"
        )
    out = []
    for i, row in enumerate(payload):
        if isinstance(row, list):
            if positive_index >= len(row):
                raise CollectError(
                    f"reward reply: step {i} row has {len(row)} values, "
                    f"positive_index is {positive_index}"
                )
            out.append(_number(row[positive_index], f"step {i} score"))
        else:
            out.append(_number(row, f"step {i} score"))
    return out


@dataclass(frozen=True)
class RewardModel:
    """A reward endpoint bound to its client."""

    cfg: RewardConfig
    client: EndpointClient

    def input_text(self, question: str, steps: Sequence[str]) -> str:
        return question + "\n\n" + "".join(s + self.cfg.step_tag for s in steps)

    async def score(self, question: str, steps: Sequence[str]) -> dict[str, Any]:
        """{"scores": [...]}: per step (kind "step") or a single outcome score."""
        if self.cfg.kind == "step" and not steps:
            return {"scores": []}
        reply = await self.client.post_json(
            self.cfg.path, {"model": self.cfg.model, "input": self.input_text(question, steps)}
        )
        scores = parse_pooling(
            reply, kind=self.cfg.kind, n_steps=len(steps), positive_index=self.cfg.positive_index
        )
        return {"scores": scores}
