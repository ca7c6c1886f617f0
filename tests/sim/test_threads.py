"""Thread count: OPENQPU_NUM_THREADS for large states, one thread for small ones."""

from __future__ import annotations

import numba
import pytest

from openqpu.sim.threads import SERIAL_BELOW_QUBITS, configured_threads, threads_for


def test_threads_default_is_all_of_numbas_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENQPU_NUM_THREADS", raising=False)
    assert configured_threads() == numba.config.NUMBA_NUM_THREADS


def test_threads_environment_variable_is_honoured_and_capped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENQPU_NUM_THREADS", "1")
    assert configured_threads() == 1
    monkeypatch.setenv("OPENQPU_NUM_THREADS", "100000")
    assert configured_threads() == numba.config.NUMBA_NUM_THREADS


def test_threads_for_large_states_uses_the_pool_and_restores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENQPU_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(1)
    before = numba.get_num_threads()
    with threads_for(SERIAL_BELOW_QUBITS - 1):
        assert numba.get_num_threads() == before  # small states run serially, pool untouched
    with threads_for(SERIAL_BELOW_QUBITS + 4):
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
    assert numba.get_num_threads() == before
