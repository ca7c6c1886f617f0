"""Start ``openqpu serve`` as a child process, wait until it answers, and stop it.

The one way the tests, the benchmarks (``bench/``) and the applications
(``openqpu.apps``) run a server of their own: a subprocess in its own process group
(so that stopping it stops its workers too) on a loopback port, writing its output to
a log file, its first administrator key to ``<data dir>/admin-key``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running ``openqpu serve`` process group (API process and its workers).

    Attributes:
        url: ``http://127.0.0.1:<port>``.
        database_url: the database it serves.
        admin_key: the first administrator's key ('' when the database had one already).
        process: the API process; its id is also the process group's.
        log_path: where its stdout and stderr go.
        env: the whole environment it runs with.
    """

    url: str
    database_url: str
    admin_key: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self.url.rsplit(":", 1)[1])

    def client(self, key: str | None = None) -> httpx.Client:
        """An HTTP client with the given (default: administrator's) key."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {key or self.admin_key}"},
            timeout=30,
        )

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` to the process group and wait for the API process; SIGKILL the
        group when it outlives ``STOP_TIMEOUT_S``."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the whole process group at once and wait until it is gone.

        Also ends what is left of the group after the API process exited: while the
        server shuts down, its pool may replace a worker that SIGTERM killed.
        """
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)


def start_server(
    database_url: str,
    log_path: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    port: int | None = None,
    startup_s: float = START_TIMEOUT_S,
) -> Server:
    """Start ``openqpu serve`` on a loopback port and wait until ``/healthz`` answers.

    Args:
        database_url: the database (its schema is created or migrated at start).
        log_path: where the server's stdout and stderr go; its folder is the data
            directory (``OPENQPU_DATA_DIR``) unless ``env`` names another.
        workers: worker processes (``--workers``; 0 leaves jobs queued).
        env: ``OPENQPU_*`` variables added to this process's environment.
        port: the port (default: a free one); a restarted server may keep its port.
        startup_s: how long to wait for the first answer.

    Returns:
        The running server, with the first administrator's key when it made one.

    Raises:
        RuntimeError: the server exited or did not answer within ``startup_s`` (with
            the end of its log); it is stopped before the error is raised.
    """
    port = port or free_port()
    # The first admin key goes to <data dir>/admin-key (never to the log).
    full_env = {**os.environ, "OPENQPU_DATA_DIR": str(log_path.parent), **(env or {})}
    command = [
        sys.executable, "-m", "openqpu.cli", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--db", database_url, "--workers", str(workers),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,  # its own process group: stop() ends the workers too
        )
    server = Server(f"http://127.0.0.1:{port}", database_url, "", process, log_path, full_env)
    deadline = time.monotonic() + startup_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{server.log()[-5000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                break
        if time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"server did not answer in {startup_s:g} s:\n{server.log()[-5000:]}")
        time.sleep(0.1)
    key_file = Path(full_env["OPENQPU_DATA_DIR"]) / "admin-key"
    server.admin_key = key_file.read_text().strip() if key_file.exists() else ""
    return server
