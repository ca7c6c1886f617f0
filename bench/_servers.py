"""Processes for the fault campaign and the load test: an ``openqpu serve`` that can be
killed and restarted on the same port, its worker PIDs, PostgreSQL servers that can be
restarted, and a keep-alive client that reconnects when the server closed its connection.

A PostgreSQL restart in ``bench/chaos.py`` goes to a private cluster by default
(``initdb`` in a temporary folder, its own port), so that it does not break the tests of
whoever else uses the machine's shared server; ``system`` restarts the shared one.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _http import LeanClient, Response
from _service_client import free_port

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` (from /proc, else ``pgrep -P``)."""
    found: list[int] = []
    tasks = glob.glob(f"/proc/{pid}/task/*/children")
    if tasks:
        for path in tasks:
            try:
                found += [int(word) for word in Path(path).read_text().split()]
            except OSError:  # the thread ended meanwhile
                continue
        return sorted(set(found))
    result = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(word) for word in result.stdout.split()]


def command_line(pid: int) -> str:
    """The command line of ``pid`` with spaces between arguments ('' when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def worker_pids(server_pid: int) -> list[int]:
    """The worker processes of an ``openqpu serve``: its multiprocessing children
    (``spawn_main``), not multiprocessing's resource tracker."""
    return [pid for pid in child_pids(server_pid) if "spawn_main" in command_line(pid)]


class ServerProcess:
    """``openqpu serve`` on a fixed port, in its own process group, restartable.

    Args:
        database_url: the database (migrated at the first start).
        log_dir: each start writes ``server-<n>.log`` here.
        workers: ``--workers``.
        env: extra environment variables (``OPENQPU_*``).
        port: the port to keep across restarts (default: a free one).
    """

    def __init__(
        self,
        database_url: str,
        log_dir: Path,
        *,
        workers: int,
        env: dict[str, str],
        port: int | None = None,
    ) -> None:
        self.database_url, self.log_dir = database_url, log_dir
        self.workers, self.env = workers, env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.admin_key = ""

    @property
    def pid(self) -> int | None:
        """The API process's id while it runs."""
        alive = self.process is not None and self.process.poll() is None
        return self.process.pid if alive and self.process is not None else None

    def start(self) -> None:
        """Start and wait for ``/healthz``.

        Raises:
            RuntimeError: the server exited or did not answer within ``START_TIMEOUT_S``.
        """
        self.starts += 1
        log_path = self.log_dir / f"server-{self.starts}.log"
        command = [
            sys.executable, "-m", "openqpu.cli", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), "--db", self.database_url, "--workers", str(self.workers),
        ]  # fmt: skip
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "OPENQPU_DATA_DIR": str(self.log_dir), **self.env},
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    key_file = self.log_dir / "admin-key"
                    if key_file.exists():
                        self.admin_key = key_file.read_text().strip()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not answer in {START_TIMEOUT_S:g} s")

    def kill(self) -> None:
        """SIGKILL the whole process group (API process and workers) at once."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=STOP_TIMEOUT_S)
        _wait_group_gone(self.process.pid)

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL after ``STOP_TIMEOUT_S``."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def worker_pids(self) -> list[int]:
        """The running workers' process ids."""
        pid = self.pid
        return worker_pids(pid) if pid is not None else []


def _wait_group_gone(group: int, timeout: float = STOP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


def _postgres_bin(name: str) -> str | None:
    """Path of a PostgreSQL server program (``initdb``, ``pg_ctl``), newest version first."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else shutil.which(name)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free loopback port, which may be restarted.

    As root the cluster runs as the ``postgres`` user (PostgreSQL refuses root).

    Raises:
        RuntimeError: ``initdb`` or ``pg_ctl`` is missing or fails.
    """

    def __init__(self) -> None:
        initdb, self._pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
        if initdb is None or self._pg_ctl is None:
            raise RuntimeError("initdb/pg_ctl not found: no private PostgreSQL cluster")
        self.folder = Path(tempfile.mkdtemp(prefix="openqpu-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run([initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])
        self._ctl("start")

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(
            [*self._as, *command], capture_output=True, text=True, timeout=120, cwd=self.folder
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")

    def _ctl(self, action: str, *options: str) -> None:
        assert self._pg_ctl is not None
        settings = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=on"
        self._run(
            [self._pg_ctl, "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
             "-o", settings, *options, action]
        )  # fmt: skip

    def restart(self) -> str:
        """Crash-stop (``-m immediate``: no checkpoint, recovery from the WAL) and start."""
        self._ctl("stop", "-m", "immediate")
        self._ctl("start")
        return "pg_ctl -m immediate stop; pg_ctl start"

    def close(self) -> None:
        """Stop the cluster and delete its files."""
        try:
            self._ctl("stop", "-m", "fast")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


SYSTEM_RESTARTS = (
    ["pg_ctlcluster", "{version}", "main", "restart"],
    ["systemctl", "restart", "postgresql"],
    ["service", "postgresql", "restart"],
)


def restart_system_postgres() -> str:
    """Restart the machine's PostgreSQL with the first command that works; return it.

    Raises:
        RuntimeError: none of ``SYSTEM_RESTARTS`` worked (not root, no such service).
    """
    versions = sorted(Path(p).parent.parent.name for p in glob.glob("/usr/lib/postgresql/*/bin"))
    version = versions[-1] if versions else "15"
    failures = []
    for template in SYSTEM_RESTARTS:
        command = [part.format(version=version) for part in template]
        if shutil.which(command[0]) is None:
            failures.append(f"{command[0]}: not installed")
            continue
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode == 0:
            return " ".join(command)
        failures.append(f"{' '.join(command)}: {(result.stderr or result.stdout).strip()[:200]}")
    raise RuntimeError("cannot restart PostgreSQL: " + "; ".join(failures))


class ReconnectingClient(LeanClient):
    """A :class:`LeanClient` that opens a new connection when the server closed the old one.

    uvicorn closes a keep-alive connection after 5 s idle; without this check the next
    request on it fails although the server is well.
    """

    reconnects = 0

    async def request(self, method: str, path: str, body: bytes = b"") -> Response:
        """As :meth:`LeanClient.request`, on a live connection."""
        if self._reader is not None and self._reader.at_eof():
            await self.aclose()
            ReconnectingClient.reconnects += 1
        return await super().request(method, path, body)
