"""The stabilizer method: noisy Clifford circuits, in one of two variants.

- ``exact``: one stabilizer tableau per shot (``tableau``, our numba kernels). Exact
  for the whole model where T2 <= T1 (relaxation is then a mixture of nothing, Z and a
  reset to |0>, drawn per shot), asymmetric readout error on bits that steer
  ``if_else`` and noise inside ``if_else`` bodies included; relaxation with T2 > T1
  (not such a mixture) is Pauli-twirled and the result says so.
- ``twirled``: Stim's Pauli-frame sampler, far faster per shot but unable to apply a
  random reset: thermal relaxation becomes its Pauli twirl (pessimistic: |0> gets bit
  flips it would never get), except on qubits certainly in |0>, where it is the
  identity and is dropped; the result says so.

``run`` and ``cost`` pick the exact variant when the Stim run would approximate
something (the model has relaxation, or ``if_else`` meets noise) and the tableau's
estimate is within ``EXACT_BUDGET_SECONDS`` or ``EXACT_BUDGET_FACTOR`` times Stim's;
``figures`` say which ran. Width is not the limit (a 70-qubit GHZ takes milliseconds);
only Clifford gates and Pauli-only ``if_else`` bodies run.
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit

from openqpu.sim.methods import tableau
from openqpu.sim.methods.base import STABILIZER, Cost, MethodRun, MethodUnsupported
from openqpu.sim.methods.stabilizer_circuit import StimProgram, Translator, Unsupported
from openqpu.sim.noise import NoiseModel, ThermalRelaxation
from openqpu.sim.rng import make_rng

# Variants (``variant`` of ``run`` and ``cost``; ``figures["variant"]`` of a run).
AUTO = "auto"
EXACT = "exact"
TWIRLED = "twirled"
VARIANTS = (AUTO, EXACT, TWIRLED)
# The exact variant runs when its estimate is at most the larger of these: an absolute
# allowance, and a multiple of the Stim variant's estimate. A tableau shot costs 5-20x
# a Stim shot on chip circuits (a surface code of distance 5, 10 rounds: about 2 s for
# 10,000 shots against 0.1 s), which these admit; beyond them Stim and its twirl.
EXACT_BUDGET_SECONDS = 2.0
EXACT_BUDGET_FACTOR = 20.0

# Cost model, fitted by least squares (relative error) on this machine (2 shared cores,
# stim 1.16) to runs of GHZ circuits of 10-70 qubits and rotated surface-code memory
# circuits of distance 3 and 5 with 1-10 rounds, transpiled for lattice72 and run with
# its noise, at 100-20,000 shots:
#   seconds = A + B * instructions + C * instructions * shots + D * clbits * shots
# with ``instructions`` the circuit's top-level instructions. B is the translation to
# Stim, C Stim's sampling, D turning records into counts. The fit is within a factor
# 0.4-1.5 of every measurement (GHZ-70 at 1,000 shots: 8 ms; surface code d=5, 10
# rounds at 10,000 shots: 0.2 s).
_A = 4.4e-4
_B = 4.3e-6
_C = 3.1e-10
_D = 1.5e-8


def why_not(circuit: QuantumCircuit, noise: NoiseModel | None) -> str | None:
    """Why the stabilizer method cannot run ``circuit`` with ``noise``, or None if it can.

    One pass over ``circuit.data``; the reason names the first offending instruction.

    Args:
        circuit: a circuit with bound parameters.
        noise: the engine's noise model, or None.

    Returns:
        None, or a plain reason such as ``"rz(0.3) on qubit 4 is not a multiple of pi/2"``.

    >>> qc = QuantumCircuit(1); _ = qc.rz(0.3, 0)
    >>> why_not(qc, None)
    'rz(0.3) on qubit 0 is not a multiple of pi/2'
    """
    try:
        Translator(circuit, noise, emit=False).run()
    except Unsupported as error:
        return str(error)
    return None


def cost(
    circuit: QuantumCircuit, noise: NoiseModel | None, shots: int, *, variant: str = AUTO
) -> Cost:
    """Estimated wall time and peak memory of ``run`` (of the variant it will use).

    Args:
        circuit: the circuit (not checked; see ``why_not``).
        noise: the noise model (noise channels scale with the instructions).
        shots: number of shots.
        variant: ``"auto"``, ``"exact"`` or ``"twirled"``, as for ``run``.

    Returns:
        The estimate.
    """
    plan = _plan(circuit, noise, shots, variant, lower=False)
    if plan.exact is None:
        return _stim_cost(circuit, shots)
    # Per shot its classical bits (uint8, then bool); the lowered arrays; per thread
    # chunk a tableau of 2 n^2 bits.
    program = plan.exact
    memory = (
        2 * shots * max(program.num_clbits, 1)
        + program.ops.nbytes
        + program.probs.nbytes
        + 64 * program.num_qubits * program.words * 8
    )
    return Cost(seconds=plan.exact_seconds, memory_bytes=int(memory) + 1_000_000)


def _stim_cost(circuit: QuantumCircuit, shots: int) -> Cost:
    instructions = len(circuit.data)
    measurements = circuit.count_ops().get("measure", 0)
    clbits = circuit.num_clbits
    seconds = _A + _B * instructions + _C * instructions * shots + _D * clbits * shots
    # Per shot: Stim's frames (2 bits per qubit) and record (1 bit per measurement),
    # the record as bytes, and per clbit its byte, two float32 for the readout draws and
    # the key's text. Per instruction: its Stim text and instruction.
    memory = (
        shots * (2 * circuit.num_qubits + measurements) // 8
        + shots * measurements
        + shots * clbits * 12
        + 300 * instructions
        + circuit.num_qubits**2
    )
    return Cost(seconds=seconds, memory_bytes=int(memory) + 1_000_000)


class _Plan:
    """Which variant runs: ``exact`` holds the lowered tableau program when it is the
    exact one (None: Stim), with its estimated seconds."""

    def __init__(self, exact: tableau.TableauProgram | None, exact_seconds: float) -> None:
        self.exact = exact
        self.exact_seconds = exact_seconds


def _plan(
    circuit: QuantumCircuit, noise: NoiseModel | None, shots: int, variant: str, *, lower: bool
) -> _Plan:
    """The variant for ``shots`` shots (see the module's policy).

    Raises:
        ValueError: ``variant`` is not one of ``VARIANTS``.
        Unsupported: the circuit cannot run (only when the tableau is lowered).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant: {variant!r} is not one of {', '.join(VARIANTS)}")
    if variant == TWIRLED or (variant == AUTO and not _stim_would_approximate(circuit, noise)):
        return _Plan(None, 0.0)
    try:
        program = tableau.lower(circuit, noise)
    except Unsupported:
        if lower:
            raise
        return _Plan(None, 0.0)
    seconds = tableau.cost_seconds(program, shots)
    if variant == AUTO:
        budget = max(EXACT_BUDGET_SECONDS, EXACT_BUDGET_FACTOR * _stim_cost(circuit, shots).seconds)
        if seconds > budget:
            return _Plan(None, 0.0)
    return _Plan(program, seconds)


def is_exact(circuit: QuantumCircuit, noise: NoiseModel | None, shots: int) -> bool:
    """Whether ``run`` (variant auto) gives the noisy distribution exactly, up to
    sampling: no channel twirled (the choice of method weighs approximate runs)."""
    if not _stim_would_approximate(circuit, noise):
        return True
    plan = _plan(circuit, noise, shots, AUTO, lower=False)
    return plan.exact is not None and plan.exact.twirled_channels == 0


def _stim_would_approximate(circuit: QuantumCircuit, noise: NoiseModel | None) -> bool:
    """Whether the Stim variant may approximate: the model relaxes, or noise meets
    ``if_else`` (asymmetric readout of fed-back bits, noise of body gates)."""
    if noise is None:
        return False
    if noise.relaxation or any(
        isinstance(placed.channel, ThermalRelaxation)
        for channels in noise.gate_errors.values()
        for placed in channels
    ):
        return True
    has_noise = bool(noise.readout) or bool(noise.gate_errors)
    return has_noise and "if_else" in circuit.count_ops()


def run(
    circuit: QuantumCircuit,
    noise: NoiseModel | None,
    shots: int,
    *,
    seed: int | np.random.Generator | None = None,
    variant: str = AUTO,
) -> MethodRun:
    """Sample ``shots`` shots of a noisy Clifford circuit.

    Args:
        circuit: a circuit with bound parameters, of Clifford gates, measure, reset,
            delay, barrier and single-bit ``if_else`` with Pauli bodies.
        noise: the engine's noise model, or None for an ideal run.
        shots: number of shots, at least 1.
        seed: seed or generator; the same seed gives the same counts.
        variant: ``"exact"`` (a tableau per shot), ``"twirled"`` (Stim) or ``"auto"``
            (the module's policy).

    Returns:
        Counts in ``openqpu.sim.sample``'s format, with the approximations made;
        ``figures``: ``variant`` (``"exact"`` or ``"twirled"``), ``relaxation``
        (``"none"``, ``"exact"``, ``"partly twirled"`` or ``"twirled"``) and
        ``twirled_channels``.

    Raises:
        MethodUnsupported: the circuit is not one this method runs (see ``why_not``).
        ValueError: ``shots`` is not a positive integer, or ``variant`` is unknown.

    >>> qc = QuantumCircuit(2, 2); _ = qc.h(0); _ = qc.cx(0, 1)
    >>> _ = qc.measure([0, 1], [0, 1])
    >>> sorted(run(qc, None, 100, seed=1).counts)
    ['00', '11']
    """
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise ValueError(f"shots must be a positive integer, not {shots!r}")
    try:
        plan = _plan(circuit, noise, int(shots), variant, lower=True)
        if plan.exact is None:
            program = Translator(circuit, noise, emit=True).run()
    except Unsupported as error:
        raise MethodUnsupported(STABILIZER, str(error)) from None
    rng = make_rng(seed)
    relaxes = _relaxes(noise)
    if plan.exact is not None:
        twirled = plan.exact.twirled_channels
        bits = tableau.sample(plan.exact, int(shots), int(rng.integers(2**63)))
        return MethodRun(
            counts=_counts(bits),
            method=STABILIZER,
            approximations=_exact_approximations(twirled),
            figures={
                "variant": EXACT,
                "relaxation": ("partly twirled" if twirled else "exact") if relaxes else "none",
                "twirled_channels": twirled,
            },
        )
    sampler = program.circuit.compile_sampler(seed=int(rng.integers(2**63)))
    record = sampler.sample(int(shots))
    bits = _clbits(program, record, noise, rng)
    return MethodRun(
        counts=_counts(bits),
        method=STABILIZER,
        approximations=_approximations(program),
        figures={
            "variant": TWIRLED,
            "relaxation": "twirled" if relaxes else "none",
            "twirled_channels": program.twirled_channels,
        },
    )


def _relaxes(noise: NoiseModel | None) -> bool:
    return noise is not None and _stim_would_approximate(QuantumCircuit(), noise)


def _exact_approximations(twirled: int) -> tuple[str, ...]:
    if not twirled:
        return ()
    return (
        f"thermal relaxation with T2 > T1 (not a mixture of Paulis and resets) applied as "
        f"its Pauli twirl on {twirled} channels: decay towards |0> becomes symmetric bit "
        "and phase flips",
    )


def _clbits(
    program: StimProgram,
    record: np.ndarray,
    noise: NoiseModel | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """bool, shape (shots, num_clbits): each clbit's last written measurement, misread."""
    shots = record.shape[0]
    bits = np.zeros((shots, program.num_clbits), dtype=np.bool_)
    written = np.flatnonzero(program.final_measurement >= 0)
    bits[:, written] = record[:, program.final_measurement[written]]
    if noise is None or not noise.readout:
        return bits
    p10 = np.zeros(program.num_clbits, dtype=np.float32)
    p01 = np.zeros(program.num_clbits, dtype=np.float32)
    for clbit in written:
        index = int(program.final_measurement[clbit])
        error = noise.readout.get(program.measured_qubit[index])
        if error is not None and index not in program.flipped_in_stim:
            p10[clbit], p01[clbit] = error.readout_error_0to1, error.readout_error_1to0
    if p10.any() or p01.any():
        # A bit flips when a uniform draw falls under its threshold: P(1|0) where it
        # reads 0, P(0|1) where it reads 1 (zero for bits without readout error).
        # float32 halves the memory traffic; the probabilities need no more resolution.
        draws = rng.random(bits.shape, dtype=np.float32)
        draws -= p10
        draws -= bits * (p01 - p10)
        bits ^= draws < 0
    return bits


def _counts(bits: np.ndarray) -> dict[str, int]:
    """Counts keyed as ``openqpu.sim.sample`` keys them (clbit 0 rightmost), sorted."""
    shots, width = bits.shape
    if width == 0:
        return {"": shots}
    text = np.ascontiguousarray(bits[:, ::-1], dtype=np.uint8) + np.uint8(ord("0"))
    keys, counts = np.unique(text.view(f"S{width}").ravel(), return_counts=True)
    return {key.decode(): int(count) for key, count in zip(keys, counts, strict=True)}


def _approximations(program: StimProgram) -> tuple[str, ...]:
    sentences = []
    if program.twirled_channels:
        sentences.append(
            f"thermal relaxation (T1, T2) applied as its Pauli twirl on "
            f"{program.twirled_channels} channels: decay towards |0> becomes symmetric "
            "bit and phase flips"
        )
    if program.asymmetric_feedback_readouts:
        sentences.append(
            f"readout error of the {program.asymmetric_feedback_readouts} measurements "
            "that feed if_else conditions applied as a symmetric flip with the mean of "
            "P(1|0) and P(0|1)"
        )
    if program.conditional_noisy_gates:
        sentences.append(
            f"noise after the {program.conditional_noisy_gates} gates inside if_else "
            "bodies applied whether or not their branch runs"
        )
    return tuple(sentences)
