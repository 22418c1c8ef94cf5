"""Local, verified copies of registered dataset files: from the mirror, or downloaded with pooch.

Where a file is read from:
- `$WORKBENCH_DATA_MIRROR/<dataset>/<path>` when `WORKBENCH_DATA_MIRROR` is set (read-only; CI
  sets it to `../shared/data`). A file missing there is an error, not a silent download.
- otherwise the download cache `$WORKBENCH_DATA_CACHE` (default `<data home>/.cache/data`),
  filled by pooch from the pinned upstream URL (or from `$WORKBENCH_DATA_URL/<dataset>/<path>`
  when that variable names another server laid out like the mirror).

Every file is checked against its registered SHA-256, wherever it comes from. Hashes are
remembered in memory by (path, size, mtime), so checking a dataset twice in one process hashes
each file once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import ChecksumError, DataSourceError
from workbench.locations import data_cache_dir, data_home
from workbench.sources.registry import Dataset, ProgressHook, get_dataset

MIRROR_ENV = "WORKBENCH_DATA_MIRROR"
URL_ENV = "WORKBENCH_DATA_URL"
DEFAULT_CACHE = data_home() / ".cache" / "data"
"""`<checkout>/cached_runs/.cache/data`, or the per-user data folder outside a checkout."""

_HASH_MEMO: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class FileFailure:
    """A file that failed verification: `actual` is None when the file could not be read."""

    relpath: str
    expected: str
    actual: str | None
    message: str


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of checking every file of a dataset against its registered SHA-256."""

    dataset: str
    location: str
    """'mirror' or 'cache'."""
    root: Path
    files: int
    bytes: int
    seconds: float
    failures: tuple[FileFailure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


def mirror_root() -> Path | None:
    """The mirror folder from `WORKBENCH_DATA_MIRROR`, or None when unset."""
    value = os.environ.get(MIRROR_ENV)
    return Path(value) if value else None


def cache_root() -> Path:
    """The download cache from `WORKBENCH_DATA_CACHE`, else `<data home>/.cache/data` (see
    `workbench.locations`: the checkout's cached_runs/ or the per-user data folder)."""
    return data_cache_dir()


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file, remembered in memory by (path, size, mtime).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     _ = f.write(b"abc"); f.flush()
    ...     sha256_file(Path(f.name))[:16]
    'ba7816bf8f01cfea'
    """
    st = path.stat()
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    digest = _HASH_MEMO.get(key)
    if digest is None:
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        _HASH_MEMO[key] = digest
    return digest


def _checked(path: Path, expected: str) -> Path:
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"{path}: SHA-256 mismatch: expected {expected}, actual {actual} "
            "(the file was changed or corrupted; restore it from the upstream URL)",
            file=str(path), expected=expected, actual=actual,
        )
    return path


def _mirror_file(dataset: Dataset, relpath: str, root: Path) -> Path:
    path = root / dataset.name / relpath
    if not path.is_file():
        raise DataSourceError(
            f"{path}: missing from the mirror {root} ({MIRROR_ENV}); unset {MIRROR_ENV} to "
            f"download it from {dataset.url(relpath)}"
        )
    return _checked(path, dataset.checksums[relpath])


def download_url(dataset: Dataset, relpath: str) -> str:
    """Where a file is downloaded from: `$WORKBENCH_DATA_URL/<dataset>/<path>` or upstream."""
    base = os.environ.get(URL_ENV)
    if base:
        return f"{base.rstrip('/')}/{dataset.name}/{relpath}"
    return dataset.url(relpath)


@contextmanager
def _quiet_pooch() -> Iterator[None]:
    # pooch logs each download at INFO to stderr; the library must not print (the CLI shows
    # progress), so lower its logger for the duration of a fetch and restore it after.
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _cached_file(dataset: Dataset, relpath: str, root: Path) -> Path:
    expected = dataset.checksums[relpath]
    target = root / dataset.name / relpath
    if target.is_file() and sha256_file(target) == expected:
        return target
    # pooch and requests load only for a download: reading the mirror or the CLI's --help
    # should not pay for them
    import pooch
    import requests

    url = download_url(dataset, relpath)
    try:
        with _quiet_pooch():
            # pooch downloads to a temporary file, checks the hash, then moves it into place
            fetched = pooch.retrieve(
                url, known_hash=f"sha256:{expected}", fname=target.name, path=target.parent
            )
    except ValueError as exc:
        # pooch: "... expected sha256:<known> but got <new>. Deleted download for safety."
        got = re.search(r"got ([0-9a-f]{64})", str(exc))
        actual = got.group(1) if got else None
        raise ChecksumError(
            f"{url}: SHA-256 mismatch: expected {expected}, actual {actual or 'unknown'} "
            "(the served file differs from the registered one; nothing was cached)",
            file=url, expected=expected, actual=actual,
        ) from exc
    except (requests.RequestException, OSError) as exc:
        raise DataSourceError(
            f"cannot download {url}: {exc}. Set {MIRROR_ENV} to a local copy of the datasets "
            "to work offline."
        ) from exc
    return _checked(Path(fetched), expected)


def _locate(dataset: Dataset) -> tuple[str, Path]:
    mirror = mirror_root()
    if mirror is not None:
        if not mirror.is_dir():
            raise DataSourceError(f"{MIRROR_ENV}={mirror} is not a directory")
        return "mirror", mirror
    return "cache", cache_root()


def dataset_file(dataset: Dataset, relpath: str) -> Path:
    """One verified file (see the module docstring for where it comes from)."""
    location, root = _locate(dataset)
    if location == "mirror":
        return _mirror_file(dataset, relpath, root)
    return _cached_file(dataset, relpath, root)


def dataset_files(dataset: Dataset, *, progress: ProgressHook | None = None) -> dict[str, Path]:
    """Every file of a dataset, verified; stops at the first failure (`ChecksumError`...)."""
    location, root = _locate(dataset)
    get = _mirror_file if location == "mirror" else _cached_file
    out: dict[str, Path] = {}
    for relpath in dataset.checksums:
        out[relpath] = get(dataset, relpath, root)
        if progress is not None:
            progress(relpath)
    return out


def verify(name: str, *, progress: ProgressHook | None = None) -> VerifyReport:
    """Check every file of dataset `name`; collect failures instead of stopping at the first.

    >>> import os
    >>> if os.environ.get("WORKBENCH_DATA_MIRROR"):
    ...     assert verify("reflexion").ok
    """
    dataset = get_dataset(name)
    location, root = _locate(dataset)
    get = _mirror_file if location == "mirror" else _cached_file
    start = time.perf_counter()
    failures: list[FileFailure] = []
    total = 0
    for relpath, expected in dataset.checksums.items():
        try:
            path = get(dataset, relpath, root)
            total += path.stat().st_size
        except ChecksumError as exc:
            failures.append(FileFailure(relpath, expected, exc.actual, str(exc)))
        except DataSourceError as exc:
            failures.append(FileFailure(relpath, expected, None, str(exc)))
        if progress is not None:
            progress(relpath)
    return VerifyReport(
        dataset=name, location=location, root=root / name, files=len(dataset.checksums),
        bytes=total, seconds=time.perf_counter() - start, failures=tuple(failures),
    )
