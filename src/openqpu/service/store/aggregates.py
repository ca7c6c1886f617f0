"""Job counters that cost the same at 10 jobs and at 100 million: deltas, rollup, reads.

Every status change adds rows to ``stat_deltas`` in the transaction that makes it
(:func:`tally`): inserts only, so concurrent writers never queue on a shared counter
row and a rolled-back write takes its deltas with it. :func:`rollup` folds pending
deltas into ``job_totals``, ``owner_totals``, ``job_daily`` and ``run_buckets`` and
deletes them; workers run it every few seconds, ``openqpu maintenance`` too. Readers
add the deltas not folded yet in the same statement, so every figure is exact.

The aggregates mirror the rows of ``jobs``: deleting a user's jobs subtracts them;
archiving a job's result (retention) keeps its job row and so its counts.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from openqpu.service.store.database import Database
from openqpu.service.store.models import (
    FINAL_STATUSES,
    CountryUsers,
    JobDaily,
    JobTotal,
    OwnerTotal,
    RunBucket,
    StatDelta,
    UserGrowth,
    VisitDaily,
)

DELTAS = StatDelta.__table__
TOTALS = JobTotal.__table__
OWNER_TOTALS = OwnerTotal.__table__
DAILY = JobDaily.__table__
BUCKETS = RunBucket.__table__

# Upper bounds (seconds) of the run-time histogram's buckets; the last bucket is +Inf.
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0)
_FINAL = frozenset(status.value for status in FINAL_STATUSES)
ROLLUP_BATCH = 5_000


def bucket_of(seconds: float) -> int:
    """The index of the bucket that ``seconds`` falls in (``len(RUN_BUCKETS)``: +Inf)."""
    return bisect.bisect_left(RUN_BUCKETS, seconds)


@dataclass(frozen=True)
class Change:
    """One job entering (``n=1``) or leaving (``n=-1``) a status.

    ``day`` is the finishing day of a final status; ``run_seconds`` a done job's run time.
    """

    owner_id: int
    device: str
    status: str
    n: int = 1
    day: date | None = None
    run_seconds: float | None = None


def tally(conn: Connection, changes: Iterable[Change]) -> None:
    """Record ``changes`` as delta rows (summed per key first) in ``conn``'s transaction."""
    summed: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0])
    for c in changes:
        final = c.status in _FINAL
        day = c.day if final else None
        bucket = bucket_of(c.run_seconds) if final and c.run_seconds is not None else None
        entry = summed[(c.owner_id, c.device, c.status, day, bucket)]
        entry[0] += c.n
        entry[1] += c.n * (c.run_seconds or 0.0)
    rows = [
        {
            "owner_id": o,
            "device": d,
            "status": s,
            "day": day,
            "bucket": b,
            "n": int(n),
            "seconds": x,
        }
        for (o, d, s, day, b), (n, x) in summed.items()
        if n
    ]
    if rows:
        conn.execute(_INSERT_DELTA, rows)


_INSERT_DELTA = DELTAS.insert()


def moved(
    jobs: Iterable[tuple[int, str]],
    old: str | None,
    new: str,
    at: datetime,
    run_seconds: Sequence[float | None] | None = None,
) -> list[Change]:
    """The changes of jobs ``(owner_id, device)`` going from ``old`` (None: new) to ``new``."""
    changes: list[Change] = []
    for index, (owner_id, device) in enumerate(jobs):
        if old is not None:
            changes.append(Change(owner_id, device, old, -1))
        seconds = run_seconds[index] if run_seconds is not None else None
        changes.append(Change(owner_id, device, new, 1, at.date(), seconds))
    return changes


