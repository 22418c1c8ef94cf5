"""Helpers shared by the command modules of `workbench.cli`: options, store access, parsing,
output and progress bars.

Nothing heavy is imported at module level (no numpy, pandas, DuckDB or tqdm): every command
module imports this one, and `workbench --help` should not pay for libraries only a running
command needs. Each helper imports what it uses when it is called.

>>> text_table(["run", "samples"], [["a", 1200], ["bb", None]])
'run  samples\\n---  -------\\na      1,200\\nbb         -'
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    import pandas as pd
    from tqdm import tqdm

    from workbench.store import RunStore

F = TypeVar("F", bound=Callable[..., Any])


# -- options -----------------------------------------------------------------------------------
def store_option(f: F) -> F:
    """--store PATH: the DuckDB store a command reads (or, for `ingest`, writes)."""
    return click.option(
        "--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="DuckDB store (default: $WORKBENCH_STORE, else cached_runs/workbench.duckdb of "
             "the checkout, else the per-user data folder; never the working directory).",
    )(f)


def confidence_option(f: F) -> F:
    """--confidence LEVEL (parameter `confidence`): the level of every interval a command prints."""
    return click.option(
        "--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
        show_default=True, help="Confidence level of the intervals.",
    )(f)


def json_option(f: F | None = None, /, *,
                help: str = "Print JSON instead of tables.") -> Any:
    """--json flag (parameter `as_json`); `@json_option` or `@json_option(help="...")`."""
    decorator = click.option("--json", "as_json", is_flag=True, help=help)
    return decorator if f is None else decorator(f)


def open_store(store_path: Path | None, *, read_only: bool = True) -> RunStore:
    """The store at `store_path` (default: `workbench.locations.default_store_path()`)."""
    from workbench.store import RunStore, default_store_path

    return RunStore(store_path or default_store_path(), read_only=read_only,
                    on_wait=lambda line: click.echo(line, err=True))


_DONE_AT_COMMIT: list[bool] = []


def done_at_commit() -> None:
    """Declare that this command's work is complete once its store commit lands (`ingest`):
    a Ctrl-C after that commit then exits 0 saying the data is stored, not "aborted"."""
    _DONE_AT_COMMIT.append(True)


def interrupted() -> tuple[str, int]:
    """The line and exit status for a Ctrl-C, saying whether a store change was kept."""
    store = sys.modules.get("workbench.store.locking")  # not imported: nothing was committed
    committed = store.committed_stores() if store is not None else ()
    if not committed:
        return "aborted", 1
    where = ", ".join(committed)
    if _DONE_AT_COMMIT:
        return (f"interrupted after the commit: the data is stored in {where}; "
                "only the summary was cut short"), 0
    return (f"aborted; the change already committed to {where} is kept, "
            "the rest of the command did not run"), 1


class SuggestChoice(click.Choice):  # type: ignore[type-arg]
    """A `click.Choice` whose error adds "did you mean" for a near miss (difflib)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            import difflib

            close = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1)
            if close:
                exc.message = f"{exc.message.rstrip('.')}; did you mean {close[0]!r}?"
            raise


def check_n_jobs(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """Callback of every --n-jobs: joblib takes a positive count or -1 (every core), never 0."""
    if value == 0:
        raise click.BadParameter("must be a positive number of workers, or -1 for every core "
                                 "(joblib's convention); got 0")
    return value


# -- parsing -----------------------------------------------------------------------------------
def floats(text: str | None, name: str) -> list[float]:
    """Parse "1,2.5,10" into floats (empty for None or blank); a click error names the option.

    >>> floats("1, 2.5,10", "--budgets")
    [1.0, 2.5, 10.0]
    """
    return _numbers(text, float, "numbers", name)


def ints(text: str | None, name: str | None = None) -> list[int]:
    """Parse "1,4,16" into integers; `name=None` inside a click callback (click names it).

    >>> ints("1,4,16", "--budgets")
    [1, 4, 16]
    """
    return _numbers(text, int, "integers", name)


def _numbers(text: str | None, cast: Callable[[str], Any], kind: str,
             name: str | None) -> list[Any]:
    if text is None or not text.strip():
        return []
    try:
        return [cast(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated {kind}, got {text!r}",
                                 param_hint=name) from None


# -- output ------------------------------------------------------------------------------------
def echo_json(value: Any) -> None:
    """Print `value` as indented JSON; numpy scalars and arrays become numbers and lists."""
    click.echo(json.dumps(value, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    # numpy is looked up, not imported: a value can only be a numpy object if numpy is loaded
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    return str(value)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *,
               right: Sequence[bool] | None = None) -> str:
    """A text table with a header rule; numbers right-aligned, everything else left-aligned.

    Cells: None -> "-", bools -> yes/no, ints with thousands separators, lists joined by ", ".
    `right` overrides the alignment per column (e.g. for numbers already formatted as text).
    """
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    if right is None:
        right = [
            bool(rows) and all(isinstance(r[i], int | float) and not isinstance(r[i], bool)
                               for r in rows if r[i] is not None)
            for i in range(len(headers))
        ]

    def fmt(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if r else v.ljust(w)
                 for v, w, r in zip(values, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in cells)])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "-"
    return str(value)


def echo_frame(df: pd.DataFrame, digits: int = 4) -> None:
    """Print a DataFrame without its index; whole numbers without decimals, others to `digits`
    significant digits."""
    click.echo(df.to_string(index=False, float_format=lambda x: _number(x, digits)))


def _number(x: float, digits: int) -> str:
    if math.isfinite(x) and x == round(x) and abs(x) < 1e12:
        return f"{int(x)}"
    return f"{x:.{digits}g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


# -- progress ----------------------------------------------------------------------------------
def progress_bar(*args: Any, **kwargs: Any) -> tqdm[Any]:
    """A tqdm bar on stderr that is drawn only when stderr is a terminal and leaves no line.

    The defaults (`disable=None`, `leave=False`) keep piped output and --json clean; pass
    `disable=True` to switch a bar off. Other arguments go to tqdm unchanged.
    """
    from tqdm import tqdm

    kwargs.setdefault("disable", None)
    kwargs.setdefault("leave", False)
    return tqdm(*args, **kwargs)


@contextmanager
def progress_hook(desc: str, *, enabled: bool = True, min_total: int = 0,
                  unit: str = "it") -> Iterator[Callable[[int, int], None]]:
    """A `progress(done, total)` callback for a long library loop, drawn as a `progress_bar`.

    The bar is made at the first call, when the total is known; loops of fewer than `min_total`
    steps (or `enabled=False`, e.g. with --json) draw nothing.
    """
    state: dict[str, Any] = {}

    def hook(done: int, total: int) -> None:
        if "bar" not in state:
            show = enabled and total >= min_total
            state["bar"] = progress_bar(total=total, desc=desc, unit=unit,
                                        disable=None if show else True)
        state["bar"].update(done - state["bar"].n)

    try:
        yield hook
    finally:
        if "bar" in state:
            state["bar"].close()
