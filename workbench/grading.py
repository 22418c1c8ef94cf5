"""Answers from model text: extraction, equivalence (math-verify) and a canonical voting key.

Three jobs, one module:

- `extract_answer(text)`: the final answer a model wrote. Forms, in priority order: the LAST
  `\\boxed{...}` / `\\fbox{...}` (balanced braces, also `\\boxed 5`); otherwise whichever of
  "final answer is X", "Answer: X" and "#### X" occurs last in the text.
- `grade(answer_or_text, gold)` / `is_equivalent(answer, gold)`: mathematical equivalence as decided
  by math-verify (HuggingFace's grader, the tool the field uses for MATH-style answers). We prefer
  it over a home-made comparator: it handles LaTeX fractions, sets, intervals, matrices, units,
  percentages and relations, and it is what the public best-of-N releases were graded with.
- `answer_key(answer)`: a canonical string for majority voting. Answers math-verify deems equal
  get the same key wherever that is cheap: LaTeX spelling is normalised, numbers become one
  decimal string (so "0.5", "\\frac{1}{2}" and "\\dfrac12" share the key "0.5"), symbolic
  expressions print in sympy's canonical order, tuples/sets/intervals are keyed element-wise.

Timeouts and threads: math-verify bounds parsing and comparison with `signal.alarm`, which Python
allows only in the main thread. Called from the main thread, every parse and comparison here is
limited to `TIMEOUT_SECONDS`; called from another thread, the timeouts are switched off (math-verify
would otherwise raise) and a pathological input can take long. To grade in parallel, use processes
(joblib's default "loky" backend runs each worker in its own main thread), not threads.

>>> extract_answer("so the total is $\\\\boxed{\\\\frac{1}{2}}$.")
'\\\\frac{1}{2}'
>>> grade("The final answer is $0.5$. I hope it is correct.", "\\\\frac12")
True
>>> answer_key("\\\\dfrac{1}{2}") == answer_key("0.5")
True
"""

from __future__ import annotations

import logging
import re
import threading
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy
from math_verify import parse, verify
from math_verify.errors import TimeoutException
from math_verify.utils import timeout

# math-verify logs the untrusted answer itself on a parse timeout ("Timeout during parsing:
# <answer>"), which reaches the terminal through logging's last-resort handler. Grading handles
# timeouts (the answer is unparsed, the verdict False), so its log records are dropped here.
for _name in ("math_verify", "latex2sympy2_extended"):
    _logger = logging.getLogger(_name)
    _logger.addHandler(logging.NullHandler())
    _logger.propagate = False

__all__ = [
    "TIMEOUT_SECONDS",
    "answer_key",
    "extract_answer",
    "grade",
    "is_equivalent",
    "normalize_answer",
]

TIMEOUT_SECONDS = 5
"""Limit (seconds) on each math-verify parse or comparison when called from the main thread."""

_SIGNIFICANT_DIGITS = 15
"""Numbers are keyed by their value to this many significant digits (double precision's)."""


def _timeout() -> int | None:
    # signal.alarm only works in the main thread; elsewhere math-verify must run without it.
    return TIMEOUT_SECONDS if threading.current_thread() is threading.main_thread() else None


# ---------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_FINAL_RE = re.compile(r"final answer is[:\s]*(.+)", re.IGNORECASE)
_ANSWER_RE = re.compile(r"(?<![a-zA-Z])answer\s*:\s*(.+)", re.IGNORECASE)
_HASH_RE = re.compile(r"^\s*####\s*(.+)$", re.MULTILINE)
_HOPE_RE = re.compile(r"\.?\s*I hope it is correct\.?\s*$", re.IGNORECASE)


def _balanced(text: str, start: int) -> str | None:
    """The content of the brace group opening at `text[start] == "{"`, or None if unclosed."""
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "\\":  # an escaped brace \{ or \} does not count
            continue
        if ch == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif ch == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return None


def _last_boxed(text: str) -> str | None:
    for m in reversed(list(_BOX_RE.finditer(text))):
        i = m.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            content = _balanced(text, i)
            if content is not None:
                return content
        elif i > m.end():  # "\boxed 5": the token after the space
            token = re.match(r"[^\s$]+", text[i:])
            if token:
                return token.group(0)
    return None


