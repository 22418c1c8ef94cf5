"""The workbench's exception and warning types: every error the library raises lives here.

Each error says what went wrong in terms the user can act on. Input errors name the file, the
line (1-based, for line-oriented formats; the record index otherwise) and the field.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose."""


class InputError(WorkbenchError, ValueError):
    """Bad input data: names the file, the line or record, and the field.

    >>> str(InputError("a.jsonl", 3, "score", "is NaN"))
    'a.jsonl:3: field `score`: is NaN'
    """

    def __init__(
        self, file: str | None, line: int | None, field: str | None, message: str
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        where = file or "<input>"
        if line is not None:
            where += f":{line}"
        what = f" field `{field}`:" if field else ""
        super().__init__(f"{where}:{what} {message}")


class StoreError(WorkbenchError):
    """The DuckDB store failed; carries the SQL that failed when there is one."""

    def __init__(self, message: str, sql: str | None = None) -> None:
        self.sql = sql
        super().__init__(message if sql is None else f"{message}\n  SQL: {sql.strip()[:500]}")


class RunNotFoundError(WorkbenchError, KeyError):
    """A run id that the store does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "run not found"


class DataSourceError(WorkbenchError):
    """A registered dataset could not be found, fetched, or failed its checksum."""


class ChecksumError(DataSourceError):
    """A data file's SHA-256 differs from the registered one; names the file and both hashes."""

    def __init__(
        self, message: str, *, file: str | None = None, expected: str | None = None,
        actual: str | None = None,
    ) -> None:
        self.file = file
        self.expected = expected
        self.actual = actual
        super().__init__(message)


class BudgetError(WorkbenchError, ValueError):
    """A budget the cached pool cannot serve (e.g. N larger than the pool without replacement)."""


class StrategyError(WorkbenchError, ValueError):
    """A strategy cannot run on this pool (missing scores, tree, chains...) or bad parameters."""


class FitError(WorkbenchError):
    """A model fit did not converge; the message lists what to try."""


class CollectError(WorkbenchError):
    """Generation or scoring against an endpoint failed, or its config is invalid."""


class ConfigError(WorkbenchError, ValueError):
    """An invalid configuration file or option."""


class WorkbenchWarning(UserWarning):
    """Base warning class of the workbench."""


class BiasedEstimateWarning(WorkbenchWarning):
    """An estimate that is biased by construction (e.g. resampling with replacement)."""


class DegenerateDataWarning(WorkbenchWarning):
    """Data for which a statistic is undefined; the statistic is NaN."""


class SerialFallbackWarning(WorkbenchWarning):
    """Parallel work was asked for, but the job is too small to gain from it: it ran serially."""


class CoverageWarning(WorkbenchWarning):
    """A tree replay could not cover every problem from the cache."""


class SignedScoreWarning(WorkbenchWarning):
    """Verifier scores below zero summed as votes: an answer backed by more samples LOSES
    votes, so weighted best-of-N may prefer a lone sample; choose a score transform."""


class DegenerateBinWarning(WorkbenchWarning):
    """A difficulty bin that cannot carry a per-bin verdict: its problems do not differ in the
    binning statistic (no spread), or they have too few samples each to place them in a bin
    (`workbench.analysis.bin_checks`)."""
