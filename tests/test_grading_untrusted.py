"""Grading untrusted model answers: nothing of the answer reaches the terminal or the log, and
an answer whose evaluation never ends is bounded by the grading timeout."""

from __future__ import annotations

import subprocess
import sys

import pytest

import workbench.grading as grading

MARKER = "UNTRUSTED_0b6f"


def test_a_parse_timeout_does_not_print_the_answer() -> None:
    """Regression: math-verify logged "Timeout during parsing: <answer>" to the terminal.

    Run in a fresh interpreter: under pytest, logging has handlers and the last-resort handler
    that printed it never fires."""
    script = (
        "import workbench.grading as g\n"
        "g.TIMEOUT_SECONDS = 1\n"
        f"a = '1+' * 20000 + '1 {MARKER}'\n"  # math-verify's parser needs > 1 s
        "assert g.grade(a, '7') is False\n"
        "k = g.answer_key(a)\n"
        f"assert k is not None and '{MARKER}' in k\n"  # unparsed: keyed by its own text
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert MARKER not in proc.stdout and MARKER not in proc.stderr


def test_an_answer_whose_value_never_finishes_evaluating_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: 10^{10^{10^{10}}} hung answer_key in sympy.N (outside math-verify's timeout)."""
    monkeypatch.setattr(grading, "TIMEOUT_SECONDS", 1)
    assert grading.answer_key("10^{10^{10^{10}}}") == "10^{10^{10^{10}}}"
    assert grading.grade("10^{10^{10^{10}}}", "3") is False
