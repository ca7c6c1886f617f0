"""Engines, sessions and schema migrations for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode and a busy timeout."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            create_private_file(Path(path))
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=16
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        url,
        pool_size=16,
        max_overflow=16,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN itself
    cursor = dbapi_connection.cursor()
    # Takes effect only on a new, empty file, before anything (WAL mode included) writes
    # its header: its space can then be given back in small steps (openqpu maintenance)
    # instead of one VACUUM that locks the whole database.
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a transaction acknowledged to a client survives a power cut.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Writers take SQLite's write lock at BEGIN, so a read-then-write transaction
    # never fails half way on a lock upgrade; readers stay concurrent.
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # each statement is its own transaction (the hot read path)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("immediate") else "BEGIN")


def create_private_file(path: Path) -> None:
    """Make ``path``'s folder (0700) and an empty ``path`` (0600) when they do not exist.

    SQLite gives its -wal and -shm files the database file's permissions, so the data
    stays the owner's. Existing folders and files keep theirs.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


@dataclass
class _HeldConnection:
    connection: Connection
    in_use: bool = False


class Database:
    """One database: an engine and sessions for reading and for writing.

    Args:
        url: SQLAlchemy URL; ``postgresql://`` uses psycopg 3.
    """

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.dialect = self.engine.dialect.name
        writer = self.engine.execution_options(immediate=True)
        self._writer = writer
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._local = threading.local()
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for queries, each statement its own transaction.

        The lean path of hot requests: every thread (the event loop's, above all) keeps
        one such connection open, so a query costs no pool checkout and no BEGIN or
        ROLLBACK round trip. A connection that broke (database restarted) is replaced on
        the next call; a nested call gets a connection of its own from the pool.
        """
        held: _HeldConnection | None = getattr(self._local, "held", None)
        if held is not None and held.in_use:
            with self._reader.connect() as connection:
                yield connection
            return
        if held is None or held.connection.closed or held.connection.invalidated:
            held = _HeldConnection(self._reader.connect())
            self._local.held = held
        held.in_use = True
        try:
            yield held.connection
        finally:
            held.in_use = False

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a write transaction: committed on success, rolled back on error."""
        with self._writer.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries."""
        with self._read() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a write transaction: committed on success, rolled back on error."""
        with self._write() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest revision."""
        migrate(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection (and this thread's held one)."""
        held: _HeldConnection | None = getattr(self._local, "held", None)
        if held is not None and not held.in_use:
            held.connection.close()
            self._local.held = None
        self.engine.dispose()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