def has_boxed(text: str) -> bool:
    """Whether the text states a boxed answer (a complete `\\boxed{...}` or `\\boxed 5`): the
    end of a solution under the "put your final answer within \\boxed{}" prompt.

    >>> has_boxed("so $\\\\boxed{12}$."), has_boxed("\\\\boxed{1"), has_boxed("x = 2")
    (True, False, False)
    """
    return _last_boxed(text) is not None


def _strip_math(answer: str) -> str:
    """Drop math delimiters, a trailing full stop and the Minerva "I hope it is correct"."""
    s = _HOPE_RE.sub("", answer.strip()).strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            s = s[len(left) : len(s) - len(right)].strip()
            break
    else:
        # "$5$ dollars" or "5$": keep the first math span when the line has one.
        m = re.search(r"\$([^$]+)\$", s)
        if m:
            s = m.group(1).strip()
    return s.rstrip(".").strip()


def extract_answer(text: str | None) -> str | None:
    """The final answer written in a model's text, or None when no known form is present.

    The last `\\boxed{...}`/`\\fbox{...}` wins; without one, the last of "final answer is X",
    "Answer: X" and "#### X" (each up to the end of its line), stripped of `$...$` and a full stop.

    >>> extract_answer("a \\\\boxed{1} then \\\\boxed{\\\\frac{a}{b}}")
    '\\\\frac{a}{b}'
    >>> extract_answer("Natalia sold 72 clips.\\n#### 72")
    '72'
    >>> extract_answer("Answer: $x = 3$.")
    'x = 3'
    >>> extract_answer("no answer here") is None
    True
    """
    if not text:
        return None
    boxed = _last_boxed(text)
    if boxed is not None:
        return boxed.strip() or None
    best: tuple[int, str] | None = None
    for pattern in (_FINAL_RE, _ANSWER_RE, _HASH_RE):
        for m in pattern.finditer(text):
            if best is None or m.start() >= best[0]:
                best = (m.start(), m.group(1))
    if best is None:
        return None
    answer = _strip_math(best[1])
    return answer or None


# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------

_WRAPPER_RE = re.compile(r"^\\(?:text|textbf|textrm|mathrm|mathbf|mbox|operatorname)\s*\{")
_THOUSANDS_RE = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_SPACING_RE = re.compile(r"(?<!\\)\\[!,;:>]|\\quad|\\qquad")
_WORDS_RE = re.compile(r"[A-Za-z]{2,}(?: [A-Za-z]+)*")
_DEGREE_RE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree(?![a-zA-Z])")


def _unwrap(s: str) -> str:
    """`\\text{X}` -> X when the wrapper spans the whole answer (repeatedly)."""
    while True:
        m = _WRAPPER_RE.match(s)
        if not m:
            return s
        inner = _balanced(s, m.end() - 1)
        if inner is None or len(inner) + m.end() + 1 != len(s):
            return s
        s = inner.strip()


def _squash_spaces(s: str) -> str:
    # Spaces carry no meaning in LaTeX except to end a command name before a letter
    # ("\pi r"), so keep exactly those.
    return re.sub(
        r"(\\[a-zA-Z]+)?\s+",
        lambda m: m.group(1) + " " if m.group(1) else "",
        s,
    ).strip()


def normalize_answer(answer: str) -> str:
    """A LaTeX answer in one spelling: delimiters, spacing, `\\left/\\right`, `\\dfrac`, degrees,
    percent and dollar signs, thousands separators, whole-answer `\\text{}` and a final full stop
    removed. String-level only (no parsing), so it is fast and never fails.

    >>> normalize_answer("$\\\\left( 3, \\\\dfrac{\\\\pi}{2} \\\\right)$.")
    '(3,\\\\frac{\\\\pi}{2})'
    >>> [normalize_answer(a) for a in ("90^{\\\\circ}", "10{,}000", "\\\\$1,250")]
    ['90', '10000', '1250']
    >>> normalize_answer("\\\\text{Evelyn}")
    'Evelyn'
    """
    s = _strip_math(answer)
    s = _unwrap(s)
    s = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])\s*(\\?[()\[\]{}|.])", r"\1", s)
    s = s.replace("\\left.", "").replace("\\right.", "")
    s = re.sub(r"(?<!\\)\\ ", " ", _SPACING_RE.sub("", s)).replace("~", " ")
    s = re.sub(r"\\[dt]frac(?![a-zA-Z])", r"\\frac", s)
    s = _DEGREE_RE.sub("", s)
    s = s.replace("\\%", "").replace("%", "").replace("\\$", "")
    s = s.replace("{,}", ",")
    s = _squash_spaces(s)
    s = _unwrap(s).rstrip(".")
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "")
    return s


