"""Calibration of the emulated chips over time: snapshots in force, history, maintenance.

Each chip's calendar starts at its first snapshot (epoch 0, the anchor). Every
recalibration period a maintenance window opens; while it lasts the chip's queue
waits, and when it closes snapshot k, drifted from snapshot k - 1, comes into
force. Snapshots are made when first needed and stored as history. They are
deterministic (seeded by device and epoch), so any process — API or worker, on
any machine — computes and stores the same one: whoever inserts first wins.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from openqpu.device import CalibrationSnapshot, Device, DeviceSpec, drifted, generate_snapshot
from openqpu.device.target import largest_working_block
from openqpu.service.clock import aware, utcnow
from openqpu.service.lru import LruCache
from openqpu.service.settings import Settings
from openqpu.service.store.database import Database
from openqpu.service.store.models import Calibration

CALIBRATIONS = Calibration.__table__
_EPOCH = select(CALIBRATIONS.c.data).where(
    CALIBRATIONS.c.device == bindparam("device"), CALIBRATIONS.c.epoch == bindparam("epoch")
)
_LATEST_STORED = select(func.max(CALIBRATIONS.c.epoch)).where(
    CALIBRATIONS.c.device == bindparam("device"), CALIBRATIONS.c.epoch <= bindparam("epoch")
)
_HISTORY = (
    select(CALIBRATIONS.c.data)
    .where(CALIBRATIONS.c.device == bindparam("device"), CALIBRATIONS.c.epoch <= bindparam("epoch"))
    .order_by(CALIBRATIONS.c.epoch.desc())
    .limit(bindparam("limit"))
)
_INSERT = insert(CALIBRATIONS)


class NoCalibration(LookupError):
    """No snapshot was in force at the time asked about."""


@dataclass(frozen=True)
class Schedule:
    """When a chip recalibrates: every ``period`` from ``anchor``, for ``maintenance``."""

    anchor: datetime
    period: timedelta
    maintenance: timedelta

    def epoch_in_force(self, at: datetime) -> int:
        """The snapshot in force at ``at`` (-1 before the first); old one during maintenance."""
        if at < self.anchor:
            return -1
        k = math.floor((at - self.anchor) / self.period)
        return k - 1 if k >= 1 and at < self.window_start(k) + self.maintenance else k

    def window_start(self, epoch: int) -> datetime:
        """When the maintenance before snapshot ``epoch`` (>= 1) begins."""
        return self.anchor + epoch * self.period

    def taken_at(self, epoch: int) -> datetime:
        """When snapshot ``epoch`` comes into force."""
        return self.anchor if epoch == 0 else self.window_start(epoch) + self.maintenance

    def maintenance_until(self, at: datetime) -> datetime | None:
        """The end of the maintenance going on at ``at``, or None when the chip is up."""
        if at < self.anchor:
            return None
        k = math.floor((at - self.anchor) / self.period)
        end = self.window_start(k) + self.maintenance
        return end if k >= 1 and at < end else None

    def next_window(self, at: datetime) -> tuple[datetime, datetime]:
        """The next maintenance window that has not ended by ``at``."""
        k = max(1, math.floor((at - self.anchor) / self.period))
        if self.window_start(k) + self.maintenance <= at:
            k += 1
        return self.window_start(k), self.window_start(k) + self.maintenance


def calibrations_for(
    db: Database, devices: Mapping[str, Device], settings: Settings
) -> Calibrations:
    """The calendar of the chips among ``devices``, with the settings' overrides."""
    # A device is a chip when it has a spec (Device.is_chip); this test also narrows it.
    specs = {name: d.spec for name, d in devices.items() if d.spec is not None}
    return Calibrations(
        db,
        specs,
        period_s=settings.calibration_period_s or None,
        maintenance_s=settings.maintenance_s if settings.maintenance_s >= 0 else None,
    )


def _seed(device: str, epoch: int) -> int:
    return zlib.crc32(f"{device}:{epoch}".encode())


