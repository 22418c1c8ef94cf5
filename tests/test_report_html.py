"""The HTML report layer: escaping, offline rendering in a real browser, image export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests import browser
from workbench.report import charts
from workbench.report.html import Report

HOSTILE = "</script><script>alert('x')</script><img src=x onerror=alert(1)>"


def _curves_frame() -> pd.DataFrame:
    budgets = [1, 2, 4, 8]
    rows = []
    for s, base in (("majority", 0.3), ("best_of_n", 0.35)):
        for i, b in enumerate(budgets):
            acc = base + 0.05 * i
            rows.append({"strategy": s, "budget": b, "accuracy": acc, "lo": acc - 0.03,
                         "hi": acc + 0.03})
    return pd.DataFrame(rows)


def _report() -> Report:
    r = Report("Test report " + HOSTILE)
    r.heading(HOSTILE).paragraph(HOSTILE)
    r.table(pd.DataFrame({"name": [HOSTILE], "value": [0.5]}))
    r.chart(charts.accuracy_vs_budget(_curves_frame().assign(strategy=HOSTILE)))
    r.chart(charts.difficulty_histogram(
        pd.DataFrame({"value": np.linspace(0, 1, 40), "bin": ["1", "2"] * 20})))
    r.preformatted(HOSTILE, label="model text")
    return r


def test_untrusted_text_is_escaped_everywhere() -> None:
    page = _report().to_html(include_js=False)
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # inside chart JSON the closing tag is escaped so it cannot end the script element
    assert "\\u003c/script\\u003e" in page


def test_chart_names_must_be_unique() -> None:
    r = Report("x")
    r.chart(charts.accuracy_vs_budget(_curves_frame()), name="a")
    with pytest.raises(ValueError, match="`name`"):
        r.chart(charts.accuracy_vs_budget(_curves_frame()), name="a")


def test_write_is_atomic_and_self_contained(tmp_path) -> None:
    out = _report().write(tmp_path / "r.html")
    text = out.read_text()
    assert "vegaEmbed" in text and "cdn.jsdelivr" not in text.split("<body>")[1]
    assert not (tmp_path / "r.html.tmp").exists()


def test_export_images_png_and_svg(tmp_path) -> None:
    r = _report()
    pngs = r.export_images(tmp_path, fmt="png")
    svgs = r.export_images(tmp_path, fmt="svg")
    assert len(pngs) == len(svgs) == 2
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert all("<svg" in p.read_text() for p in svgs)
    with pytest.raises(ValueError, match="`fmt`"):
        r.export_images(tmp_path, fmt="gif")


@pytest.mark.browser
def test_report_renders_offline_in_headless_chromium(tmp_path) -> None:
    out = _report().write(tmp_path / "r.html")
    check = browser.check_page(out)
    assert check.console_errors == []
    assert check.total_charts == 2
    assert check.rendered_charts == 2 and check.failed_charts == []
    assert check.svg_count >= 2
