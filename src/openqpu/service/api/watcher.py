"""Long polls: requests that wait for jobs to finish, woken by one shared query per tick."""

from __future__ import annotations

import asyncio
import logging

from openqpu.service.store import jobs
from openqpu.service.store.database import Database

log = logging.getLogger("openqpu.watcher")

CHUNK = 500  # job ids per query


class JobWatcher:
    """Wakes the requests waiting for jobs to finish.

    While anyone waits, one query every ``interval`` seconds asks which of the awaited
    jobs are finished, however many requests wait: the cost does not grow with waiters.
    Workers may run in other processes or on other machines, so the database is the
    one place that knows.
    """

    def __init__(self, db: Database, interval: float = 0.015) -> None:
        self.db = db
        self.interval = interval
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def wait(self, job_id: str, timeout: float) -> None:
        """Return when job ``job_id`` is finished or after ``timeout`` seconds."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(job_id, []).append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            pass
        finally:
            waiting = self._waiters.get(job_id)
            if waiting is not None and future in waiting:
                waiting.remove(future)
                if not waiting:
                    del self._waiters[job_id]

    async def _poll(self) -> None:
        while self._waiters:
            await asyncio.sleep(self.interval)
            awaited = list(self._waiters)
            finished: dict[str, str] = {}
            try:
                with self.db.connect() as conn:
                    for start in range(0, len(awaited), CHUNK):
                        finished.update(jobs.final_statuses(conn, awaited[start : start + CHUNK]))
            except Exception:  # the database is restarting, say: the waiters keep waiting
                log.exception("checking awaited jobs failed")
                continue
            for job_id in finished:
                for future in self._waiters.pop(job_id, []):
                    if not future.done():
                        future.set_result(None)
