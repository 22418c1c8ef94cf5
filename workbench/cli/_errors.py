"""How an error reaches a CLI user: one line on stderr, in the CLI's words, exit status 2.

The library validates its inputs and names the offending parameter in backticks (scipy's
style: "`n_bins` (5) exceeds the number of problems (3)"). A CLI user typed a flag, not a
keyword argument, so `cli_words` renames the parameters the commands expose to their flags.

A user's mistake is any `WorkbenchError`, or a `ValueError` raised by the workbench's own
validation (its traceback ends in a workbench module). A `ValueError` raised inside numpy or
pandas is a bug: it keeps its traceback. `WORKBENCH_DEBUG=1` shows every traceback.

>>> cli_words("`n_bins` (5) exceeds the number of problems (3)")
'--n-bins (5) exceeds the number of problems (3)'
>>> cli_words("N = 16 exceeds the pool; pass replace=True (--with-replacement) for draws")
'N = 16 exceeds the pool; give --with-replacement for draws'
"""

from __future__ import annotations

import os
import re
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

from workbench.errors import InputError, WorkbenchError, WorkbenchWarning

DEBUG_ENV = "WORKBENCH_DEBUG"

PARAM_FLAGS = {
    "n_bins": "--n-bins",
    "n_jobs": "--n-jobs",
    "n_resamples": "--n-boot",
    "n_boot": "--n-boot",
    "confidence_level": "--confidence",
    "confidence": "--confidence",
    "ratio": "--ratio",
    "budgets": "--budgets",
    "budget": "--budget",
    "target": "--target",
    "mix": "--mix",
    "draws": "--draws",
    "edges": "--edges",
    "folds": "--folds",
    "rng": "--seed",
    "seed": "--seed",
    "unit": "--unit",
    "agg": "--agg",
    "verifier": "--verifier",
    "allow_different_datasets": "--allow-different-datasets",
}
"""Library parameter -> the flag that sets it (the same name in every command)."""

_REWRITES = (
    # "pass replace=True (--with-replacement)" and "pass replace=True" -> the flag
    (re.compile(r"pass `?replace=True`?(?: \(--with-replacement\))?"), "give --with-replacement"),
    (re.compile(r"`?replace=True`?"), "--with-replacement"),
    (re.compile(r"pass `?allow_different_datasets=True`?"), "give --allow-different-datasets"),
)
_PARAM = re.compile(r"`([a-z_]+)`")
_PACKAGE = Path(__file__).resolve().parents[1]
_python_showwarning = warnings.showwarning


def cli_words(message: str) -> str:
    """`message` with library parameter names replaced by the CLI's flags."""
    for pattern, repl in _REWRITES:
        message = pattern.sub(repl, message)
    return _PARAM.sub(lambda m: PARAM_FLAGS.get(m.group(1), m.group(0)), message)


def is_user_error(exc: BaseException) -> bool:
    """A WorkbenchError, or a ValueError the workbench raised itself (validation)."""
    if isinstance(exc, WorkbenchError):
        return True
    if not isinstance(exc, ValueError) or exc.__traceback__ is None:
        return False
    last = traceback.extract_tb(exc.__traceback__)[-1]
    return Path(last.filename).resolve().is_relative_to(_PACKAGE)


def one_line(exc: BaseException) -> str:
    """The error as the one line the CLI prints (continuation lines, e.g. SQL, are joined)."""
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    text = text or type(exc).__name__
    # an input error names a file's field (`verifier` of a step score), not a parameter
    return "error: " + (text if isinstance(exc, InputError) else cli_words(text))


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
    """`warnings.showwarning` for the CLI: a workbench warning is one line on stderr
    ("warning: ...", in the CLI's words) instead of Python's file:line and source line."""
    if issubclass(category, WorkbenchWarning) and not debug():
        text = " ".join(str(message).split())
        print(f"warning: {cli_words(text)}", file=sys.stderr)
        return
    _python_showwarning(message, category, filename, lineno, file, line)


def debug() -> bool:
    """True when `WORKBENCH_DEBUG` asks for full tracebacks."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")
