"""Group commit: the write operations of many requests share one transaction.

Each request hands its write (a function of a Core ``Connection``) to the batcher
and awaits it; one thread takes every write waiting, runs each in a savepoint of
one transaction and commits once. A request is answered only after the commit, so
an acknowledged write is durable; one failing write does not undo the others.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection

from openqpu.service.database import Database

log = logging.getLogger("openqpu.batcher")

T = TypeVar("T")
Write = Callable[[Connection], Any]
_STOP = object()


class WriteBatcher:
    """Runs writes from the event loop on one database thread, many per transaction.

    Args:
        db: the database to write to.
        max_batch: the most writes one transaction carries.
    """

    def __init__(self, db: Database, max_batch: int = 64) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def run(self, write: Callable[[Connection], T]) -> T:
        """Run ``write`` in the next transaction; return its value once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ensure_started()
        self._queue.put((write, loop, future))
        return await future

    def close(self) -> None:
        """Finish the writes already handed in, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout=30)

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._work, name="db-writer", daemon=True
                    )
                    self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[Any]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self.db.transaction() as conn:
                for write, _loop, _future in batch:
                    try:
                        with conn.begin_nested():
                            outcomes.append((True, write(conn)))
                    except Exception as exc:  # this write fails alone; the others go on
                        outcomes.append((False, exc))
        except Exception as exc:  # the commit failed: none of the batch is stored
            log.warning("a batch of %d writes failed: %s", len(batch), exc)
            outcomes = [(False, exc)] * len(batch)
        for (_write, loop, future), outcome in zip(batch, outcomes, strict=True):
            try:
                loop.call_soon_threadsafe(_settle, future, outcome)
            except RuntimeError:  # that event loop is closed: nobody waits any more
                pass


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():  # the request went away (client disconnected)
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
