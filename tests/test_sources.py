"""The dataset registry: it covers the mirror exactly, verifies it, and catches tampering.

The download path runs against a local HTTP server on 127.0.0.1 serving a tmp folder laid out
like the mirror (no outside network).
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.errors import ChecksumError, DataSourceError
from workbench.sources import DATASETS, get_dataset, list_datasets, sha256_file, verify
from workbench.sources import fetch as fetch_module

from .store_helpers import mirror_path

SMALL = "reflexion"  # a dataset of 3 small files, for tests that copy files around


def _mirror_sums(mirror: Path) -> dict[tuple[str, str], str]:
    """(dataset, path) -> sha256 from every SHA256SUMS file of the mirror."""
    out: dict[tuple[str, str], str] = {}
    for sums in [mirror / "SHA256SUMS", *mirror.glob("*/SHA256SUMS")]:
        folder = "" if sums.parent == mirror else sums.parent.name + "/"
        for line in sums.read_text().splitlines():
            digest, path = line.split(maxsplit=1)
            dataset, _, rel = (folder + path.removeprefix("./")).partition("/")
            out[(dataset, rel)] = digest
    return out


@pytest.fixture()
def mirror(monkeypatch: pytest.MonkeyPatch) -> Path:
    path = mirror_path()
    monkeypatch.setenv("WORKBENCH_DATA_MIRROR", str(path))
    return path


def test_registry_covers_every_file_of_the_mirror(mirror: Path) -> None:
    sums = _mirror_sums(mirror)
    registered = {(d.name, p): h for d in list_datasets() for p, h in d.checksums.items()}
    assert registered == sums
    assert len(registered) == 1617
    # and nothing else lies in the dataset folders (besides the mirror's own SHA256SUMS)
    on_disk = {
        (f.relative_to(mirror).parts[0], f.relative_to(mirror / f.relative_to(mirror).parts[0])
         .as_posix())
        for d in DATASETS for f in (mirror / d).rglob("*") if f.is_file()
    }
    assert on_disk - set(registered) == {("compute-optimal-tts", "SHA256SUMS")}


def test_registry_entries() -> None:
    assert [d.name for d in list_datasets()] == [
        "tot-game24", "sampling-ceilings", "qwen25-math-rm", "compute-optimal-tts", "reflexion"]
    assert {d.name: d.importer for d in list_datasets()} == {
        "tot-game24": "tot_game24", "sampling-ceilings": "sampling_ceilings",
        "qwen25-math-rm": "qwen25_math", "compute-optimal-tts": "compute_optimal_tts",
        "reflexion": "reflexion",
    }
    for d in list_datasets():
        assert re.fullmatch(r"[0-9a-f]{40}", d.commit)
        assert d.citation.lstrip().startswith("@")
        assert d.citation.count("{") == d.citation.count("}")
        assert "LICENSE" in d.checksums
    sc = get_dataset("sampling-ceilings")
    assert sc.licence == "CC BY 4.0" and sc.attribution and "Brown" in sc.citation
    assert sc.url("rhow_counts.json") == (
        "https://raw.githubusercontent.com/bay-yearick-lab/sampling-ceilings/"
        "351832c1276e57cdc9ba18905f2a87d58473dc20/paper/data/rhow_counts.json"
    )
    cot = get_dataset("compute-optimal-tts")
    rel = ("MATH_best_of_n/Qwen2.5-1.5B-Instruct/math-shepherd-mistral-7b-prm/1_1_1/"
           "question_0/record_0.jsonl")
    assert cot.url(rel).endswith("/ca363f1aa8546568372bf4f9dbba1089881a5b59/src/output/" + rel)
    assert "Yao" in get_dataset("tot-game24").citation
    assert "Shinn" in get_dataset("reflexion").citation
    assert "Yang" in get_dataset("qwen25-math-rm").citation


def test_unknown_dataset_and_file_are_clear_errors() -> None:
    with pytest.raises(DataSourceError, match="no registered dataset 'nope'; registered: tot-"):
        get_dataset("nope")
    with pytest.raises(DataSourceError, match="dataset 'reflexion' has no file 'x.json'"):
        get_dataset("reflexion").url("x.json")


def test_verify_passes_on_the_mirror(mirror: Path) -> None:
    for d in list_datasets():
        ticks: list[str] = []
        report = verify(d.name, progress=ticks.append)
        assert report.ok, report.failures
        assert (report.location, report.root, report.files) == ("mirror", mirror / d.name,
                                                                 len(d.checksums))
        assert report.bytes == sum((mirror / d.name / p).stat().st_size for p in d.checksums)
        assert ticks == list(d.checksums)


def test_files_returns_every_verified_mirror_path(mirror: Path) -> None:
    files = get_dataset("compute-optimal-tts").files()
    assert len(files) == 1604
    some = "MATH_beam_search/Qwen2.5-1.5B-Instruct/math-shepherd-mistral-7b-prm/40_4_1/config.json"
    assert files[some] == mirror / "compute-optimal-tts" / some
    assert sha256_file(files[some]) == get_dataset("compute-optimal-tts").checksums[some]


def _tmp_mirror(mirror: Path, tmp_path: Path, name: str = SMALL) -> Path:
    root = tmp_path / "mirror"
    shutil.copytree(mirror / name, root / name)
    return root


def test_tampered_mirror_copy_raises_checksum_error(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tmp_mirror(mirror, tmp_path)
    victim = root / SMALL / "simple_humaneval_py_gpt4.jsonl"
    data = bytearray(victim.read_bytes())
    data[100] ^= 0x01  # flip one bit of one byte
    victim.write_bytes(bytes(data))
    monkeypatch.setenv("WORKBENCH_DATA_MIRROR", str(root))
    expected = get_dataset(SMALL).checksums["simple_humaneval_py_gpt4.jsonl"]
    actual = sha256_file(victim)
    with pytest.raises(ChecksumError) as info:
        get_dataset(SMALL).files()
    err = info.value
    assert (err.file, err.expected, err.actual) == (str(victim), expected, actual)
    assert str(victim) in str(err) and expected in str(err) and actual in str(err)
    report = verify(SMALL)
    assert not report.ok
    assert [(f.relpath, f.expected, f.actual) for f in report.failures] == [
        ("simple_humaneval_py_gpt4.jsonl", expected, actual)]


def test_file_missing_from_the_mirror_is_named(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tmp_mirror(mirror, tmp_path)
    (root / SMALL / "LICENSE").unlink()
    monkeypatch.setenv("WORKBENCH_DATA_MIRROR", str(root))
    with pytest.raises(DataSourceError, match=r"reflexion/LICENSE: missing from the mirror"):
        get_dataset(SMALL).path("LICENSE")
    (failure,) = verify(SMALL).failures
    assert (failure.relpath, failure.actual) == ("LICENSE", None)


@pytest.fixture()
def served(tmp_path: Path, mirror: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local HTTP server over a tmp copy of one dataset; downloads go to a tmp cache."""
    root = _tmp_mirror(mirror, tmp_path)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("WORKBENCH_DATA_MIRROR")
    monkeypatch.setenv("WORKBENCH_DATA_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("WORKBENCH_DATA_CACHE", str(tmp_path / "cache"))
    try:
        yield root
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_download_path_fetches_verifies_and_caches(served: Path, tmp_path: Path) -> None:
    ds = get_dataset(SMALL)
    files = ds.files()
    cache = tmp_path / "cache" / SMALL
    assert files == {p: cache / p for p in ds.checksums}
    for p, path in files.items():
        assert sha256_file(path) == ds.checksums[p]
    # a second call is served from the cache: remove the server's copy to prove it
    shutil.rmtree(served / SMALL)
    assert ds.files() == files
    report = verify(SMALL)
    assert report.ok and report.location == "cache" and report.root == cache


def test_download_of_a_tampered_file_raises_and_caches_nothing(
    served: Path, tmp_path: Path
) -> None:
    victim = served / SMALL / "LICENSE"
    victim.write_text(victim.read_text().replace("MIT", "XYZ", 1))
    ds = get_dataset(SMALL)
    with pytest.raises(ChecksumError) as info:
        ds.path("LICENSE")
    err = info.value
    assert err.file is not None and err.file.endswith(f"/{SMALL}/LICENSE")
    assert (err.expected, err.actual) == (ds.checksums["LICENSE"], sha256_file(victim))
    assert not (tmp_path / "cache" / SMALL / "LICENSE").exists()


def test_corrupted_cache_file_is_downloaded_again(served: Path, tmp_path: Path) -> None:
    ds = get_dataset(SMALL)
    path = ds.path("LICENSE")
    path.write_text("corrupted")
    assert sha256_file(ds.path("LICENSE")) == ds.checksums["LICENSE"]


def test_unreachable_server_is_a_clear_error(
    served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_URL", "http://127.0.0.1:9")  # discard port: refused
    with pytest.raises(DataSourceError, match="cannot download .*Set WORKBENCH_DATA_MIRROR"):
        get_dataset(SMALL).path("LICENSE")


def test_sha256_file_memo_sees_changes(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"abc")
    first = sha256_file(f)
    assert first == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    f.write_bytes(b"abcd")  # size changes, so the memo key changes
    assert sha256_file(f) != first
    assert fetch_module._HASH_MEMO  # hashes are remembered in memory only
