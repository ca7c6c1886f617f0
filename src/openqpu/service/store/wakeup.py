"""Waking idle workers when work arrives: LISTEN/NOTIFY on PostgreSQL, polling as fallback.

Whoever queues work (a submit batch, a lease that expired) calls :func:`announce`
in its transaction; PostgreSQL delivers the notification when it commits. A worker
waits in :meth:`Wakeup.wait`, which returns at the first notification or after the
timeout, so polling remains the fallback (and the only way on SQLite).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Connection, text

from openqpu.service.store.database import normalise_url

CHANNEL = "openqpu_jobs"
_NOTIFY = text(f"NOTIFY {CHANNEL}")
log = logging.getLogger(__name__)


def announce(conn: Connection) -> None:
    """Tell listening workers, when ``conn``'s transaction commits, that work may wait."""
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY)


class Wakeup:
    """A worker's way to sleep until work may be there.

    Args:
        database_url: the service database; on PostgreSQL a connection of its own
            listens on the channel.
    """

    def __init__(self, database_url: str) -> None:
        url = normalise_url(database_url)
        self._dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.listening = url.startswith("postgresql")
        self._conn: Any = None

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Return after a notification, after ``timeout`` seconds, or when ``stop`` is set."""
        conn = self._connection()
        if conn is None:
            stop.wait(timeout)
            return
        try:
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                break
        except Exception as exc:  # the database restarted: poll until it is back
            log.warning("LISTEN connection lost: %s", exc)
            self.close()
            stop.wait(timeout)

    def _connection(self) -> Any:
        if not self.listening:
            return None
        if self._conn is None or self._conn.closed:
            try:
                import psycopg

                self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
                self._conn.execute(f"LISTEN {CHANNEL}")
            except Exception as exc:
                log.warning("cannot LISTEN for new jobs (polling instead): %s", exc)
                self._conn = None
        return self._conn

    def close(self) -> None:
        """Drop the listening connection."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # already broken
                pass
            self._conn = None
