"""The Game of 24: answer extraction and the exact checker (the task's own rule).

A puzzle gives four numbers; an answer is an arithmetic expression that uses each of them
exactly once with + - * / and parentheses and evaluates to exactly 24. The checker parses the
expression with `ast` and evaluates it over `fractions.Fraction`, so 8 / (3 - 8 / 3) counts and
nothing from the input is ever passed to `eval`.

Tree-of-Thoughts (Yao et al. 2023) graded its logs with `sympy.simplify(expression) == 24` after
checking the multiset of digit strings, on the last line of the output with "answer: " removed
and everything from the first "=" dropped. `extract_answer` reads the same line; the checker is
stricter in one way only: it accepts nothing but integer literals, + - * / (unary minus
included, which sympy also accepts) and parentheses.

>>> check("(10 - 6) * (5 + 1)", [1, 5, 6, 10])
True
>>> extract_answer("Steps:\\n4 * 6 = 24 (left: 24)\\nAnswer: (10 - 6) * (5 + 1) = 24\\n")
'(10 - 6) * (5 + 1)'
>>> answer_key("(10 - 6)*(5+1)")
'(10-6)*(5+1)'
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

TARGET = 24

_TOKEN = re.compile(r"\d+(?:\.\d+)?|\S")
_ANSWER_PREFIX = re.compile(r"^\s*answer\s*:", re.IGNORECASE)
_BARE_CLAIM = re.compile(r"=\s*24\s*\.?\s*$")


def parse_numbers(puzzle: str) -> list[int]:
    """The puzzle's input numbers from a text like "4 5 6 10".

    >>> parse_numbers("4 5 6 10")
    [4, 5, 6, 10]
    """
    return [int(t) for t in puzzle.split()]


def extract_answer(text: str) -> str | None:
    """The answer expression of a Game-24 output, or None when it gives none.

    Read like ToT's own grader reads it: the last non-blank line, "Answer:" removed, cut at the
    first "=". The line must start with "Answer:" or be a bare claim "<expression> = 24" (the
    direct prompt sometimes drops the prefix); a final step line such as "6 * 4 = 24 (left: 24)"
    is not an answer. The expression must parse as arithmetic (see `evaluate`), so "Answer: None"
    and prose give None. A right expression with a wrong claimed value ("... = 48") is kept, as
    ToT's grader keeps it: the expression is the answer, the claim is not.

    >>> extract_answer("Steps:\\n4 * 6 = 24 (left: 24)\\nAnswer: (4 + 8) * (6 - 4) = 24\\n")
    '(4 + 8) * (6 - 4)'
    >>> extract_answer("(7 - 1) * (4 - 2) = 24")
    '(7 - 1) * (4 - 2)'
    >>> extract_answer("6 * 4 = 24 (left: 24)") is None
    True
    >>> extract_answer("Answer: None") is None
    True
    """
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return None
    last = lines[-1]
    prefix = _ANSWER_PREFIX.match(last)
    if prefix is not None:
        expression = last[prefix.end() :].split("=")[0].strip()
    elif _BARE_CLAIM.search(last) and last.count("=") == 1:
        expression = last.split("=")[0].strip()
    else:
        return None
    if not expression or not is_expression(expression):
        return None
    return expression


def answer_key(expression: str) -> str:
    """The expression with whitespace removed, the key majority voting groups answers by.

    A space is kept only between two numbers, so distinct token sequences never collide.

    >>> answer_key(" ( 4 + 8 ) * (6 - 4) ")
    '(4+8)*(6-4)'
    """
    out: list[str] = []
    prev_number = False
    for tok in _TOKEN.findall(expression):
        number = tok[0].isdigit()
        if number and prev_number:
            out.append(" ")
        out.append(tok)
        prev_number = number
    return "".join(out)


def _evaluate(node: ast.AST, used: list[int]) -> Fraction:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, used)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        used.append(node.value)
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _evaluate(node.operand, used)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, used)
        right = _evaluate(node.right, used)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            if right == 0:
                raise ZeroDivisionError
            return left / right
    raise ValueError(f"not allowed in a Game-24 expression: {ast.dump(node)[:60]}")


_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd,
)


def is_expression(expression: str) -> bool:
    """True iff the text is well-formed Game-24 arithmetic: integers, + - * /, parentheses.

    >>> is_expression("6 / (1 - 6 / 6) * 6")
    True
    >>> is_expression("None"), is_expression("2 ** 3"), is_expression("1.5 * 16")
    (False, False, False)
    """
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return False
    return all(
        isinstance(node, _ALLOWED)
        and not (isinstance(node, ast.Constant) and type(node.value) is not int)
        for node in ast.walk(tree)
    )


def evaluate(expression: str) -> tuple[Fraction, list[int]] | None:
    """The exact value of an expression and the integer literals it uses, or None if invalid.

    Only integer literals, + - * /, unary minus and parentheses are allowed; division by zero
    and anything else (names, calls, powers, decimals) make the expression invalid.

    >>> evaluate("8 / (3 - 8 / 3)")
    (Fraction(24, 1), [8, 3, 8, 3])
    >>> evaluate("2 ** 3") is None
    True
    """
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return None
    used: list[int] = []
    try:
        value = _evaluate(tree, used)
    except (ValueError, ZeroDivisionError, RecursionError):
        return None
    return value, used


def check(expression: str | None, numbers: Sequence[int]) -> bool:
    """True iff the expression uses each of `numbers` exactly once and equals exactly 24.

    >>> check("8 / (3 - 8 / 3)", [3, 3, 8, 8])
    True
    >>> check("(10 - 4) * 4", [4, 5, 6, 10])
    False
    >>> check(None, [1, 2, 3, 4])
    False
    """
    if expression is None:
        return False
    result = evaluate(expression)
    if result is None:
        return False
    value, used = result
    return value == TARGET and Counter(used) == Counter(numbers)


__all__ = ["TARGET", "answer_key", "check", "evaluate", "extract_answer", "parse_numbers"]