# ---------------------------------------------------------------------------------------------
# Parsing and equivalence
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def _parsed(normalized: str) -> tuple[Any, ...]:
    """math-verify's parse of a normalised answer: (sympy object, string) or (string,) or ()."""
    if not normalized:
        return ()
    if _WORDS_RE.fullmatch(normalized):
        # A bare word ("Evelyn") would parse as a product of one-letter symbols; as text it is
        # one symbol, the same as the model's "\\text{Evelyn}".
        normalized = f"\\text{{{normalized}}}"
    # Wrapping in \boxed tells math-verify the whole string is the answer (a bare "x^2+2x" would
    # otherwise be searched for the last number in it).
    return tuple(parse(f"\\boxed{{{normalized}}}", parsing_timeout=_timeout()))  # type: ignore[arg-type]


def _answer_of(answer_or_text: str | None) -> str | None:
    if answer_or_text is None:
        return None
    extracted = extract_answer(answer_or_text)
    return extracted if extracted is not None else answer_or_text


def is_equivalent(answer: str | None, gold: str | None) -> bool:
    """Whether two final answers are mathematically equal by math-verify (gold on the right).

    Answers with the same `answer_key` are equal without calling math-verify's comparison;
    verdicts are cached per (answer, gold) spelling.

    >>> is_equivalent("\\\\frac{\\\\sqrt{2}}{2}", "\\\\frac{1}{\\\\sqrt2}"), is_equivalent("3", "4")
    (True, False)
    """
    if answer is None or gold is None:
        return False
    return _equivalent(normalize_answer(answer), normalize_answer(gold))


@lru_cache(maxsize=1 << 16)
def _equivalent(pred: str, gold: str) -> bool:
    if not pred or not gold:
        return False
    if _cached_key(pred) == _cached_key(gold):
        return True
    pred_p, gold_p = _parsed(pred), _parsed(gold)
    if not pred_p or not gold_p:
        return False
    try:
        return bool(verify(list(gold_p), list(pred_p), timeout_seconds=_timeout()))
    except TimeoutException:
        return False


def grade(answer_or_text: str | None, gold: str | None) -> bool:
    """True iff the answer (or the answer extracted from a model's text) equals the gold answer.

    Both sides go through `extract_answer` first when it finds a known form (so a gold solution
    ending in `\\boxed{...}` works too); otherwise the string is taken as the answer itself.

    >>> grade("... so $x = \\\\boxed{12\\\\frac{3}{5}}$", "12.6"), grade("#### 1,000", "1000")
    (True, True)
    >>> grade(None, "1")
    False
    """
    return is_equivalent(_answer_of(answer_or_text), _answer_of(gold))


# ---------------------------------------------------------------------------------------------
# Voting key
# ---------------------------------------------------------------------------------------------


def _fraction_key(value: Fraction) -> str:
    """A rational number as a decimal string of `_SIGNIFICANT_DIGITS` significant digits.

    Integers below 10**15 print exactly; larger or tiny magnitudes use "<mantissa>e<exp>".
    """
    if value.denominator == 1 and abs(value.numerator) < 10**_SIGNIFICANT_DIGITS:
        return str(value.numerator)
    with localcontext() as ctx:
        ctx.prec = _SIGNIFICANT_DIGITS + 5
        dec = Decimal(value.numerator) / Decimal(value.denominator)
    text = f"{dec:.{_SIGNIFICANT_DIGITS}g}"
    if "e" in text or "E" in text:
        mantissa, exp = text.lower().split("e")
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        return f"{mantissa}e{int(exp)}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _number_key(value: sympy.Basic) -> str | None:
    """A finite real number's key (see `_fraction_key`), else None."""
    if isinstance(value, sympy.Rational):  # exact, no floating point on the way
        return _fraction_key(Fraction(int(value.p), int(value.q)))
    approx = sympy.N(value, _SIGNIFICANT_DIGITS + 5)
    if not approx.is_real or not isinstance(approx, sympy.Float | sympy.Rational):
        return None
    try:
        dec = Decimal(str(approx))
    except InvalidOperation:
        return None
    if not dec.is_finite():
        return None
    return _fraction_key(Fraction(dec))


