"""The demo and per-run reports on the REAL data mirror: sections, numbers, offline rendering,
images, and no third-party model text in a report."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests import browser
from tests.report_helpers import copy_store, real_store_path, third_party_texts
from workbench.analysis.demo import DEMO_RUNS, PUBLISHED_GAME24
from workbench.cli import cli
from workbench.report import Settings, analyse_run, ensure_ingested, missing_runs, run_report
from workbench.store import Problem, Run, RunBundle, RunStore, Sample, write_bundle_parquet

HOSTILE = "</script><script>alert('pwned')</script><img src=x onerror=alert(1)>"

DEMO_SECTIONS = (
    "Data and provenance",
    "1. MATH-500: Qwen2.5-Coder 0.5B and 1.5B, this project's run (main example)",
    "How much signal the verifiers carry",
    "pass@k laws fitted on part of the pool, checked on the rest",
    "2. MATH: Qwen2.5-Math-7B-Instruct with an outcome reward model",
    "Difficulty bins (oracle, pass@1)",
    "Accuracy vs budget per difficulty bin",
    "Past the cache",
    "Compute-optimal policy per difficulty bin",
    "Budget plan: Best accuracy for 4 generations per question on average",
    "3. MATH-500: PRM aggregation",
    "4. Game of 24: sampling vs Tree-of-Thoughts search (GPT-4)",
    "5. Sequential revisions: Reflexion on HumanEval (GPT-4)",
    "6. Scaling laws, checked on held-out data",
    "7. Test-time compute vs a 9x larger model (Llama-3 8B vs 70B)",
    "Summary",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """`workbench demo --quick --png` on a copy of the real store, as a user runs it."""
    tmp = tmp_path_factory.mktemp("demo")
    store = copy_store(tmp)
    out = tmp / "demo.html"
    result = CliRunner().invoke(
        cli, ["demo", "--quick", "--png", "--store", str(store), "--out", str(out)],
        catch_exceptions=False,
    )
    return {"exit": result.exit_code, "stdout": result.output, "out": out, "store": store,
            "page": out.read_text(encoding="utf-8") if out.exists() else ""}


def _headings(page: str) -> list[str]:
    body = page.split("</head>", 1)[1]  # the inlined Vega bundle holds "<h1>" in its code
    return [html.unescape(h) for h in re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", body)]


def test_demo_command_writes_report_and_prints_summary(demo: dict[str, object]) -> None:
    assert demo["exit"] == 0, demo["stdout"]
    stdout = str(demo["stdout"])
    assert f"report: {demo['out']}" in stdout
    assert "weighted best-of-N with RM-72B @8 = " in stdout
    assert "Game of 24 (GPT-4): CoT majority@100 0.090 (published 0.09)" in stdout
    # the main example: this project's MATH-500 run, its verifiers and majority@64
    assert "MATH-500, Qwen2.5-Coder-0.5B (500 problems x 64): majority @64 = " in stdout
    assert "qwen2.5-coder-0.5b probe: 0.8" in stdout  # pooled AUC 0.809 on the committed run


def test_demo_main_example_numbers_match_the_store(demo: dict[str, object]) -> None:
    """The verifier AUC the demo prints equals one computed here from the raw rows, and the
    majority@64 it prints equals the exact plurality vote over all 64 samples."""
    import duckdb
    from scipy.stats import rankdata

    con = duckdb.connect(str(demo["store"]), read_only=True)
    rows = con.execute("""
        SELECT s.problem_id, s.sample_idx, s.is_correct, s.answer_key, st.score
        FROM samples s JOIN step_scores st USING (run_id, problem_id, sample_idx)
        WHERE s.run_id = 'math500-coder/qwen2.5-coder-0.5b' AND st.verifier = 'probe'
          AND st.step_idx = (SELECT max(step_idx) FROM step_scores x WHERE x.run_id = st.run_id
                             AND x.verifier = 'probe' AND x.problem_id = st.problem_id
                             AND x.sample_idx = st.sample_idx)""").fetchall()
    con.close()
    correct = np.array([r[2] for r in rows], bool)
    r = rankdata([r[4] for r in rows])
    n1, n0 = correct.sum(), (~correct).sum()
    auc = (r[correct].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    assert len(rows) == 32_000
    assert f"qwen2.5-coder-0.5b probe: {auc:.3f}" in str(demo["stdout"])


def test_demo_report_has_every_section(demo: dict[str, object]) -> None:
    heads = _headings(str(demo["page"]))
    for section in DEMO_SECTIONS:
        assert any(h.startswith(section) for h in heads), f"missing section {section!r}"
    # provenance: every registered run the demo reads, with licence and citation
    page = str(demo["page"])
    for run_id in DEMO_RUNS.values():
        assert html.escape(run_id) in page, run_id
    assert "CC BY 4.0" in page and "@article{bay2026sampling" in page


def test_demo_reproduces_published_game24_sampling_numbers(demo: dict[str, object]) -> None:
    """The ToT logs give the published IO/CoT/CoT-SC/best-of-100 rates exactly (Yao et al.
    2023, Table 2); the table shows published and reproduced side by side."""
    page = str(demo["page"])
    table = page[page.index("published vs reproduced"):]
    cells = re.findall(r'<td class="(?:num|text)">(.*?)</td>', table)
    for method, published in list(PUBLISHED_GAME24.items())[:5]:
        i = cells.index(html.escape(method))
        assert cells[i + 1] == f"{published:.3f}"
        assert cells[i + 2] == f"{published:.3f}", f"{method}: logs give {cells[i + 2]}"


@pytest.mark.browser
def test_demo_page_renders_offline_in_chromium(demo: dict[str, object]) -> None:
    check = browser.check_page(Path(str(demo["out"])))
    assert check.console_errors == []
    assert check.total_charts >= 15
    assert check.failed_charts == []
    assert check.rendered_charts == check.total_charts
    assert check.svg_count >= check.total_charts


def test_demo_png_export_writes_every_chart(demo: dict[str, object]) -> None:
    out = Path(str(demo["out"]))
    pngs = sorted((out.parent / "demo_charts").glob("*.png"))
    n_charts = str(demo["page"]).count('data-chart="')
    assert len(pngs) == n_charts > 0
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_demo_quotes_no_third_party_text(demo: dict[str, object]) -> None:
    page = str(demo["page"])
    for name, text in third_party_texts().items():
        assert text not in page and html.escape(text) not in page, f"{name} quoted"
    assert "Example generations are not quoted" in page


def test_per_run_report_for_registered_run(tmp_path: Path) -> None:
    with RunStore(real_store_path(), read_only=True) as store:
        a = analyse_run(store, DEMO_RUNS["cot"], Settings.quick())
    out = run_report(a).write(tmp_path / "cot.html")
    page = out.read_text(encoding="utf-8")
    heads = _headings(page)
    assert heads[0] == f"ttc-workbench report: {DEMO_RUNS['cot']}"
    assert "Data and provenance" in heads and "Difficulty bins (oracle, pass@1)" in heads
    assert a.examples == () and "Example generations are not quoted" in page
    for name, text in third_party_texts().items():
        assert text not in page and html.escape(text) not in page, f"{name} quoted"
    # CoT on Game of 24: majority vote and the oracle bound, exact at N = 100 (all samples)
    acc = {lc.label: lc.curve.accuracy for lc in a.curves}
    assert acc["majority vote"][-1] == pytest.approx(0.09)
    assert acc["pass@k (oracle)"][-1] == pytest.approx(0.49)


@pytest.mark.browser
def test_per_run_report_renders_offline_in_chromium(tmp_path: Path) -> None:
    with RunStore(real_store_path(), read_only=True) as store:
        a = analyse_run(store, DEMO_RUNS["cot"], Settings.quick())
    out = run_report(a).write(tmp_path / "cot.html")
    check = browser.check_page(out)
    assert check.console_errors == [] and check.rendered_charts == check.total_charts > 0


def _own_run() -> RunBundle:
    """A synthetic run this project 'generated' (labelled synthetic): hostile text included."""
    problems = [Problem("toy-arith", f"q{i}", question=f"What is {i} + {i}?",
                        gold_answer=str(2 * i)) for i in range(12)]
    samples = [
        Sample(f"q{i}", j, answer=str(2 * i + (j % 3 != 0)), answer_key=str(2 * i + (j % 3 != 0)),
               is_correct=j % 3 == 0, text=f"sample {j}: {HOSTILE} so the answer is "
               f"{2 * i + (j % 3 != 0)}", output_tokens=20)
        for i in range(12) for j in range(6)
    ]
    return RunBundle(Run("mine/toy-arith", "toy-arith", "toy-model", "synthetic (test)"),
                     problems=problems, samples=samples)


def test_own_run_report_quotes_examples_escaped(tmp_path: Path) -> None:
    with RunStore(tmp_path / "own.duckdb") as store:
        store.ingest(_own_run())
        a = analyse_run(store, "mine/toy-arith", Settings.quick())
    assert len(a.examples) == Settings.quick().examples
    assert {ex.correct for ex in a.examples} == {True, False}  # both kinds shown
    page = run_report(a).write(tmp_path / "own.html").read_text(encoding="utf-8")
    assert "Example generations" in _headings(page)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert html.escape(HOSTILE) in page


def test_report_command_on_unknown_run_fails_cleanly(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", "no/such-run", "--store",
                                      str(real_store_path()), "--out", str(tmp_path / "x.html")])
    assert result.exit_code != 0
    assert not (tmp_path / "x.html").exists()


def test_committed_demo_report_is_complete_and_quotes_no_third_party_text() -> None:
    """reports/demo.html, as committed, opens offline with every chart and no model text."""
    path = Path(__file__).resolve().parents[1] / "reports" / "demo.html"
    page = path.read_text(encoding="utf-8")
    heads = _headings(page)
    for section in DEMO_SECTIONS:
        assert any(h.startswith(section) for h in heads), f"missing section {section!r}"
    for name, text in third_party_texts().items():
        assert text not in page and html.escape(text) not in page, f"{name} quoted"


@pytest.mark.browser
def test_committed_demo_report_renders_offline_in_chromium() -> None:
    path = Path(__file__).resolve().parents[1] / "reports" / "demo.html"
    check = browser.check_page(path)
    assert check.console_errors == [] and check.failed_charts == []
    assert check.rendered_charts == check.total_charts >= 15


def test_own_runs_under_cached_runs_are_ingested_once_and_quoted(tmp_path: Path) -> None:
    """A run this project wrote (canonical folder under cached_runs/) joins the store on the
    next demo/notebook, once; its report quotes its generations, escaped."""
    own = tmp_path / "cached_runs"
    write_bundle_parquet(_own_run(), own / "toy" / "samples")  # as `workbench collect` nests
    write_bundle_parquet(_own_run(), own / ".cache" / "journal")  # hidden: never a run
    with RunStore(tmp_path / "s.duckdb") as store:
        assert missing_runs(store, datasets=[], own_runs=own) == ([], [own / "toy" / "samples"])
        assert ensure_ingested(store, datasets=[], own_runs=own) == ["mine/toy-arith"]
        assert missing_runs(store, datasets=[], own_runs=own) == ([], [])
        assert ensure_ingested(store, datasets=[], own_runs=own) == []
        a = analyse_run(store, "mine/toy-arith", Settings.quick())
    assert not a.provenance.third_party and a.examples
    assert all(HOSTILE in ex.text for ex in a.examples)


def test_own_run_on_registered_questions_quotes_generations_not_questions(tmp_path: Path) -> None:
    """An own run on a registered dataset's problems (same dataset name): its generations are
    quoted, the third-party questions and gold answers are not."""
    store_path = copy_store(tmp_path)
    bundle = _own_run()
    qwen_q = third_party_texts()["qwen question"]
    run = Run("mine/on-math", "math", "toy-model", "synthetic (test)")
    problems = [Problem("math", p.problem_id, question=f"{qwen_q} {p.problem_id}", gold_answer="7")
                for p in bundle.problems]
    with RunStore(store_path) as store:
        store.ingest(RunBundle(run, problems=problems, samples=bundle.samples))
        a = analyse_run(store, "mine/on-math", Settings.quick())
    assert a.examples and all(ex.question is None and ex.gold is None for ex in a.examples)
    page = run_report(a).to_html(include_js=False)
    assert qwen_q not in page and html.escape(qwen_q) not in page
    assert html.escape(HOSTILE) in page


def test_reports_on_runs_collected_by_workbench_collect(tmp_path: Path) -> None:
    """Runs written by `workbench collect` (here against the in-process fake server: samples
    with outcome and step judges, a tree bank, revision chains) are found under cached_runs/,
    analysed (beam replay, revisions) and reported with their own text."""
    from workbench.collect import FakeOpenAIServer, collect, parse_config

    own = tmp_path / "cached_runs"
    with FakeOpenAIServer() as srv:
        collect(parse_config({
            "run_id": "fake/arith", "out": str(own / "fake" / "samples"),
            "workdir": str(own / ".cache" / "work"), "seed": 7,
            "endpoint": {"base_url": srv.base_url, "model": "fake", "concurrency": 3,
                         "backoff": 0.001},
            "model": {"name": "fake-model", "params": 1000.0},
            "problems": {"n": 10, "seed": 3},
            "sampling": {"n": 4, "max_tokens": 64},
            "judge": [{"name": "judge-out", "mode": "outcome"},
                      {"name": "judge-step", "mode": "step"}],
            "tree": {"judge": "judge-step", "branching": 4, "root_branching": 4,
                     "max_depth": 2, "problems": 3},
            "revisions": {"run_id": "fake/arith-revisions", "out": str(own / "fake" / "rev"),
                          "chains": 2, "length": 3, "judge": "judge-out"},
        }))
    settings = replace(Settings.quick(), n_bins=2)
    with RunStore(tmp_path / "s.duckdb") as store:
        assert sorted(ensure_ingested(store, datasets=[], own_runs=own)) == [
            "fake/arith", "fake/arith-revisions"]
        samples = analyse_run(store, "fake/arith", settings)
        revisions = analyse_run(store, "fake/arith-revisions", settings)
    kinds = {lc.curve.strategy for lc in samples.curves}
    assert {"weighted_bon", "best_of_n", "majority", "beam", "pass_at_k"} <= kinds
    assert {"pass_at_attempts", "revisions"} <= {lc.curve.strategy for lc in revisions.curves}
    for a in (samples, revisions):
        assert a.examples and not a.provenance.third_party
        page = run_report(a).to_html(include_js=False)
        assert "Example generations" in _headings(page)
        assert html.escape(a.examples[0].text) in page


def test_demo_report_continues_one_curve_past_the_pool_with_the_twin(
        demo: dict[str, object]) -> None:
    """Best-of-N on Qwen2.5-Math: real points at 1..8, the twin's at 16..64, labelled."""
    page = str(demo["page"])
    heads = _headings(page)
    assert any(h.startswith("Past the cache: best_of_n") for h in heads), heads
    assert "model-based (twin) calibrated on qwen25-math-rm/math-cot-100" in page
