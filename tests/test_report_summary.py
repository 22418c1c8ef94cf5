"""Reports open with their verdicts: a summary table with CIs, then the contents, then
provenance; numbers rounded, no Python reprs, no charts that carry nothing, the third-party note
only on third-party runs, axes named for what they show. REAL data (the mirror and this
project's own run under cached_runs/); plain HTML checks, plus one browser test (marker)."""

from __future__ import annotations

import json
import re
import warnings
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

from tests import browser
from tests.report_helpers import copy_store
from workbench.analysis.ingest import ensure_ingested
from workbench.analysis.pipeline import RunAnalysis, analyse_run
from workbench.analysis.settings import Settings
from workbench.errors import DegenerateBinWarning
from workbench.report import charts
from workbench.report.html import Report
from workbench.report.render import _informative, run_report
from workbench.store import RunStore

QWEN = "qwen25-math-rm/math-cot-100"
OWN = Path(__file__).resolve().parents[1] / "cached_runs"
REVISIONS = "smollm2-arith/revisions"


@lru_cache(maxsize=1)
def _analyses() -> dict[str, RunAnalysis]:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="wb-summary-"))
    path = copy_store(folder)
    out = {}
    with RunStore(path) as store, warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateBinWarning)
        ensure_ingested(store, own_runs=OWN)
        for run in (QWEN, REVISIONS):
            out[run] = analyse_run(store, run, Settings.quick())
    return out


def _text(page: str) -> str:
    """The page's visible text (scripts, styles and tags removed)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def _h2(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page)]


def test_run_report_opens_with_summary_then_contents_then_provenance() -> None:
    a = _analyses()[QWEN]
    page = run_report(a).to_html(include_js=False)
    heads = _h2(page)
    assert heads[:3] == ["Summary", "Contents", "Data and provenance"]
    summary = page.index('<table class="summary">')
    assert summary < page.index('<nav class="contents"') < page.index(">Data and provenance<")
    # the headline verdict in the table is the one `workbench optimize` prints
    v = a.headline
    assert v is not None
    table = page[summary:page.index("</table>", summary)]
    assert f"{v.accuracy:.3f} vs {v.baseline_accuracy:.3f}" in table
    assert v.verdict in table and v.efficiency_text in table
    # the contents link to every section heading
    for target in re.findall(r'<a href="#([^"]+)">', page):
        assert f'id="{target}"' in page
    # degenerate bins get the red badge (Qwen: 8 samples per problem, L1-L4 all at pass@1 = 1)
    assert 'class="badge warn"' in page and "degenerate bins: L1, L2, L3, L4, L5" in page


def test_report_numbers_are_rounded_and_free_of_python_reprs() -> None:
    for a in _analyses().values():
        text = _text(run_report(a).to_html(include_js=False))
        text = re.sub(r"arXiv:\d+\.\d+", " ", text)  # citations
        assert "np.float64" not in text and "<function" not in text and "function " not in text
        assert "-0.000" not in text
        assert " 1 generations" not in text
        long = re.findall(r"(?<![\w.])-?\d+\.\d{5,}", text)
        assert long == [], long[:5]


def test_third_party_note_only_on_third_party_runs() -> None:
    note = "Third-party data is read from its pinned upstream commit"
    assert note in run_report(_analyses()[QWEN]).to_html(include_js=False)
    assert note not in run_report(_analyses()[REVISIONS]).to_html(include_js=False)


def test_axis_named_for_what_it_shows_on_a_chain_run_with_voting() -> None:
    # the revisions run holds chains AND majority / best-of-N over their generations: one
    # axis for both is generations per question, not "attempts (k)"
    a = _analyses()[REVISIONS]
    assert {lc.curve.strategy for lc in a.curves} & {"majority", "weighted_bon"}
    r = run_report(a)
    spec = json.dumps(r.charts["smollm2-arith-revisions-curves"])
    assert "generations per question (revision chains: attempts)" in spec
    assert "attempts (k)" not in spec


def test_each_example_question_is_shown_once() -> None:
    a = _analyses()[REVISIONS]
    page = run_report(a).to_html(include_js=False)
    labels = re.findall(r'<p class="note">question ([^<]+)</p>', page)
    assert len(labels) == len(set(labels))


def test_efficiency_chart_only_when_it_carries_something() -> None:
    flat = pd.DataFrame({"efficiency": [1.0, 1.0], "lo": [1.0, 1.0], "hi": [1.0, 1.0]})
    assert not _informative(flat) and not _informative(flat.iloc[:0])
    assert _informative(flat.assign(hi=[1.0, 2.5]))
    # a report whose policy is the baseline everywhere draws no efficiency chart
    a = _analyses()[QWEN]
    r = run_report(a)
    has_chart = any(k.endswith("-efficiency") for k in r.charts)
    assert has_chart == _informative(__import__("workbench.report.frames", fromlist=["x"])
                                     .efficiency_frame(a.policy))


def test_exchange_panels_show_only_their_own_bins() -> None:
    frame = pd.DataFrame({
        "panel": ["binned", "binned", "published"], "bin": ["L1", "all", "all"],
        "R": ["0.16"] * 3, "difference": [0.1, 0.2, -0.1], "lo": [0.0, 0.1, -0.2],
        "hi": [0.2, 0.3, 0.0], "winner": ["tie", "small", "tie"],
    })
    spec = charts.exchange_chart(frame).to_dict()
    assert spec["resolve"]["scale"]["x"] == "independent"


def test_table_rounds_a_column_to_its_digits() -> None:
    # a gain of -0.00066 beside gains of 0.012 reads -0.001, a tiny parameter keeps 3 digits
    html = Report("t").table(pd.DataFrame({"gain": [-0.00066, 0.012, -0.0001],
                                           "d": [2.559e-06, 3.0e-07, 1e-05]})).blocks[0]
    cells = re.findall(r'<td class="num">([^<]*)</td>', html)
    assert cells == ["-0.001", "2.56e-06", "0.012", "3e-07", "0.000", "1e-05"]


@pytest.mark.browser
def test_summary_is_the_first_thing_a_reader_sees_in_chromium(tmp_path: Path) -> None:
    out = run_report(_analyses()[QWEN]).write(tmp_path / "qwen.html")
    check = browser.check_page(out)
    assert check.console_errors == [] and check.failed_charts == []
    assert check.headings[:2] == ["Summary", "Contents"]
    assert 0 < check.summary_top < 400  # right under the title, before any provenance
