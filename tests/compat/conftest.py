"""What the third-party client tests share: a virtual environment per client (built once
under ``var/compat/``, reused after), the pythons that have pyqpanda3 and pyquafu, and
small SQLite servers to point them at.

The clients pin numpy < 2 (pyquafu) or bring native libraries (pyqpanda3), so each
lives in its own environment and the tests drive it in a subprocess.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.conftest import FAST_LEASES, Server, start_server

ROOT = Path(__file__).resolve().parents[2]
PYQPANDA3_VERSION = "0.5.1"  # the version whose requests the protocol was read from
PYQUAFU_VERSION = "0.4.5"


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


@pytest.fixture(scope="session")
def qpanda_python() -> Path:
    """The compat venv's python with pyqpanda3; skip, saying why, when it cannot be had."""
    python = client_python(
        ROOT / "var" / "compat" / "pyqpanda3-venv", f"pyqpanda3=={PYQPANDA3_VERSION}"
    )
    loads = subprocess.run(
        [str(python), "-c", "import pyqpanda3.qcloud"], capture_output=True, text=True, timeout=120
    )
    if loads.returncode != 0:
        tail = loads.stderr.strip().splitlines()[-1:]
        pytest.skip(
            f"pyqpanda3 does not load ({' '.join(tail)}); it needs libcurl4 and libgomp1: "
            "apt-get install -y libcurl4 libgomp1"
        )
    return python


@pytest.fixture(scope="session")
def quafu_python() -> Path:
    """The compat venv's python with pyquafu; skip, saying why, when it cannot be installed."""
    return client_python(
        ROOT / "var" / "compat" / f"pyquafu-{PYQUAFU_VERSION}", f"pyquafu=={PYQUAFU_VERSION}"
    )


def _serve(tmp_path_factory: pytest.TempPathFactory, workers: int) -> Iterator[Server]:
    """An openqpu server on a fresh SQLite file, stopped afterwards."""
    folder = tmp_path_factory.mktemp("compat-server")
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with one worker, on SQLite, per test module."""
    yield from _serve(tmp_path_factory, workers=1)


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without workers, per test module: its jobs stay queued."""
    yield from _serve(tmp_path_factory, workers=0)
