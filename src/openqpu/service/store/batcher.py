"""Group commit: the write operations of many requests share one transaction.

Each request hands its write (a function of a Core ``Connection``) to the batcher
and awaits it. The batcher runs on the event loop itself: it takes every write
handed in so far, runs each in a savepoint of one transaction and commits once. A
request is answered only after the commit, so an acknowledged write is durable;
one failing write does not undo the others.

Why not a writer thread: every database call releases the GIL, and a thread that
gives it up waits for the busy event loop's time slice to get it back, dozens of
times per transaction. On the loop, a write costs its SQL and nothing more.

On SQLite, other processes (workers) hold the database's one write lock now and
then. The batcher never waits for it inside SQLite (that would stop the event loop,
and SQLite's busy handler sleeps in steps of up to 100 ms): it tries to take the
lock, and while it is held elsewhere yields to the loop for half a millisecond and
tries again. Writes handed in meanwhile join the transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from openqpu.service.store.database import Database
from openqpu.service.store.wakeup import announce

log = logging.getLogger("openqpu.batcher")

T = TypeVar("T")
Write = tuple[Callable[[Connection], Any], "asyncio.Future[Any]"]

LOCK_RETRY_SECONDS = 0.0005
LOCK_TIMEOUT_SECONDS = 30.0


class DatabaseBusy(Exception):
    """SQLite's write lock stayed taken for ``LOCK_TIMEOUT_SECONDS``."""


class WriteBatcher:
    """Runs writes handed in from request handlers, many per transaction.

    Args:
        db: the database to write to.
        max_batch: the most writes one transaction carries.
    """

    def __init__(self, db: Database, max_batch: int = 64) -> None:
        self.db = db
        self.max_batch = max_batch
        self._pending: list[Write] = []
        self._task: asyncio.Task[None] | None = None
        self._sqlite: Connection | None = None

    async def run(self, write: Callable[[Connection], T]) -> T:
        """Run ``write`` in the next transaction; return its value once committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        if self._task is None or self._task.done():
            # The task starts after the callbacks ready now: their writes join it.
            self._task = asyncio.create_task(self._drain())
        return await future

    def close(self) -> None:
        """Release the batcher's connection (at shutdown)."""
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    async def _drain(self) -> None:
        while self._pending:
            if self.db.dialect == "sqlite":
                await self._commit_sqlite()
            else:
                self._commit(self._take())

    def _take(self) -> list[Write]:
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        return batch

    def _commit(self, batch: list[Write]) -> None:
        # Optimistically without savepoints (two round trips less per write on a
        # server database); when a write fails, the batch runs again, each write in
        # a savepoint of its own, so that only the failing one fails.
        try:
            outcomes = self._commit_all_or_none(batch)
        except _WriteFailed:
            outcomes = None
        except Exception as exc:  # the commit failed: none of the batch is stored
            log.warning("a batch of %d writes failed: %s", len(batch), exc)
            outcomes = [(False, exc)] * len(batch)
        if outcomes is None:
            try:
                with self.db.transaction() as conn:
                    outcomes = _run_each(batch, conn, conn.begin_nested)
                    if any(ok for ok, _ in outcomes):
                        announce(conn)
            except Exception as exc:
                log.warning("a batch of %d writes failed: %s", len(batch), exc)
                outcomes = [(False, exc)] * len(batch)
        _settle(batch, outcomes)

    def _commit_all_or_none(self, batch: list[Write]) -> list[tuple[bool, Any]]:
        """Run every write in one transaction; raise ``_WriteFailed`` (rolled back) if one fails."""
        with self.db.transaction() as conn:
            outcomes: list[tuple[bool, Any]] = []
            for write, _future in batch:
                try:
                    outcomes.append((True, write(conn)))
                except Exception as exc:
                    raise _WriteFailed(exc) from exc
            announce(conn)  # idle workers wake when this commits
        return outcomes

    async def _commit_sqlite(self) -> None:
        try:
            conn = await self._begin_immediate()
        except Exception as exc:
            batch = self._take()
            _settle(batch, [(False, exc)] * len(batch))
            return
        batch = self._take()  # everything handed in while waiting for the lock
        try:
            outcomes = _run_each(batch, conn, lambda: _sqlite_savepoint(conn))
            conn.exec_driver_sql("COMMIT")
        except Exception as exc:  # the commit failed: none of the batch is stored
            log.warning("a batch of %d writes failed: %s", len(batch), exc)
            outcomes = [(False, exc)] * len(batch)
            self._abandon(conn)
        _settle(batch, outcomes)

    async def _begin_immediate(self) -> Connection:
        """The batcher's SQLite connection, in a transaction that holds the write lock."""
        if self._sqlite is None or self._sqlite.invalidated or self._sqlite.closed:
            self._sqlite = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._sqlite.exec_driver_sql("PRAGMA busy_timeout = 0")
        conn = self._sqlite
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return conn
            except OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
            if time.monotonic() > deadline:
                raise DatabaseBusy(
                    f"the database stayed locked by another process for {LOCK_TIMEOUT_SECONDS:g} s"
                )
            await asyncio.sleep(LOCK_RETRY_SECONDS)

    def _abandon(self, conn: Connection) -> None:
        try:
            conn.exec_driver_sql("ROLLBACK")
        except Exception:  # the transaction is gone already
            self.close()


def _run_each(
    batch: list[Write], conn: Connection, savepoint: Callable[[], AbstractContextManager[Any]]
) -> list[tuple[bool, Any]]:
    """Run each write in a savepoint of ``conn``'s transaction: a failing one fails alone.

    Only a write's own error is its outcome; an error of the savepoints themselves
    propagates and fails the whole batch.
    """
    outcomes: list[tuple[bool, Any]] = []
    for write, _future in batch:
        try:
            with savepoint():
                try:
                    outcomes.append((True, write(conn)))
                except Exception as exc:
                    raise _WriteFailed(exc) from exc
        except _WriteFailed as failed:  # rolled back to its savepoint; the others go on
            outcomes.append((False, failed.error))
    return outcomes


class _WriteFailed(Exception):
    """Carries one write's error out of its savepoint, which rolls back on the way."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@contextmanager
def _sqlite_savepoint(conn: Connection) -> Iterator[None]:
    """A savepoint by hand: the batcher's SQLite connection runs its own BEGIN and COMMIT."""
    conn.exec_driver_sql("SAVEPOINT write")
    try:
        yield
    except Exception:
        conn.exec_driver_sql("ROLLBACK TO write")
        raise
    finally:
        conn.exec_driver_sql("RELEASE write")


def _settle(batch: list[Write], outcomes: list[tuple[bool, Any]]) -> None:
    for (_write, future), (ok, value) in zip(batch, outcomes, strict=True):
        if future.done():  # the request went away (client disconnected)
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
