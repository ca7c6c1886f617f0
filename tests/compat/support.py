"""What the third-party client tests share: a virtual environment per client (built
once under ``var/compat/``, reused after) and small SQLite servers to point them at."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.conftest import FAST_LEASES, Server, start_server

ROOT = Path(__file__).resolve().parents[2]


def client_python(venv: Path, requirement: str) -> Path:
    """The python of ``venv`` with ``requirement`` installed; skip, saying why, when the
    package cannot be installed (no network, for one)."""
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.exists() and stamp.read_text() == requirement:
        return python
    shutil.rmtree(venv, ignore_errors=True)  # a half-built or older one
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         requirement],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    if install.returncode != 0:
        tail = (install.stderr or install.stdout).strip().splitlines()[-3:]
        pytest.skip(f"{requirement} could not be installed: {' | '.join(tail)}")
    stamp.write_text(requirement)
    return python


def serve(tmp_path_factory: pytest.TempPathFactory, name: str, workers: int) -> Iterator[Server]:
    """An openqpu server on a fresh SQLite file, stopped afterwards."""
    folder = tmp_path_factory.mktemp(name)
    running = start_server(
        f"sqlite:///{folder / 'openqpu.db'}",
        folder / "server.log",
        workers=workers,
        extra_env=FAST_LEASES,
    )
    try:
        yield running
    finally:
        running.stop()
