"""One verdict path: `workbench optimize`, the per-run report and the demo's headline print the
same numbers for the same run and seed (REAL data: Qwen2.5-Math-7B + RM-72B, 100 MATH problems
x 8 samples); degenerate bins are flagged (hand-worked examples)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from tests.report_helpers import real_store_path
from workbench.analysis.bin_checks import check_bins
from workbench.analysis.bins import oracle_bins, predicted_bins
from workbench.analysis.demo import demo_summary
from workbench.analysis.pipeline import analyse_run
from workbench.analysis.settings import Settings
from workbench.analysis.verdict import optimize
from workbench.cli import cli
from workbench.errors import DegenerateBinWarning
from workbench.store import RunStore

QWEN = "qwen25-math-rm/math-cot-100"


@pytest.mark.parametrize("seed", [0, 1])
def test_report_headline_equals_optimize_output(seed: int) -> None:
    path = real_store_path()
    with RunStore(path, read_only=True) as store, warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateBinWarning)
        a = analyse_run(store, QWEN, Settings(seed=seed, n_boot=100, examples=0))
        direct = optimize(store, [QWEN], Settings(seed=seed))
    res = CliRunner().invoke(cli, ["optimize", QWEN, "--store", str(path), "--seed", str(seed),
                                   "--json"])
    assert res.exit_code == 0, res.output
    cli_headline = json.loads(res.output)["headline"]
    assert a.headline is not None
    assert cli_headline["text"] == a.headline.text() == direct.headline().text()
    # to the last digit, not only as rounded text
    for key in ("accuracy", "gain", "efficiency", "baseline_accuracy"):
        assert cli_headline[key] == getattr(a.headline, key)
    assert cli_headline["ci"] == list(a.headline.ci)
    # the demo's summary line is the same text (demo_summary reads it off the same analysis)
    text = CliRunner().invoke(cli, ["optimize", QWEN, "--store", str(path), "--seed",
                                    str(seed)]).output
    assert f"headline: {a.headline.text()}" in text
    assert a.headline.text() in demo_summary_lines(a)


def demo_summary_lines(a: object) -> list[str]:
    class _Demo:  # the fields demo_summary reads from the main run only
        main = a
        coder = None  # the demo's own main example: not part of this check
        own = ()
        exchange = ()
        laws = ()
        game24 = type("G", (), {"published": (
            ("CoT-SC, majority of 100", 0.09, 0.09, ""), ("ToT BFS, b = 5", 0.74, 0.74, ""))})()

    return demo_summary(_Demo())  # type: ignore[arg-type]


def test_every_point_estimate_lies_in_its_ci_on_real_data() -> None:
    with RunStore(real_store_path(), read_only=True) as store, warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateBinWarning)
        opt = optimize(store, [QWEN], Settings(seed=0, policy_boot=300, draws=300))
    assert opt.policy.splits == 100
    for v in opt.verdicts():
        for value, (lo, hi) in ((v.accuracy, v.ci), (v.gain, v.gain_ci),
                                (v.efficiency, v.efficiency_ci),
                                (v.baseline_accuracy, v.baseline_ci)):
            assert lo <= value <= hi, (v.bin, v.budget, value, lo, hi)
        if v.gain_ci[0] <= 0 <= v.gain_ci[1]:
            assert v.verdict == "no significant difference" and v.verdict in v.text()
    # the real bins are degenerate: 8 samples per problem, and L1-L4 all at pass@1 = 1
    assert opt.checks.degenerate == ("L1", "L2", "L3", "L4", "L5")
    assert [c.spread for c in opt.checks.checks] == [False] * 4 + [True]
    frame = opt.to_frame()
    assert len(frame) == 6 * 4 and frame["degenerate_bin"].sum() == 5 * 4  # "all" is no bin


def test_degenerate_bin_warning_raised_once_naming_the_bins() -> None:
    with RunStore(real_store_path(), read_only=True) as store, \
            pytest.warns(DegenerateBinWarning, match=r"bin L1 is degenerate \(no spread: all 20 "
                         r"problems have pass@1 1; 8 samples per problem, fewer than 16\)"):
        optimize(store, [QWEN], Settings(seed=0, policy_boot=0, draws=50))


def test_bin_checks_by_hand() -> None:
    # 6 problems, 3 bins of 2 by rank: L1 = {1.0, 1.0} (no spread), L2 = {0.75, 0.5},
    # L3 = {0.0, 0.0} (no spread). Samples: 16 each except one problem of L2 with 12.
    b = oracle_bins(list("abcdef"), [1.0, 1.0, 0.75, 0.5, 0.0, 0.0], n_bins=3)
    with pytest.warns(DegenerateBinWarning) as rec:
        checks = check_bins(b, {"a": 16, "b": 16, "c": 16, "d": 12, "e": 16, "f": 16})
    assert len(rec) == 1
    assert checks.degenerate == ("L1", "L2", "L3")
    l1, l2, l3 = checks.checks
    assert (l1.spread, l1.enough_samples, l1.min_samples) == (False, True, 16)
    assert (l2.spread, l2.enough_samples, l2.min_samples) == (True, False, 12)
    assert (l2.low, l2.high) == (0.5, 0.75)
    assert (l3.spread, l3.enough_samples) == (False, True)
    assert checks.messages()[1] == ("bin L2 is degenerate (12 samples per problem, fewer than "
                                    "16): its per-bin numbers do not describe a difficulty "
                                    "level")
    # with 12 allowed, L2 is fine and no spread alone flags L1 and L3
    assert check_bins(b, np.full(6, 12), min_samples=12, warn=False).degenerate == ("L1", "L3")
    # spread in every bin and enough samples: nothing flagged, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = check_bins(predicted_bins(list("abcd"), [0.9, 0.8, 0.3, 0.1], n_bins=2),
                        np.full(4, 32))
    assert ok.degenerate == () and ok.messages() == []
    with pytest.raises(ValueError, match="one count per problem"):
        check_bins(b, np.ones(3))
    with pytest.raises(ValueError, match="no count for problem 'f'"):
        check_bins(b, {p: 16 for p in "abcde"})
