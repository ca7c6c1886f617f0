"""Transpiled circuits kept on disk, shared by the processes of one machine.

A chip job is transpiled when it is admitted (in a sandbox process, to estimate it) and
again when a worker runs it; for wide circuits that is seconds each time. Both look here
first. Entries are pickles written by the server's own processes into an owner-only
folder under the data directory, keyed by everything the result depends on (the
circuit's source and format, the measurement basis, the calibration snapshot, the
optimisation level, and the versions of openqpu and Qiskit). A missing, unreadable or
foreign entry is made again; the folder keeps at most ``MAX_ENTRIES`` files, dropping
the oldest.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import qiskit

import openqpu

log = logging.getLogger(__name__)

MAX_ENTRIES = 512
_SUFFIX = ".pickle"

T = TypeVar("T")


def _path(folder: Path, key: tuple[Any, ...]) -> Path:
    digest = hashlib.sha256(
        repr((openqpu.__version__, qiskit.__version__, key)).encode()
    ).hexdigest()
    return folder / f"{digest}{_SUFFIX}"


def get_or_make(folder: Path, key: tuple[Any, ...], make: Callable[[], T]) -> T:
    """The entry for ``key`` in ``folder``, made (and stored) by ``make`` when absent.

    ``key`` must hold only values whose ``repr`` is stable across processes (strings,
    numbers, None). Failing to read or write the folder only costs the time of
    ``make``: the cache never makes a job fail.
    """
    path = _path(folder, key)
    try:
        with path.open("rb") as file:
            value: T = pickle.load(file)
        return value
    except FileNotFoundError:
        pass
    except Exception as error:  # a torn or foreign file: made again below
        log.warning("transpile cache: ignoring %s (%s)", path.name, error)
    value = make()
    try:
        _store(folder, path, value)
    except OSError as error:
        log.warning("transpile cache: could not write %s (%s)", folder, error)
    return value


def _store(folder: Path, path: Path, value: object) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(handle, "wb") as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # readers see a whole file or none
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _trim(folder)


def _trim(folder: Path) -> None:
    entries = list(folder.glob(f"*{_SUFFIX}"))
    if len(entries) <= MAX_ENTRIES:
        return
    by_age = sorted(entries, key=lambda p: p.stat().st_mtime)
    for old in by_age[: len(entries) - MAX_ENTRIES]:
        old.unlink(missing_ok=True)