class Calibrations:
    """Snapshots, schedules and maintenance state of every chip a server hosts.

    Args:
        db: the service database (snapshots are stored there).
        specs: the chips, by name.
        period_s: recalibration period overriding every chip's file (None: the file's).
        maintenance_s: maintenance length overriding the files (None: the file's).
    """

    def __init__(
        self,
        db: Database,
        specs: Mapping[str, DeviceSpec],
        *,
        period_s: float | None = None,
        maintenance_s: float | None = None,
    ) -> None:
        self.db = db
        self.specs = dict(specs)
        self._period_s = period_s
        self._maintenance_s = maintenance_s
        self._schedules: dict[str, Schedule] = {}
        self._snapshots: LruCache[tuple[str, int], CalibrationSnapshot] = LruCache(256)
        self._blocks: LruCache[str, int] = LruCache(256)

    def schedule(self, device: str) -> Schedule:
        """The chip's calendar; its first snapshot is made now if it has none."""
        schedule = self._schedules.get(device)
        if schedule is None:
            spec = self.specs[device]
            anchor = self._anchor(spec)
            period_s = self._period_s or spec.drift.recalibration_period_h * 3600
            maintenance_s = self._maintenance_s
            if maintenance_s is None:
                maintenance_s = spec.drift.maintenance_min * 60
            schedule = Schedule(
                anchor, timedelta(seconds=period_s), timedelta(seconds=min(maintenance_s, period_s))
            )
            self._schedules[device] = schedule
        return schedule

    def in_force(self, device: str, at: datetime | None = None) -> CalibrationSnapshot:
        """The snapshot in force at ``at`` (default now).

        Raises:
            NoCalibration: ``at`` is before the chip's first calibration.
        """
        at = aware(at) if at is not None else utcnow()
        epoch = self.schedule(device).epoch_in_force(at)
        if epoch < 0:
            first = self.schedule(device).anchor.isoformat()
            raise NoCalibration(f"{device} was first calibrated at {first}")
        return self._snapshot(device, epoch)

    def history(self, device: str, limit: int) -> list[CalibrationSnapshot]:
        """The last ``limit`` snapshots that came into force, newest first."""
        current = self.in_force(device)  # makes any snapshot that is due
        epoch = self.schedule(device).epoch_in_force(current.taken_at)
        with self.db.connect() as conn:
            rows = conn.execute(_HISTORY, {"device": device, "epoch": epoch, "limit": limit})
            return [CalibrationSnapshot.from_dict(orjson.loads(row[0])) for row in rows]

    def maintenance_until(self, device: str, at: datetime | None = None) -> datetime | None:
        """When the maintenance going on ends, or None when the chip is up."""
        return self.schedule(device).maintenance_until(at or utcnow())

    def in_maintenance(self, at: datetime | None = None) -> list[str]:
        """The chips in maintenance now: their queues wait."""
        at = at or utcnow()
        return [name for name in self.specs if self.maintenance_until(name, at) is not None]

    def largest_block(self, device: str) -> int:
        """Qubits of the largest connected block of working qubits now."""
        snapshot = self.in_force(device)
        return self._blocks.get_or_make(
            snapshot.id, lambda: len(largest_working_block(self.specs[device], snapshot))
        )

    def _anchor(self, spec: DeviceSpec) -> datetime:
        with self.db.connect() as conn:
            row = conn.execute(_EPOCH, {"device": spec.name, "epoch": 0}).first()
        if row is None:
            now = utcnow().replace(microsecond=0)
            self._store(
                spec.name, 0, generate_snapshot(spec, seed=_seed(spec.name, 0), taken_at=now)
            )
            with self.db.connect() as conn:
                row = conn.execute(_EPOCH, {"device": spec.name, "epoch": 0}).one()
        first = CalibrationSnapshot.from_dict(orjson.loads(row[0]))
        self._snapshots.put((spec.name, 0), first)
        return first.taken_at.astimezone(UTC)

    def _snapshot(self, device: str, epoch: int) -> CalibrationSnapshot:
        cached = self._snapshots.get((device, epoch))
        if cached is not None:
            return cached
        with self.db.connect() as conn:
            stored = conn.execute(_LATEST_STORED, {"device": device, "epoch": epoch}).scalar()
            assert stored is not None  # epoch 0 is stored before any snapshot is asked for
            row = conn.execute(_EPOCH, {"device": device, "epoch": stored}).one()
        snapshot = CalibrationSnapshot.from_dict(orjson.loads(row[0]))
        schedule, spec = self.schedule(device), self.specs[device]
        # Snapshots nobody needed yet are made now, each drifted from the one before.
        for k in range(stored + 1, epoch + 1):
            snapshot = drifted(
                snapshot,
                spec,
                hours=schedule.period.total_seconds() / 3600,
                seed=_seed(device, k),
                taken_at=schedule.taken_at(k),
            )
            self._store(device, k, snapshot)
        self._snapshots.put((device, epoch), snapshot)
        return snapshot

    def _store(self, device: str, epoch: int, snapshot: CalibrationSnapshot) -> None:
        values = {
            "id": snapshot.id,
            "device": device,
            "epoch": epoch,
            "taken_at": snapshot.taken_at,
            "data": orjson.dumps(snapshot.to_dict()).decode(),
        }
        try:
            with self.db.transaction() as conn:
                conn.execute(_INSERT, values)
        except IntegrityError:
            pass  # another process stored the same snapshot first
