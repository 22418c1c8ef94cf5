"""Bidi controls in untrusted text (Trojan Source, CVE-2021-42574) never reach a report: the one
escaping helper shows them as inert [U+XXXX] marks, in text, tables and chart specs alike."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.report import charts
from workbench.report.html import Report, esc, neutralise

CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
            "\u2069"]


@pytest.mark.parametrize("ch", CONTROLS)
def test_esc_shows_each_bidi_control_as_a_visible_mark(ch: str) -> None:
    out = esc(f"total{ch}<b>10")
    assert ch not in out
    assert out == f"total[U+{ord(ch):04X}]&lt;b&gt;10"


def test_ordinary_text_and_right_to_left_scripts_are_unchanged() -> None:
    text = "answer = 42; \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u00e9\u4e2d"
    assert neutralise(text) == text


def test_a_lone_surrogate_cannot_break_writing_the_report(tmp_path) -> None:
    r = Report("t").paragraph("bad \ud800 text")
    page = r.write(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "bad [U+D800] text" in page


def test_no_bidi_control_reaches_any_part_of_a_report() -> None:
    hostile = "gpt\u202eevil\u2066x\u2069"
    frame = pd.DataFrame({"strategy": [hostile] * 2, "budget": [1, 2],
                          "accuracy": [0.4, 0.5], "lo": [0.3, 0.4], "hi": [0.5, 0.6]})
    r = Report("Report " + hostile)
    r.heading(hostile).paragraph(hostile).bullets([hostile]).raw_badge(hostile)
    r.table(frame, caption=hostile).preformatted(hostile, label=hostile)
    r.chart(charts.accuracy_vs_budget(frame))
    page = r.to_html(include_js=False)
    for ch in CONTROLS:
        assert ch not in page
        assert f"\\u{ord(ch):04x}" not in page  # nor as a JSON escape inside a chart spec
    assert "gpt[U+202E]evil[U+2066]x[U+2069]" in page
