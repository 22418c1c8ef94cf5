"""The engine on the REAL cached runs (read from the data mirror): published numbers reproduced,
and every run either answers a sampling strategy or says clearly why it cannot."""

from __future__ import annotations

import numpy as np
import pytest

from tests.report_helpers import real_store_path
from workbench.engine import load_run_data, simulate
from workbench.errors import StrategyError
from workbench.store import RunStore

SAMPLING = ("pass_at_k", "majority", "best_of_n", "weighted_bon")


@pytest.fixture(scope="module")
def store() -> RunStore:
    with RunStore(real_store_path(), read_only=True) as s:
        yield s


def test_tot_game24_published_numbers(store: RunStore) -> None:
    """Yao et al. (2023), Table 2: CoT 4.0%, CoT best of 100 (oracle) 49%, IO best of 100 33%."""
    cot = simulate(load_run_data(store, "tot-game24/gpt-4-cot"), "pass_at_k", [1, 100])
    assert cot.accuracy[0] == pytest.approx(0.0403, abs=1e-12)  # 403 of 10,000 correct
    assert cot.accuracy[1] == pytest.approx(0.49, abs=1e-12)
    direct = simulate(load_run_data(store, "tot-game24/gpt-4-direct"), "pass_at_k", [100])
    assert direct.accuracy[0] == pytest.approx(0.33, abs=1e-12)
    # the logged spend per puzzle is the cost of all 100 samples
    meta = store.run_record("tot-game24/gpt-4-cot").meta
    assert cot.cost.money[1] * 100 == pytest.approx(meta["usage"]["cost"], rel=1e-9)


def test_every_real_run_answers_or_says_why(store: RunStore) -> None:
    answered = set()
    for run_id in store.run_ids():
        data = load_run_data(store, run_id)
        supported = set(data.supported())
        sizes = (data.pool.sizes if data.pool is not None
                 else data.counts.n if data.counts is not None else None)
        for name in SAMPLING:
            if name in supported:
                n = int(np.min(sizes))
                mc = {"draws": 50} if name in ("majority", "weighted_bon") else {}
                curve = simulate(data, name, [1, n], rng=0, **mc)
                assert np.all((curve.accuracy >= 0) & (curve.accuracy <= 1))
                answered.add((run_id, name))
            else:
                with pytest.raises(StrategyError, match=rf"{name} needs .*{run_id}"):
                    simulate(data, name, [1])
    assert ("qwen25-math-rm/math-cot-100", "weighted_bon") in answered
    assert ("compute-optimal-tts/math500-qwen2.5-1.5b-bon", "best_of_n") in answered
    assert ("sampling-ceilings/llmonkeys-math-llama-3-70b", "pass_at_k") in answered