@cache
def adding(dialect_name: str, table: Any, keys: tuple[str, ...], values: tuple[str, ...]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` adding ``values`` to the existing row's,
    built once per dialect, table and columns."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in values},
    )


def _upsert(conn: Connection, table: Any, keys: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """Add each row's values to the row with its key (made when missing), in key order."""
    if not rows:
        return
    values = tuple(name for name in rows[0] if name not in keys)
    statement = adding(conn.dialect.name, table, tuple(keys), values)
    # A fixed order of rows: two rollups never wait on each other's counter rows in a cycle.
    conn.execute(statement, sorted(rows, key=lambda row: tuple(str(row[k]) for k in keys)))


def rollup(conn: Connection, limit: int = ROLLUP_BATCH) -> int:
    """Fold up to ``limit`` pending deltas into the totals and delete them; how many.

    Safe to run in several processes at once: on PostgreSQL each takes deltas the
    others have not locked (SKIP LOCKED); SQLite runs one writer at a time.
    """
    query = select(DELTAS).order_by(DELTAS.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query).mappings().all()
    if not rows:
        return 0
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    owners: dict[tuple[int, str, str], int] = defaultdict(int)
    daily: dict[tuple[date, str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    buckets: dict[tuple[str, int], int] = defaultdict(int)
    for row in rows:
        total = totals[(row["device"], row["status"])]
        total[0] += row["n"]
        total[1] += row["seconds"] or 0.0
        owners[(row["owner_id"], row["device"], row["status"])] += row["n"]
        if row["day"] is not None:
            day = daily[(row["day"], row["device"], row["status"])]
            day[0] += row["n"]
            day[1] += row["seconds"] or 0.0
        if row["bucket"] is not None:
            buckets[(row["device"], row["bucket"])] += row["n"]
    _upsert(conn, TOTALS, ("device", "status"), [
        {"device": d, "status": s, "n": int(n), "run_seconds": x}
        for (d, s), (n, x) in totals.items()
    ])  # fmt: skip
    _upsert(conn, OWNER_TOTALS, ("owner_id", "device", "status"), [
        {"owner_id": o, "device": d, "status": s, "n": n} for (o, d, s), n in owners.items() if n
    ])  # fmt: skip
    _upsert(conn, DAILY, ("day", "device", "status"), [
        {"day": day, "device": d, "status": s, "n": int(n), "run_seconds": x}
        for (day, d, s), (n, x) in daily.items()
    ])  # fmt: skip
    _upsert(conn, BUCKETS, ("device", "bucket"), [
        {"device": d, "bucket": b, "n": n} for (d, b), n in buckets.items() if n
    ])  # fmt: skip
    ids = [row["id"] for row in rows]
    for start in range(0, len(ids), 1000):
        conn.execute(_DELETE_DELTAS, {"ids": ids[start : start + 1000]})
    return len(rows)


_ANY_DELTA = select(DELTAS.c.id).limit(1)
_DELETE_DELTAS = delete(DELTAS).where(DELTAS.c.id.in_(bindparam("ids", expanding=True)))


def rollup_all(db: Database, batch: int = ROLLUP_BATCH) -> int:
    """Fold every pending delta, ``batch`` per transaction (short write locks); how many."""
    with db.connect() as conn:  # a read first: no write lock while there is nothing
        if conn.execute(_ANY_DELTA).first() is None:
            return 0
    folded = 0
    while True:
        with db.transaction() as conn:
            done = rollup(conn, batch)
        folded += done
        if done < batch:
            return folded


# Reads: the folded totals plus the pending deltas, in one statement (one snapshot).
_TOTALS = (
    select(
        literal(0).label("part"), TOTALS.c.device, TOTALS.c.status, TOTALS.c.n,
        TOTALS.c.run_seconds.label("seconds"),
    )
)  # fmt: skip
_PENDING = select(literal(1), DELTAS.c.device, DELTAS.c.status, DELTAS.c.n, DELTAS.c.seconds)
_ALL_TOTALS = union_all(_TOTALS, _PENDING).subquery()
_JOB_TOTALS = select(
    _ALL_TOTALS.c.device,
    _ALL_TOTALS.c.status,
    func.sum(_ALL_TOTALS.c.n),
    func.sum(_ALL_TOTALS.c.seconds),
).group_by(_ALL_TOTALS.c.device, _ALL_TOTALS.c.status)


def job_totals(conn: Connection | Session) -> dict[tuple[str, str], tuple[int, float]]:
    """Per (device, status): how many jobs, and their run seconds (done jobs only)."""
    return {
        (device, status): (int(n or 0), float(seconds or 0.0))
        for device, status, n, seconds in conn.execute(_JOB_TOTALS)
    }


_OWNER_ALL = union_all(
    select(OWNER_TOTALS.c.device, OWNER_TOTALS.c.status, OWNER_TOTALS.c.n).where(
        OWNER_TOTALS.c.owner_id == bindparam("owner_id")
    ),
    select(DELTAS.c.device, DELTAS.c.status, DELTAS.c.n).where(
        DELTAS.c.owner_id == bindparam("owner_id")
    ),
).subquery()
_OWNER_TOTALS = select(_OWNER_ALL.c.device, _OWNER_ALL.c.status, func.sum(_OWNER_ALL.c.n)).group_by(
    _OWNER_ALL.c.device, _OWNER_ALL.c.status
)


def count_jobs(
    conn: Connection, owner_id: int | None, *, status: str | None, device: str | None
) -> int:
    """How many jobs (of ``owner_id``; all when None) match the filters, from the totals."""
    if owner_id is None:
        rows: Iterable[tuple[str, str, int]] = (
            (d, s, n) for (d, s), (n, _) in job_totals(conn).items()
        )
    else:
        rows = (tuple(row) for row in conn.execute(_OWNER_TOTALS, {"owner_id": owner_id}))
    return sum(
        int(n or 0)
        for d, s, n in rows
        if (status is None or s == status) and (device is None or d == device)
    )


_DAILY_ALL = union_all(
    select(DAILY.c.day, DAILY.c.device, DAILY.c.n).where(
        DAILY.c.status == bindparam("status"), DAILY.c.day >= bindparam("since")
    ),
    select(DELTAS.c.day, DELTAS.c.device, DELTAS.c.n).where(
        DELTAS.c.status == bindparam("status"), DELTAS.c.day >= bindparam("since")
    ),
).subquery()
_DAILY = (
    select(_DAILY_ALL.c.day, func.sum(_DAILY_ALL.c.n))
    .group_by(_DAILY_ALL.c.day)
    .order_by(_DAILY_ALL.c.day)
)


def per_day(conn: Connection, status: str, since: date) -> list[tuple[date, int]]:
    """Jobs that reached ``status`` on each day from ``since`` on (days with any)."""
    rows = conn.execute(_DAILY, {"status": status, "since": since})
    return [(_as_date(day), int(n)) for day, n in rows if n]


_BUCKETS_ALL = union_all(
    select(BUCKETS.c.bucket, BUCKETS.c.n),
    select(DELTAS.c.bucket, DELTAS.c.n).where(DELTAS.c.bucket.is_not(None)),
).subquery()
_HISTOGRAM = select(_BUCKETS_ALL.c.bucket, func.sum(_BUCKETS_ALL.c.n)).group_by(
    _BUCKETS_ALL.c.bucket
)


def run_histogram(conn: Connection) -> list[int]:
    """Done jobs per run-time bucket (not cumulative; the last one is +Inf)."""
    counts = [0] * (len(RUN_BUCKETS) + 1)
    for bucket, n in conn.execute(_HISTOGRAM):
        counts[int(bucket)] += int(n or 0)
    return counts


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def by_device(totals: Mapping[tuple[str, str], tuple[int, float]], status: str) -> dict[str, int]:
    """From :func:`job_totals`: the jobs per device in ``status``."""
    return {device: n for (device, s), (n, _) in totals.items() if s == status}


# Accounts and countries over time: per-day changes, written with the account itself.
_GROWTH = UserGrowth.__table__
_COUNTRIES = CountryUsers.__table__


def _dialect_insert(conn: Connection | Session) -> Any:
    name = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def count_account(conn: Connection | Session, country: str, day: date, n: int) -> None:
    """Record an account of ``country`` made (``n=1``) or removed (``n=-1``) on ``day``."""
    insert = _dialect_insert(conn)
    upsert = insert(_COUNTRIES).values(country=country, users=n)
    upsert = upsert.on_conflict_do_update(
        index_elements=["country"], set_={"users": _COUNTRIES.c.users + n}
    ).returning(_COUNTRIES.c.users)
    users = int(conn.execute(upsert).scalar_one())
    # A country is new when its first account arrives, gone when its last one leaves.
    countries = 1 if (n > 0 and users == n) else -1 if (n < 0 and users == 0) else 0
    growth = insert(_GROWTH).values(day=day, users=n, countries=countries)
    growth = growth.on_conflict_do_update(
        index_elements=["day"],
        set_={
            "users": _GROWTH.c.users + growth.excluded.users,
            "countries": _GROWTH.c.countries + growth.excluded.countries,
        },
    )
    conn.execute(growth)


def growth(conn: Connection | Session) -> list[tuple[date, int, int]]:
    """Per day with a change: (day, accounts, countries) at the end of that day."""
    rows = conn.execute(select(_GROWTH.c.day, _GROWTH.c.users, _GROWTH.c.countries).order_by(
        _GROWTH.c.day
    ))  # fmt: skip
    users = countries = 0
    out = []
    for day, added, new_countries in rows:
        users += int(added)
        countries += int(new_countries)
        out.append((_as_date(day), users, countries))
    return out


_VISITS = VisitDaily.__table__


def count_visit(conn: Connection | Session, day: date) -> None:
    """One more distinct visitor on ``day``."""
    insert = _dialect_insert(conn)
    upsert = insert(_VISITS).values(day=day, n=1)
    conn.execute(upsert.on_conflict_do_update(index_elements=["day"], set_={"n": _VISITS.c.n + 1}))


def visits(conn: Connection | Session, since: date) -> tuple[int, list[tuple[date, int]]]:
    """All distinct visitors counted so far, and per day from ``since`` on."""
    rows = [(_as_date(d), int(n)) for d, n in conn.execute(
        select(_VISITS.c.day, _VISITS.c.n).order_by(_VISITS.c.day)
    )]  # fmt: skip
    return sum(n for _, n in rows), [(d, n) for d, n in rows if d >= since]
