"""The engine's public functions."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from openqpu.errors import OpenQPUError
from openqpu.sim.executor import run_shots, run_unitary
from openqpu.sim.memory import check_fits
from openqpu.sim.noise import NoiseModel
from openqpu.sim.ops import state_kernels
from openqpu.sim.presampled import applies, run_presampled
from openqpu.sim.program import ParameterValues, Program
from openqpu.sim.rng import make_rng
from openqpu.sim.threads import threads_for

_DTYPES: dict[str, np.dtype] = {
    "complex128": np.dtype(np.complex128),
    "complex64": np.dtype(np.complex64),
}


def lower(circuit: QuantumCircuit, *, noise: NoiseModel | None = None) -> Program:
    """Lower and fuse ``circuit`` once into a ``Program`` that runs many shots or
    parameter sets (compile once, run many).

    Args:
        circuit: the circuit.
        noise: channels to place after gates, on delays and on measurements; a
            noisy program runs its shots as Monte-Carlo trajectories.

    Raises:
        UnsupportedInstruction: the circuit contains an instruction the engine lacks.
    """
    return Program(circuit, noise)


def compile(circuit: QuantumCircuit, *, noise: NoiseModel | None = None) -> Program:
    """Deprecated name of :func:`lower` (one release): "compile" now means only
    transpiling for a device (``openqpu.transpile``)."""
    warnings.warn("openqpu.sim.compile is deprecated: use openqpu.sim.lower", DeprecationWarning, 2)
    return lower(circuit, noise=noise)


def _program(circuit: QuantumCircuit | Program, noise: NoiseModel | None = None) -> Program:
    if isinstance(circuit, Program):
        if noise is not None:
            raise ValueError("pass the noise model to lower(), not with a lowered Program")
        return circuit
    return Program(circuit, noise)


def _dtype(name: str | np.dtype) -> np.dtype:
    key = np.dtype(name).name
    if key not in _DTYPES:
        raise ValueError(f"dtype must be 'complex128' or 'complex64', not {name!r}")
    return _DTYPES[key]


def statevector(
    circuit: QuantumCircuit | Program,
    *,
    dtype: str = "complex128",
    parameter_values: ParameterValues = None,
) -> np.ndarray:
    """Return the final statevector of a circuit, terminal measurements ignored.

    Args:
        circuit: a ``QuantumCircuit`` or a lowered ``Program``.
        dtype: ``"complex128"`` (default) or ``"complex64"``.
        parameter_values: values of the circuit's parameters, as a mapping or in
            ``circuit.parameters`` order.

    Returns:
        A 1-D array of ``2**num_qubits`` amplitudes; bit ``q`` of an index is qubit ``q``.

    Raises:
        CircuitTooLarge: the state would not fit the memory limit.
        OpenQPUError: the circuit measures or resets mid-circuit.

    >>> from qiskit import QuantumCircuit
    >>> bell = QuantumCircuit(2); _ = bell.h(0); _ = bell.cx(0, 1)
    >>> statevector(bell).round(3).tolist()
    [(0.707+0j), 0j, 0j, (0.707+0j)]
    """
    program = _program(circuit)
    state_dtype = _dtype(dtype)
    check_fits(program.num_qubits, state_dtype)
    steps, phase = program.bind(parameter_values, state_dtype)
    state = run_unitary(steps, program.num_qubits, state_dtype)
    if phase != 1:
        state *= state_dtype.type(phase)
    return state


def sample(
    circuit: QuantumCircuit | Program,
    shots: int,
    *,
    seed: int | np.random.Generator | None = None,
    noise: NoiseModel | None = None,
    dtype: str = "complex128",
    parameter_values: ParameterValues = None,
) -> dict[str, int]:
    """Run ``shots`` shots and return counts of the classical bits.

    With only terminal measurements and no noise every shot is sampled from one
    final state; otherwise shots run as trajectories, one per distinct branch of
    outcomes (measurements and noise channels alike).

    Args:
        circuit: a ``QuantumCircuit`` or a lowered ``Program``.
        shots: number of shots, at least 1.
        seed: seed or generator; the same seed gives the same counts.
        noise: a noise model for a ``QuantumCircuit`` (a ``Program`` carries its own).
        dtype: ``"complex128"`` (default) or ``"complex64"``.
        parameter_values: values of the circuit's parameters.

    Returns:
        Counts keyed by bitstrings over all classical bits, clbit 0 rightmost.

    >>> from qiskit import QuantumCircuit
    >>> qc = QuantumCircuit(1, 1); _ = qc.x(0); _ = qc.measure(0, 0)
    >>> sample(qc, 10, seed=1)
    {'1': 10}
    """
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise ValueError(f"shots must be a positive integer, not {shots!r}")
    program = _program(circuit, noise)
    state_dtype = _dtype(dtype)
    check_fits(program.num_qubits, state_dtype)
    rng = make_rng(seed)
    if applies(program):
        packed = run_presampled(program, int(shots), rng, state_dtype, parameter_values)
    else:
        steps, _ = program.bind(parameter_values, state_dtype)
        packed = run_shots(
            steps,
            program.num_qubits,
            program.final_measures,
            int(shots),
            rng,
            state_dtype,
            program.final_readout,
        )
    width = program.num_clbits
    return {
        format(value, f"0{width}b") if width else "": count
        for value, count in sorted(packed.items())
    }


def expectation(
    circuit: QuantumCircuit | Program,
    observables: SparsePauliOp | Sequence[SparsePauliOp],
    *,
    dtype: str = "complex128",
    parameter_values: ParameterValues = None,
) -> np.ndarray:
    """Return the expectation values of Pauli observables in the circuit's final state.

    Args:
        circuit: a ``QuantumCircuit`` or lowered ``Program`` without mid-circuit
            measurement (terminal measurements are ignored).
        observables: one ``SparsePauliOp`` or a list of them, each on
            ``num_qubits`` qubits (Qiskit's order: the label's rightmost letter
            acts on qubit 0).
        dtype: ``"complex128"`` (default) or ``"complex64"``.
        parameter_values: values of the circuit's parameters.

    Returns:
        A float64 array with one value per observable.

    >>> from qiskit import QuantumCircuit
    >>> qc = QuantumCircuit(1); _ = qc.x(0)
    >>> expectation(qc, SparsePauliOp("Z")).tolist()
    [-1.0]
    """
    many = not isinstance(observables, SparsePauliOp)
    ops: list[SparsePauliOp] = list(observables) if many else [observables]
    program = _program(circuit)
    for position, op in enumerate(ops):
        if not isinstance(op, SparsePauliOp):
            raise TypeError(f"observable {position} is {type(op).__name__}, not SparsePauliOp")
        if op.num_qubits != program.num_qubits:
            raise ValueError(
                f"observable {position} acts on {op.num_qubits} qubits, "
                f"the circuit has {program.num_qubits}"
            )
    if program.is_dynamic:
        raise OpenQPUError("expectation values need a circuit without mid-circuit measurement")
    state = statevector(program, dtype=dtype, parameter_values=parameter_values)
    with threads_for(program.num_qubits):
        return np.array([_pauli_sum_expectation(state, op) for op in ops], dtype=np.float64)


def _pauli_sum_expectation(state: np.ndarray, op: SparsePauliOp) -> float:
    total = 0j
    measure = state_kernels(state)
    paulis = op.paulis
    weights = 1 << np.arange(op.num_qubits, dtype=object)
    for term in range(len(op)):
        x_bits, z_bits = paulis.x[term], paulis.z[term]
        x_mask = int(np.dot(x_bits.astype(object), weights)) if op.num_qubits else 0
        z_mask = int(np.dot(z_bits.astype(object), weights)) if op.num_qubits else 0
        num_y = int(np.count_nonzero(x_bits & z_bits))
        # A label's Y is i * X Z on that qubit; the group phase q multiplies by (-i)^q.
        factor = (1j**num_y) * ((-1j) ** int(paulis.phase[term]))
        total += op.coeffs[term] * factor * measure.pauli_expectation(state, x_mask, z_mask)
    return float(total.real)
