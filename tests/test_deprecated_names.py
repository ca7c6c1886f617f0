"""Old public names kept one release after the vocabulary was made one word per idea:
they still work, and say what replaced them."""

from __future__ import annotations

import importlib
import sys

import pytest
from qiskit import QuantumCircuit

from openqpu import sim
from openqpu.transpile import TranspiledCircuit, transpile_for_device


def test_deprecated_compile_package_is_transpile() -> None:
    sys.modules.pop("openqpu.compile", None)
    with pytest.warns(DeprecationWarning, match="use openqpu.transpile"):
        old = importlib.import_module("openqpu.compile")
    assert old.compile_for_device is transpile_for_device
    assert old.CompiledCircuit is TranspiledCircuit


def test_deprecated_sim_compile_is_lower() -> None:
    circuit = QuantumCircuit(1)
    circuit.x(0)
    with pytest.warns(DeprecationWarning, match="use openqpu.sim.lower"):
        program = sim.compile(circuit)
    assert sim.statevector(program).tolist() == sim.statevector(sim.lower(circuit)).tolist()


def test_deprecated_client_error_names_are_the_servers_names() -> None:
    from openqpu import client

    assert client.NotFoundError is client.NotFound
    assert client.QuotaError is client.QuotaExceeded
    assert client.InvalidRequestError is client.InvalidRequest
    assert client.JobConflict is client.Conflict
    assert client.AuthenticationError is client.AuthenticationFailed