def _expr_key(expr: Any) -> str:
    """Canonical text of a parsed answer; containers are keyed element by element."""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, sympy.Eq) and isinstance(expr.lhs, sympy.Symbol):
        # "x = 5" answers the question "5" (math-verify grades it so): vote on the value.
        return _expr_key(expr.rhs)
    if isinstance(expr, sympy.Tuple | tuple):
        return "(" + ",".join(_expr_key(e) for e in expr) + ")"
    if isinstance(expr, sympy.FiniteSet):
        return "{" + ",".join(sorted(_expr_key(e) for e in expr.args)) + "}"
    if isinstance(expr, sympy.Interval):
        left = "(" if expr.left_open else "["
        right = ")" if expr.right_open else "]"
        return f"{left}{_expr_key(expr.start)},{_expr_key(expr.end)}{right}"
    if isinstance(expr, sympy.MatrixBase):
        rows = [",".join(_expr_key(e) for e in expr.row(i)) for i in range(expr.rows)]
        return "[" + ";".join(rows) + "]"
    if isinstance(expr, sympy.Basic) and expr.is_number:
        key = _number_key(expr)
        if key is not None:
            return key
    return str(expr)


def answer_key(answer: str | None) -> str | None:
    """Canonical string of a final answer for majority voting; None for a missing answer.

    Deterministic (same key in every process) and cached. Numbers are keyed by value to 15
    significant digits; other expressions by sympy's canonical printing; an answer math-verify
    cannot parse by its normalised LaTeX text.

    >>> [answer_key(a) for a in ("\\\\frac{1}{2}", "0.50", "\\\\dfrac12", "50\\\\%")]
    ['0.5', '0.5', '0.5', '50']
    >>> answer_key("\\\\left(3, \\\\frac{\\\\pi}{2}\\\\right)")
    '(3,1.5707963267949)'
    >>> answer_key("2x + x^2") == answer_key("x^{2}+2x"), answer_key("x = 5"), answer_key("  ")
    (True, '5', None)
    """
    if answer is None:
        return None
    normalized = normalize_answer(answer)
    if not normalized:
        return None
    return _cached_key(normalized)


_DECIMAL_RE = re.compile(r"-?\d+(?:\.\d+)?|-?\.\d+")
_FRAC_RE = re.compile(r"(-?)\\frac\{(\d+)\}\{(\d+)\}")


def _plain_number(normalized: str) -> Fraction | None:
    """The value of a plain decimal or integer fraction, read without the LaTeX parser.

    math-verify's parser (ANTLR) costs ~10-50 ms per answer; most answers are plain numbers.
    """
    if len(normalized) > 60:  # a 7,000-digit "answer" is not worth a numeric key
        return None
    if _DECIMAL_RE.fullmatch(normalized):
        return Fraction(normalized)
    m = _FRAC_RE.fullmatch(normalized)
    if m and int(m.group(3)) != 0:
        return Fraction(int(m.group(2)), int(m.group(3))) * (-1 if m.group(1) else 1)
    return None


@lru_cache(maxsize=1 << 16)
def _cached_key(normalized: str) -> str:
    number = _plain_number(normalized)
    if number is not None:
        return _fraction_key(number)
    try:
        parsed = _parsed(normalized)
        if parsed and not isinstance(parsed[0], str):
            # evaluating an untrusted expression can take forever (10^{10^{10^{10}}}): bounded
            return str(timeout(timeout_seconds=_timeout())(_expr_key)(parsed[0]))
    except (Exception, TimeoutException):  # noqa: B014 - TimeoutException is not an Exception
        pass  # unparseable: fall back to the normalised text
    return normalized
