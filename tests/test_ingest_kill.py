"""kill -9 and Ctrl-C while a large columnar ingest runs: the store holds the whole run or none
of it, never a part, and the next ingest of the same directory completes.

The run is SYNTHETIC (benchmarks/scale.py's generator, 200,000 samples with outcome scores);
the kills land at several moments (before, during and after the transaction, whatever the
machine's speed): every outcome is checked, none is timed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
N = 200_000
CHILD = """
import sys
from workbench.importers import read_path
from workbench.store import RunStore
[run] = read_path(sys.argv[1])
with RunStore(sys.argv[2]) as store:
    store.ingest(run)
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import scale
    finally:
        sys.path.pop(0)
    return scale.generate(tmp_path_factory.mktemp("kill") / "run", N, 0)  # type: ignore[no-any-return]


def _counts(store_path: Path) -> tuple[int, int, int, int]:
    with RunStore(store_path, read_only=True) as store:
        row = store.query(
            "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM samples), "
            "(SELECT count(*) FROM outcome_scores), (SELECT count(*) FROM run_problems)"
        ).to_pylist()[0]
    return tuple(int(v) for v in row.values())  # type: ignore[return-value]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "sigint"])
def test_interrupted_ingest_leaves_all_or_nothing(
    run_dir: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    whole = (1, N, N, N // 100)
    for delay in (0.5, 2.0, 4.0, 8.0):
        store_path = tmp_path / f"s-{delay}.duckdb"
        with RunStore(store_path):
            pass  # an existing, empty store
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(run_dir), str(store_path)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(sig)
        proc.wait(timeout=120)
        counts = _counts(store_path)
        assert counts in ((0, 0, 0, 0), whole), (delay, counts)  # never a part of the run
        with RunStore(store_path) as store:  # and the next ingest completes
            from workbench.importers import read_path

            store.ingest(read_path(run_dir)[0])
        assert _counts(store_path) == whole
