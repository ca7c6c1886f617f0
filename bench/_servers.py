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
import subprocess
import tempfile
from pathlib import Path

from _http import LeanClient, Response
from openqpu.cli.spawn import START_TIMEOUT_S, Server, free_port, start_server


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

    Each start is an :func:`openqpu.cli.spawn.start_server` on the same port.

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
        self.server: Server | None = None
        self.starts = 0
        self.admin_key = ""

    @property
    def pid(self) -> int | None:
        """The API process's id while it runs."""
        alive = self.server is not None and self.server.process.poll() is None
        return self.server.process.pid if alive and self.server is not None else None

    def start(self) -> None:
        """Start and wait for ``/healthz``.

        Raises:
            RuntimeError: the server exited or did not answer within ``START_TIMEOUT_S``.
        """
        self.starts += 1
        self.server = start_server(
            self.database_url,
            self.log_dir / f"server-{self.starts}.log",
            workers=self.workers,
            env=self.env,
            port=self.port,
            startup_s=START_TIMEOUT_S,
        )
        # Only the first start on a new database makes an administrator.
        self.admin_key = self.server.admin_key or self.admin_key

    def kill(self) -> None:
        """SIGKILL the whole process group (API process and workers) at once."""
        if self.server is not None:
            self.server.kill()

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL after ``openqpu.cli.spawn.STOP_TIMEOUT_S``."""
        if self.server is not None:
            self.server.stop()

    def worker_pids(self) -> list[int]:
        """The running workers' process ids."""
        pid = self.pid
        return worker_pids(pid) if pid is not None else []


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
