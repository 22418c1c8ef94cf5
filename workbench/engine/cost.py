"""What a strategy costs per question, in the four units of DESIGN.md.

* generations: samples generated per question (the budget N for sampling strategies);
* tokens: generated (output) tokens, from the cached per-sample counts;
* FLOPs: ``2 x parameters x tokens`` (the forward-pass rule of Kaplan et al. 2020, used for
  inference by Snell et al. 2024, section 7), charged the SAME way to both models: each runs a
  forward pass over every token it processes, prompt AND output. The policy processes each
  generation's prompt and its output tokens; a verifier that scores the samples reads each
  sample's prompt and output. (A revision's prompt holds the earlier attempts, so sequential
  revisions pay for their growing context; tree nodes carry no question prompt, so in a tree
  both models are charged the solution prefix of each generated node, prompt excluded.)
  Unknown prompt tokens make FLOPs unknown (NaN), never silently output-only;
* money: ``(prompt tokens x input price + output tokens x output price) / 1000`` per generation,
  from a price table; each generation is billed its prompt (no prompt caching). Verifier
  compute is not priced (it runs on the user's hardware); it is in the FLOPs.

A unit that cannot be computed (no token counts, no parameter count, no price) is NaN.
Parameter counts come from the run (`Run.policy_params`, `Run.meta["verifier_params"]`) unless
given explicitly; prices from the argument, else `Run.meta["price_per_1k_tokens"]`.

>>> model = CostModel(policy_params=1e9, price_input_per_1k=0.5, price_output_per_1k=1.0)
>>> c = model.cost(np.array([1.0, 4.0]), output_tokens=np.array([100.0, 400.0]),
...                prompt_tokens=np.array([50.0, 200.0]))
>>> c.flops.tolist(), c.money.tolist()   # 2 x 1e9 x (prompt + output tokens)
([300000000000.0, 1200000000000.0], [0.125, 0.5])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.engine.results import Cost

if TYPE_CHECKING:
    from workbench.engine.pool import CountsPool, SamplePool
    from workbench.store.records import Run

_INPUT_KEYS = ("input_per_1k", "input", "prompt_per_1k", "prompt")
_OUTPUT_KEYS = ("output_per_1k", "output", "completion_per_1k", "completion")


def parse_prices(prices: Mapping[str, Any] | float | None) -> tuple[float | None, float | None]:
    """(input, output) price per 1,000 tokens from a price table.

    Accepts ``{"input_per_1k": .., "output_per_1k": ..}`` (also the keys input/output or
    prompt/completion, as in `Run.meta["price_per_1k_tokens"]`) or one number for both.

    >>> parse_prices({"prompt": 0.03, "output": 0.06, "currency": "USD"})
    (0.03, 0.06)
    """
    if prices is None:
        return None, None
    if isinstance(prices, int | float) and not isinstance(prices, bool):
        return _price(prices, "prices"), _price(prices, "prices")
    if not isinstance(prices, Mapping):
        raise ValueError(f"`prices` must be a mapping or a number; got {type(prices).__name__}")
    known = set(_INPUT_KEYS) | set(_OUTPUT_KEYS) | {"currency"}
    unknown = sorted(set(prices) - known)
    if unknown:
        raise ValueError(
            f"`prices` has unknown keys {unknown}; use 'input_per_1k' and 'output_per_1k'"
        )
    inp = next((prices[k] for k in _INPUT_KEYS if k in prices), None)
    out = next((prices[k] for k in _OUTPUT_KEYS if k in prices), None)
    return (None if inp is None else _price(inp, "input_per_1k"),
            None if out is None else _price(out, "output_per_1k"))


def _price(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0; got {value!r}")
    return float(value)


def _count(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value <= 0:
        raise ValueError(f"`{name}` must be a positive parameter count; got {value!r}")
    return float(value)


@dataclass(frozen=True)
class CostModel:
    """Parameter counts and prices that turn token counts into FLOPs and money."""

    policy_params: float | None = None
    verifier_params: float | None = None
    price_input_per_1k: float | None = None
    price_output_per_1k: float | None = None

    @classmethod
    def for_run(
        cls,
        run: Run,
        verifier: str | None = None,
        *,
        policy_params: float | None = None,
        verifier_params: float | None = None,
        prices: Mapping[str, Any] | float | None = None,
    ) -> CostModel:
        """The run's cost model; explicit arguments override what the run records."""
        meta = run.meta or {}
        vp = verifier_params
        if vp is None and verifier is not None:
            vp = (meta.get("verifier_params") or {}).get(verifier)
        table = prices if prices is not None else meta.get("price_per_1k_tokens")
        pin, pout = parse_prices(table)
        return cls(
            policy_params=_count(policy_params if policy_params is not None
                                 else run.policy_params, "policy_params"),
            verifier_params=_count(vp, "verifier_params"),
            price_input_per_1k=pin, price_output_per_1k=pout,
        )

    def cost(
        self,
        generations: np.ndarray,
        *,
        output_tokens: np.ndarray,
        prompt_tokens: np.ndarray,
        verified_tokens: np.ndarray | None = None,
        policy_tokens: np.ndarray | None = None,
    ) -> Cost:
        """A `Cost` from mean per-question quantities at each budget (all (B,) arrays).

        `verified_tokens` are the tokens the verifier reads (None: no verifier used);
        `policy_tokens` the tokens the policy processes (default: prompt + output tokens).
        """
        gen = np.asarray(generations, dtype=float)
        out = np.asarray(output_tokens, dtype=float)
        inp = np.asarray(prompt_tokens, dtype=float)
        nan = np.full_like(gen, np.nan)
        processed = (out + inp if policy_tokens is None
                     else np.asarray(policy_tokens, dtype=float))
        flops = nan if self.policy_params is None else 2.0 * self.policy_params * processed
        if verified_tokens is not None:
            vt = np.asarray(verified_tokens, dtype=float)
            flops = flops + (nan if self.verifier_params is None
                             else 2.0 * self.verifier_params * vt)
        if self.price_input_per_1k is None or self.price_output_per_1k is None:
            money = nan
        else:
            money = (inp * self.price_input_per_1k + out * self.price_output_per_1k) / 1000.0
        return Cost(generations=gen, tokens=out, flops=flops, money=money)

    def sampling_cost(
        self,
        pool: SamplePool | CountsPool | None,
        budgets: np.ndarray,
        *,
        verifier: bool = False,
    ) -> Cost:
        """Cost of generating N independent samples per question (and scoring them).

        The expected tokens of a uniform N-subset are N times the pool's mean per sample
        (exact, with or without replacement); means are taken per problem, then over problems.
        """
        nb = np.asarray(budgets, dtype=float)
        out_mean = _mean_tokens(pool, "output_tokens")
        in_mean = _mean_tokens(pool, "prompt_tokens")
        return self.cost(
            nb, output_tokens=nb * out_mean, prompt_tokens=nb * in_mean,
            verified_tokens=nb * (out_mean + in_mean) if verifier else None,
        )


def _mean_tokens(pool: Any, name: str) -> float:
    """Mean over problems of the mean per-sample token count (NaN if any count is unknown)."""
    arr = getattr(pool, name, None)
    if arr is None:
        return math.nan
    real = pool.mask
    if np.isnan(arr[real]).any():
        return math.nan
    per_problem = np.where(real, arr, 0.0).sum(axis=1) / pool.sizes
    return float(per_problem.mean())
