"""Loading a pool integer-coded in DuckDB (`pool_codes` + `SamplePool.from_codes`) gives exactly
the pool that the string path (`pool_table` + `SamplePool.from_table`) gives: ragged problems,
missing answers, ungraded samples, outcome and step verifiers, samples stored out of order.
Synthetic runs with known content (labelled as such)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.engine import SamplePool
from workbench.store import (
    OutcomeScore,
    Problem,
    Run,
    RunBundle,
    RunStore,
    Sample,
    StepScore,
)
from workbench.store.pool_codes import pool_codes


def _bundle(graded: bool = True) -> RunBundle:
    gen = np.random.default_rng(4)
    problems, samples, outcome, steps = [], [], [], []
    for p in range(9):
        pid = f"q{(p * 7) % 9:02d}"  # ids not in insertion order
        problems.append(Problem("synthetic", pid))
        for i in gen.permutation(3 + p % 4):  # ragged pools, samples out of order
            i = int(i)
            key = None if (p + i) % 5 == 0 else str(int(gen.integers(0, 3)))
            correct = None if (not graded and i == 1) else key == "0"
            samples.append(Sample(pid, i, answer_key=key, is_correct=correct,
                                  output_tokens=int(gen.integers(5, 50)),
                                  prompt_tokens=None if p == 3 else 7))
            outcome.append(OutcomeScore("orm", pid, i, float(gen.random())))
            for s in range(2):
                steps.append(StepScore("prm", pid, i, s, float(gen.random())))
    return RunBundle(Run("r", "synthetic", "m", "synthetic"), problems, samples,
                     step_scores=steps, outcome_scores=outcome)


def _same(a: SamplePool, b: SamplePool) -> None:
    assert a.problem_ids.tolist() == b.problem_ids.tolist()
    np.testing.assert_array_equal(a.sizes, b.sizes)
    for name in ("correct", "answer", "score", "output_tokens", "prompt_tokens"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.missing == b.missing
    assert (a.verifier, a.verifier_kind, a.agg) == (b.verifier, b.verifier_kind, b.agg)


@pytest.mark.parametrize("rows_per_batch", [7, 1_000_000])  # several batches, and one
@pytest.mark.parametrize("graded", [True, False])
@pytest.mark.parametrize(("verifier", "agg"), [(None, "last"), ("orm", "last"),
                                               ("prm", "min"), ("prm", "last")])
def test_coded_pool_equals_the_string_pool(
    graded: bool, verifier: str | None, agg: str, rows_per_batch: int
) -> None:
    store = RunStore(":memory:")
    store.ingest(_bundle(graded))
    kind = None if verifier is None else store.verifiers("r")[verifier]
    by_strings = SamplePool.from_table(store.pool_table("r", verifier, agg), run_id="r",
                                       verifier=verifier, verifier_kind=kind, agg=agg)
    coded = pool_codes(store, "r", verifier, agg, rows_per_batch=rows_per_batch)
    assert len(list(coded.batches())) == (1 if rows_per_batch > 100 else 6)
    by_codes = SamplePool.from_codes(coded, run_id="r",
                                     verifier=verifier, verifier_kind=kind, agg=agg)
    _same(by_strings, by_codes)
    assert by_codes.answer is not None and (by_codes.answer == -1).any()  # missing answers kept
