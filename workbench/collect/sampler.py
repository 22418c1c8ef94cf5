"""Policy sampling: one completion per (problem, sample index), split into steps.

Every request carries a seed derived from (config seed, stage, key), so a unit redone after an
interruption asks the server for the same sample (servers that honour `seed`, such as vLLM and
llama.cpp, then return the same text).

>>> request_seed(0, "samples", "arith-0001", 3) == request_seed(0, "samples", "arith-0001", 3)
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from workbench.collect.client import Completion, Replicas
from workbench.collect.config import CollectConfig
from workbench.collect.problems import extract_answer, is_correct
from workbench.collect.prompts import (
    TEMPLATE_STOPS,
    chat_messages,
    render_chat,
    split_steps,
    tokens_per_step,
)
from workbench.store.records import Problem


def request_seed(base: int, *parts: Any) -> int:
    """A 31-bit seed, stable across Python runs, from the config seed and a unit's key."""
    blob = "|".join([str(base), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class Policy:
    """The policy endpoint and the sampler settings of a collection."""

    clients: Replicas
    cfg: CollectConfig

    async def generate(
        self,
        user: str,
        *,
        route: str,
        seed: int,
        assistant_prefix: str = "",
        max_tokens: int | None = None,
        stop_at_separator: bool = False,
    ) -> Completion:
        """Sample one continuation of the assistant turn (optionally after a step prefix).

        `route` (the problem id) picks the replica that serves the request.
        """
        e, s = self.cfg.endpoint, self.cfg.sampling
        shots = [(x.question, x.answer) for x in s.examples]
        client = self.clients.pick(route)
        stop = list(s.stop) + (TEMPLATE_STOPS[e.template] if e.api == "completions" else [])
        if stop_at_separator:
            stop.append(s.separator)
        params: dict[str, Any] = {
            "model": e.model,
            "max_tokens": max_tokens or s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": seed,
        }
        if stop:
            params["stop"] = stop
        if e.api == "completions":
            if s.step_tokens:
                params["logprobs"] = 1
            prompt = render_chat(e.template, s.system, user, shots) + assistant_prefix
            return await client.completion(prompt, **params)
        if assistant_prefix:
            raise ValueError("the chat API cannot continue an assistant prefix")
        if s.step_tokens:
            params["logprobs"] = True
        return await client.chat(chat_messages(s.system, user, shots), **params)


def completion_record(comp: Completion, problem: Problem, separator: str, seed: int) -> dict:
    """The journal value of one finished sample: text, answer, grading, token counts."""
    steps = split_steps(comp.text, separator)
    answer = extract_answer(comp.text)
    return {
        "text": comp.text,
        "finish_reason": comp.finish_reason,
        "answer": answer,
        "is_correct": is_correct(answer, problem.gold_answer),
        "output_tokens": comp.completion_tokens,
        "prompt_tokens": comp.prompt_tokens,
        "n_steps": len(steps),
        "step_tokens": tokens_per_step(comp.text, separator, comp.token_offsets),
        "seed": seed,
    }


async def sample_unit(policy: Policy, problem: Problem, idx: int) -> dict:
    """Generate sample `idx` of `problem` (one journal unit of the "samples" stage)."""
    seed = request_seed(policy.cfg.seed, "samples", problem.problem_id, idx)
    comp = await policy.generate(problem.question or "", route=problem.problem_id, seed=seed)
    return completion_record(comp, problem, policy.cfg.sampling.separator, seed)
