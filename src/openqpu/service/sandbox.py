"""A pool of worker processes that run untrusted work under a time and a memory limit.

Parsing, summarising and compiling a circuit a user sent can take unbounded time or
memory (deeply nested definitions, huge declarations). :class:`Sandbox` runs such a
task in a child process whose address space is capped with ``RLIMIT_AS``; a child that
runs past its time is killed and replaced, so a pathological source costs one child and
never the API process, its event loop or its memory.

Usage, from any thread (the event loop awaits :meth:`Sandbox.run_async`)::

    pool = Sandbox(processes=2, seconds=10.0, memory_bytes=1 << 30)
    summary = pool.run(summarize_source, source, "qasm2", seconds=5.0)

``function`` must be a picklable top-level function; its arguments and result are
pickled across a pipe (one round trip per task). A task that fails raises its own
exception in the caller; one that overruns raises :class:`TaskTimedOut` or
:class:`TaskOutOfMemory`, both naming the limit.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from openqpu.errors import OpenQPUError
from openqpu.service import heap

T = TypeVar("T")

# Modules a fresh child imports before its first task, so the first task is not slow.
# The estimate of a chip job (transpile, choose a method) runs here too: load it up front.
WARM_MODULES = (
    "qiskit",
    "qiskit.qasm2",
    "qiskit.qasm3",
    "openqpu.sim",
    "openqpu.transpile",
    "openqpu.service.run.estimate",
)


class SandboxLimit(OpenQPUError):
    """A sandboxed task went over a limit; ``limit`` names the setting."""

    def __init__(self, message: str, limit: str) -> None:
        self.limit = limit
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.limit))


class TaskTimedOut(SandboxLimit):
    """A task ran longer than its time limit (its child was killed)."""


class TaskOutOfMemory(SandboxLimit):
    """A task needed more memory than its limit (or its child died trying)."""


def _set_memory_limit(memory_bytes: int) -> None:
    """Cap this process's address space at its current size plus ``memory_bytes``.

    The baseline (the interpreter, Qiskit, numba's reservations) is not the task's.
    """
    import resource

    current = _vm_size()
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = current + memory_bytes if memory_bytes > 0 else resource.RLIM_INFINITY
    if hard != resource.RLIM_INFINITY and soft != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _set_cpu_limit(seconds: float) -> None:
    """Let the kernel end this child (SIGXCPU) if a task overruns and nobody kills it."""
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    budget = int(used.ru_utime + used.ru_stime + 2 * seconds + 5)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        budget = min(budget, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (budget, hard))


def _die_with_parent(parent_pid: int) -> None:
    """End this child when the API process is gone (checked twice a second).

    Not PR_SET_PDEATHSIG: it fires when the parent *thread* that started the child ends,
    and children are started from short-lived request threads.
    """
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)


def _child_main(conn: Connection, parent_pid: int, warm: tuple[str, ...]) -> None:
    """Serve tasks from ``conn`` until it closes: ``(function, args, seconds, memory_bytes)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when children stop
    threading.Thread(target=_die_with_parent, args=(parent_pid,), daemon=True).start()
    import importlib

    for name in warm:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    heap.settle()
    conn.send(("ready", None))
    limit_set = -1
    while True:
        try:
            function, args, seconds, memory_bytes = conn.recv()
        except (EOFError, OSError):
            return
        _set_cpu_limit(seconds)
        if memory_bytes != limit_set:
            _set_memory_limit(memory_bytes)
            limit_set = memory_bytes
        try:
            reply: tuple[str, Any] = ("ok", function(*args))
        except MemoryError:
            reply = ("memory", None)
        except BaseException as exc:
            reply = ("error", exc)
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable result or exception
            conn.send(("error", OpenQPUError(f"sandboxed task failed: {exc!r}")))
        if reply[0] == "memory":
            return  # the heap may be in a poor state: start afresh


class _Child:
    """One child process and the parent's end of its pipe."""

    def __init__(self, context: Any, warm: tuple[str, ...]) -> None:
        self.conn, child_end = context.Pipe()
        self.process = context.Process(
            target=_child_main, args=(child_end, os.getpid(), warm), daemon=True
        )
        self.process.start()
        child_end.close()
        self.ready = False

    def wait_ready(self) -> None:
        """Wait until the child has imported its warm modules (it says "ready")."""
        if not self.ready:
            self.conn.recv()
            self.ready = True

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(timeout=2)
        with contextlib.suppress(Exception):
            self.conn.close()


class Sandbox:
    """A pool of child processes that run tasks with a time and a memory limit each.

    Args:
        processes: how many children run tasks at once; more callers wait for one.
        seconds: default time limit per task (wall clock, counted from when a child
            takes it).
        memory_bytes: default memory a task may use on top of a fresh child's own
            (``RLIMIT_AS``); 0: no limit.
        warm: modules each child imports when it starts.
        time_setting, memory_setting: the setting names that error messages cite.
    """

    def __init__(
        self,
        processes: int = 2,
        *,
        seconds: float = 10.0,
        memory_bytes: int = 1 << 30,
        warm: tuple[str, ...] = WARM_MODULES,
        time_setting: str = "OPENQPU_SANDBOX_SECONDS",
        memory_setting: str = "OPENQPU_SANDBOX_MEMORY_MB",
    ) -> None:
        if processes < 1:
            raise ValueError(f"processes: must be at least 1, got {processes}")
        self.seconds = seconds
        self.memory_bytes = memory_bytes
        self.time_setting = time_setting
        self.memory_setting = memory_setting
        self._warm = warm
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Child | None] = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._children: set[_Child] = set()
        for _ in range(processes):
            self._idle.put(None)  # a slot: its child starts on first use

    def run(
        self,
        function: Callable[..., T],
        *args: Any,
        seconds: float | None = None,
        memory_bytes: int | None = None,
    ) -> T:
        """Run ``function(*args)`` in a child and return its result (blocks this thread).

        Raises:
            TaskTimedOut: the task ran past ``seconds`` (default: the pool's).
            TaskOutOfMemory: the task needed more than ``memory_bytes`` or its child died.
            Exception: whatever ``function`` raised, re-raised here.
        """
        limit_s = self.seconds if seconds is None else seconds
        limit_b = self.memory_bytes if memory_bytes is None else memory_bytes
        child = self._take()
        healthy = False
        try:
            try:
                child.wait_ready()
            except (EOFError, OSError):
                raise OpenQPUError("a sandbox process failed to start; retry") from None
            child.conn.send((function, args, limit_s, limit_b))
            if not child.conn.poll(limit_s):
                raise TaskTimedOut(
                    f"took longer than the limit of {limit_s:g} s ({self.time_setting})",
                    self.time_setting,
                )
            try:
                status, value = child.conn.recv()
            except (EOFError, OSError):
                raise self._out_of_memory(limit_b) from None
            if status == "memory":
                raise self._out_of_memory(limit_b)
            healthy = True
            if status == "error":
                raise value
            return value
        finally:
            self._give_back(child if healthy else None, kill=None if healthy else child)

    async def run_async(
        self,
        function: Callable[..., T],
        *args: Any,
        seconds: float | None = None,
        memory_bytes: int | None = None,
    ) -> T:
        """:meth:`run` from a thread, awaited: the event loop stays free meanwhile."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(
            lambda: self.run(function, *args, seconds=seconds, memory_bytes=memory_bytes)
        )

    def start(self) -> None:
        """Start every child now and wait until each is warm (else each starts on first use)."""
        slots = [self._idle.get() for _ in range(self._idle.qsize())]
        children = [slot if slot is not None else self._spawn() for slot in slots]
        for child in children:
            if child is not None:
                with contextlib.suppress(EOFError, OSError):
                    child.wait_ready()
            self._idle.put(child)

    def close(self) -> None:
        """Kill every child; later calls to :meth:`run` fail."""
        with self._lock:
            self._closed = True
            children = list(self._children)
            self._children.clear()
        for child in children:
            child.kill()

    def _out_of_memory(self, limit_b: int) -> TaskOutOfMemory:
        return TaskOutOfMemory(
            f"needed more than the memory limit of {limit_b / 2**20:,.0f} MB "
            f"({self.memory_setting})",
            self.memory_setting,
        )

    def _take(self) -> _Child:
        slot = self._idle.get()
        try:
            with self._lock:
                if self._closed:
                    raise OpenQPUError("the sandbox is closed (the server is stopping)")
            if slot is None or not slot.process.is_alive():
                if slot is not None:
                    self._forget(slot)
                slot = self._spawn()
            if slot is None:
                raise OpenQPUError("the sandbox is closed (the server is stopping)")
            return slot
        except BaseException:
            self._idle.put(None)
            raise

    def _give_back(self, child: _Child | None, *, kill: _Child | None) -> None:
        if kill is not None:
            self._forget(kill)
            kill.kill()
            child = self._spawn()  # the replacement warms up before anyone needs it
        self._idle.put(child)

    def _spawn(self) -> _Child | None:
        with self._lock:
            if self._closed:
                return None
            child = _Child(self._context, self._warm)
            self._children.add(child)
            return child

    def _forget(self, child: _Child) -> None:
        with self._lock:
            self._children.discard(child)
