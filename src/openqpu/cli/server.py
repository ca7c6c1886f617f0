"""``openqpu serve`` and ``openqpu worker``: run the cloud."""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from openqpu.cli.local import positive_int


def add_server_commands(commands: argparse._SubParsersAction) -> None:
    """``serve`` and ``worker``."""
    serve = commands.add_parser("serve", help="start the API server and local workers")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (default 1)")
    serve.add_argument(
        "--api-processes",
        type=positive_int,
        default=None,
        help="API processes sharing the port (default 1; more use more cores)",
    )
    serve.add_argument("--db", dest="database_url", default=None, help="database URL")
    _add_ray_address(serve)
    serve.set_defaults(handler=_serve)
    worker = commands.add_parser("worker", help="run workers only, against a shared database")
    worker.add_argument("--db", dest="database_url", default=None, help="database URL")
    worker.add_argument(
        "--processes", type=positive_int, default=1, help="worker processes (default 1)"
    )
    worker.add_argument(
        "--name",
        dest="worker_name",
        default=None,
        help="what the worker ids start with (default: the host name)",
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve these worker processes' Prometheus metrics on this port (default: none)",
    )
    _add_ray_address(worker)
    worker.set_defaults(handler=_worker)


def _add_ray_address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster (host:port) that the circuits and shot chunks of a job fan out to",
    )


def _settings(args: argparse.Namespace, **extra: Any) -> Any:
    from openqpu.service.settings import Settings

    try:
        return Settings.from_env(
            database_url=args.database_url, ray_address=args.ray_address, **extra
        )
    except ValueError as exc:
        print(f"openqpu: {exc}", file=sys.stderr)
        return None


def _worker_process(settings_fields: dict[str, Any], parent_pid: int) -> None:
    from openqpu.service.run.worker import run_worker
    from openqpu.service.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        run_worker(Settings(**settings_fields), parent_pid=parent_pid)
    except KeyboardInterrupt:
        pass


def _api_process(settings_fields: dict[str, Any], parent_pid: int) -> None:
    """One more API process: its own socket on the shared port (SO_REUSEPORT)."""
    from openqpu.service.api.app import create_app
    from openqpu.service.settings import Settings

    settings = Settings(**settings_fields)
    app = create_app(settings)
    sock = listening_socket(settings.host, settings.port)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    _run_uvicorn(app, sock)


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` that other processes may bind too.

    With SO_REUSEPORT the kernel spreads new connections over every process that
    listens on the port: several API processes share one address without a proxy.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class WorkerPool:
    """Keeps ``size`` processes running ``target`` alive, restarting any that die."""

    def __init__(
        self, settings: Any, size: int, target: Any = _worker_process, *, daemon: bool = True
    ) -> None:
        self.settings, self.size, self.target = settings, size, target
        self.daemon = daemon
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[Any] = []
        self.stop = threading.Event()

    def _spawn(self) -> Any:
        process = self.context.Process(
            target=self.target, args=(asdict(self.settings), os.getpid()), daemon=self.daemon
        )
        process.start()
        return process

    def start(self) -> None:
        """Start the workers and a thread that replaces dead ones."""
        self.processes = [self._spawn() for _ in range(self.size)]
        threading.Thread(target=self._supervise, daemon=True, name="worker-pool").start()

    def _supervise(self) -> None:
        while not self.stop.wait(1.0):
            for index, process in enumerate(self.processes):
                if not process.is_alive() and not self.stop.is_set():
                    self.processes[index] = self._spawn()

    def close(self) -> None:
        """Stop every worker."""
        self.stop.set()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(timeout=5)


SHUTDOWN_GRACE_S = 3


def _run_uvicorn(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then return (instead of dying).

    uvicorn re-raises the stopping signal after its graceful shutdown, which would
    end the process before the worker pool is stopped; this server does not.
    """
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            handled = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    # Idle keep-alive connections stay open as long as common load balancers keep
    # theirs (uvicorn's 5 s default makes every client that pauses reconnect).
    keep_alive = app.state.settings.keep_alive_seconds
    # On SIGTERM open requests get a few seconds, then the server stops regardless (a
    # long poll or a request waiting on the sandbox must not hold the shutdown).
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=int(keep_alive),
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    Server(config).run(sockets=[sock])


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(
        args,
        host=args.host,
        port=args.port,
        workers=args.workers,
        api_processes=args.api_processes,
    )
    if settings is None:
        return 2
    from openqpu.service.metrics import enable_multiprocess
    from openqpu.service.store.bootstrap import data_directory

    if settings.workers > 0 or settings.api_processes > 1:
        # Several processes: each writes its metrics to files that /metrics adds up.
        enable_multiprocess(data_directory(settings) / f"metrics-{settings.port}")
    from openqpu.service.api.app import create_app
    from openqpu.service.store.bootstrap import ensure_admin, save_admin_key

    app = create_app(settings)
    token = ensure_admin(app.state.db)
    url = f"http://{settings.host}:{settings.port}"
    print(f"openqpu is serving {url}  (database: {app.state.db.dialect})")
    print(f"  dashboard: {url}/web/   API documentation: {url}/docs")
    print(f"  statistics: {url}/api/v1/stats")
    if settings.ray_address:
        print(f"  jobs fan out to the Ray cluster at {settings.ray_address}")
    if token:
        # The key goes to an owner-only file, and to the screen only when it is a terminal:
        # stdout is often a log file that others read.
        path = save_admin_key(settings, token)
        print(f"  first start: the admin API key is in {path} (readable by this user only)")
        if sys.stdout.isatty():
            print(f"  admin API key: {token}")
    sys.stdout.flush()
    try:
        sock = listening_socket(settings.host, settings.port)
    except OSError as exc:
        print(f"openqpu: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 2
    pool = WorkerPool(settings, settings.workers)
    pool.start()
    # Not daemonic: an API process starts the sandbox's child processes, which a daemonic
    # process may not have. close() below ends them; each also exits with its parent.
    api_pool = WorkerPool(settings, settings.api_processes - 1, target=_api_process, daemon=False)
    api_pool.start()
    try:
        _run_uvicorn(app, sock)
    finally:
        api_pool.close()
        pool.close()
    return 0


def _worker(args: argparse.Namespace) -> int:
    settings = _settings(args, worker_name=args.worker_name, metrics_port=args.metrics_port)
    if settings is None:
        return 2
    from openqpu.service.store.database import Database

    Database(settings.database_url).migrate()
    if settings.metrics_port:
        _serve_worker_metrics(settings)
    pool = WorkerPool(settings, args.processes)
    pool.start()
    ray = f"; jobs fan out to Ray at {settings.ray_address}" if settings.ray_address else ""
    print(f"openqpu: {args.processes} worker(s) running against {settings.database_url}{ray}")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    finally:
        pool.close()


def _serve_worker_metrics(settings: Any) -> None:
    """Serve the worker processes' own metrics (busy time, lease expiries, requeues,
    database errors) on ``metrics_port``, for workers on hosts without an API process."""
    import tempfile
    from pathlib import Path

    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    from openqpu.service.metrics import enable_multiprocess

    folder = Path(tempfile.mkdtemp(prefix="openqpu-metrics-"))
    enable_multiprocess(folder)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))
    start_http_server(settings.metrics_port, addr=settings.host, registry=registry)
    print(f"openqpu: worker metrics on http://{settings.host}:{settings.metrics_port}/metrics")
