"""What the applications share: a local server, the backend, a progress bar and outputs.

An application is a client of the cloud. Without a URL it starts ``openqpu serve``
as a subprocess on a free port with a temporary SQLite database (the only place
``openqpu.apps`` touches the server, and only through its command line, by
``openqpu.cli.spawn``), and stops it when done.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from openqpu.cli.spawn import start_server
from openqpu.qiskit import OpenQPUBackend, OpenQPUProvider


class LocalServer:
    """``openqpu serve`` with one worker on a free port and a throw-away SQLite file.

    Started by :func:`openqpu.cli.spawn.start_server`, as the tests and benchmarks
    start theirs.

    Args:
        workers: worker processes that run jobs.
        startup_s: how long to wait for the server to answer.

    Raises:
        RuntimeError: the server exited or did not answer in time (with its log).

    >>> with LocalServer() as server:  # doctest: +SKIP
    ...     backend = OpenQPUProvider(server.url, server.token).backend("statevector")
    """

    def __init__(self, *, workers: int = 1, startup_s: float = 90.0) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="openqpu-app-")
        folder = Path(self._folder.name)
        # Workers look for jobs often: an optimiser waits for one small job at a time.
        poll = os.environ.get("OPENQPU_POLL_SECONDS", "0.02")
        try:
            self._server = start_server(
                f"sqlite:///{folder / 'openqpu.db'}",
                folder / "server.log",  # the first admin key lands in the same folder
                workers=workers,
                env={"OPENQPU_POLL_SECONDS": poll},
                startup_s=startup_s,
            )
        except BaseException:
            self._folder.cleanup()
            raise
        self.url = self._server.url
        self.token = self._server.admin_key
        if not self.token:
            self.stop()
            raise RuntimeError("local server made no administrator key")

    def log(self) -> str:
        """What the server printed so far."""
        return self._server.log()

    def stop(self) -> None:
        """Stop the server and its workers and delete the database."""
        self._server.stop()
        self._folder.cleanup()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def connect(
    url: str | None, token: str | None, device: str, *, stream: TextIO | None = None
) -> Iterator[OpenQPUBackend]:
    """The backend ``device`` on the server at ``url``, or on a local server when ``url`` is None.

    Args:
        url: the server; None starts a ``LocalServer`` for the duration.
        token: an API key for ``url`` (default: ``OPENQPU_TOKEN``).
        device: the device's name.
        stream: where to say that a local server is starting (None: silent).

    Raises:
        ValueError: a URL without a key.
    """
    if url is None:
        if stream is not None:
            print("starting a local openqpu server ...", file=stream, flush=True)
        with LocalServer() as server:
            provider = OpenQPUProvider(server.url, server.token)
            try:
                yield provider.backend(device)
            finally:
                provider.client.close()
        return
    token = token or os.environ.get("OPENQPU_TOKEN")
    if not token:
        raise ValueError("--token (or OPENQPU_TOKEN) is needed with --url")
    provider = OpenQPUProvider(url, token)
    try:
        yield provider.backend(device)
    finally:
        provider.client.close()


class Progress:
    """A text progress bar on a stream (stderr): ``label [#####.....] 12/40 value``.

    Args:
        total: the number of steps expected (an optimiser's ``maxiter``).
        label: what is progressing.
        stream: where to draw; None draws nothing.
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = sys.stderr) -> None:
        self.total = max(1, total)
        self.label = label
        self.stream = stream
        self.count = 0

    def step(self, note: str = "") -> None:
        """One more step done; ``note`` (e.g. the current energy) is shown after the bar."""
        self.count += 1
        if self.stream is None:
            return
        width = 30
        filled = min(width, width * self.count // self.total)
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.count}/{self.total} {note}\033[K")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.stream is not None and self.count:
            self.stream.write("\n")
            self.stream.flush()


def write_outputs(summary: dict[str, Any], figure: Any, out_dir: Path, name: str) -> list[Path]:
    """Write ``summary.json`` and ``NAME.png`` (a matplotlib figure) into ``out_dir``.

    Returns:
        The two paths written.
    """
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "summary.json"
    json_path.write_text(json.dumps(summary, indent=2) + "\n")
    png_path = out_dir / f"{name}.png"
    figure.savefig(png_path, dpi=80)
    plt.close(figure)
    return [json_path, png_path]


def new_figure(columns: int = 2, *, width: float = 10.0, height: float = 4.0) -> tuple[Any, Any]:
    """A matplotlib figure with ``columns`` axes side by side, drawn with the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, columns, figsize=(width, height), layout="constrained")
    return figure, axes
