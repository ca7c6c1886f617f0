"""The on-disk transpile cache shared by the admission sandbox and the workers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from openqpu.service.run import transpile_cache


def _maker(value: object, calls: list[int]):
    def make() -> object:
        calls.append(1)
        return value

    return make


def test_an_entry_made_once_is_read_back_by_the_next_caller(tmp_path: Path) -> None:
    folder = tmp_path / "transpiled"
    calls: list[int] = []
    key = ("qasm3", "OPENQASM 3.0; qubit q;", "", "snapshot-1", 2)
    first = transpile_cache.get_or_make(folder, key, _maker({"circuit": [1, 2]}, calls))
    second = transpile_cache.get_or_make(folder, key, _maker({"circuit": "other"}, calls))
    assert first == second == {"circuit": [1, 2]}
    assert len(calls) == 1
    (entry,) = folder.iterdir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_another_snapshot_or_level_is_another_entry(tmp_path: Path) -> None:
    calls: list[int] = []
    for key in (
        ("qasm3", "src", "", "s1", 1),
        ("qasm3", "src", "", "s2", 1),
        ("qasm3", "src", "", "s1", 2),
    ):
        transpile_cache.get_or_make(tmp_path, key, _maker(key, calls))
    assert len(calls) == 3


def test_a_torn_entry_is_made_again(tmp_path: Path) -> None:
    calls: list[int] = []
    key = ("qasm2", "src", "", "s1", None)
    transpile_cache.get_or_make(tmp_path, key, _maker("good", calls))
    (entry,) = tmp_path.iterdir()
    entry.write_bytes(b"\x80\x05not a pickle")
    assert transpile_cache.get_or_make(tmp_path, key, _maker("again", calls)) == "again"
    assert transpile_cache.get_or_make(tmp_path, key, _maker("unused", calls)) == "again"
    assert len(calls) == 2


def test_an_unwritable_folder_costs_only_the_time(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    calls: list[int] = []
    value = transpile_cache.get_or_make(blocker / "transpiled", ("k",), _maker(7, calls))
    assert value == 7 and calls == [1]


def test_the_folder_keeps_the_newest_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transpile_cache, "MAX_ENTRIES", 3)
    calls: list[int] = []
    for n in range(5):
        transpile_cache.get_or_make(tmp_path, ("k", n), _maker(n, calls))
    assert len(list(tmp_path.glob("*.pickle"))) == 3
    assert transpile_cache.get_or_make(tmp_path, ("k", 4), _maker("x", calls)) == 4
