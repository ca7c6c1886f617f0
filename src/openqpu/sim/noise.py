"""Noise models the engine simulates with Monte-Carlo trajectories.

A ``NoiseModel`` says which channels follow each gate (by name and qubits), how
idle qubits relax during ``delay`` instructions, and how each qubit's readout
errs. It knows nothing of devices: ``openqpu.device`` builds one from a
calibration snapshot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

_TIME_UNIT_NS = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0, "ps": 1e-3}


@dataclass(frozen=True)
class Depolarizing:
    """The depolarising channel rho -> (1 - p) rho + p I / d on its qubits.

    ``probability`` is p (Qiskit-aer's ``depolarizing_error`` parameter), from 0 to
    d^2 / (d^2 - 1). Use ``from_error`` to get it from an average gate error.
    """

    probability: float
    num_qubits: int = 1

    def __post_init__(self) -> None:
        if self.num_qubits < 1:
            raise ValueError(f"num_qubits: must be at least 1, got {self.num_qubits}")
        dim2 = 4**self.num_qubits
        if not 0.0 <= self.probability <= dim2 / (dim2 - 1):
            raise ValueError(f"probability: {self.probability} is outside [0, {dim2}/{dim2 - 1}]")

    @classmethod
    def from_error(cls, gate_error: float, num_qubits: int) -> Depolarizing:
        """The channel whose average gate infidelity is ``gate_error`` (1 - fidelity)."""
        dim = 2**num_qubits
        return cls(gate_error * dim / (dim - 1), num_qubits)

    def pauli_probabilities(self) -> np.ndarray:
        """Probability of each Pauli (index digit j in base 4 is qubit j: I, X, Y, Z)."""
        count = 4**self.num_qubits
        probs = np.full(count, self.probability / count)
        probs[0] += 1.0 - self.probability
        return probs


@dataclass(frozen=True)
class ThermalRelaxation:
    """Amplitude and phase damping of one qubit for ``duration_ns``, at zero temperature.

    Populations decay as exp(-t / T1) and coherences as exp(-t / T2); needs
    T2 <= 2 T1.
    """

    t1_us: float
    t2_us: float
    duration_ns: float

    def __post_init__(self) -> None:
        if not self.t1_us > 0:
            raise ValueError(f"t1_us: must be positive, got {self.t1_us}")
        if not 0 < self.t2_us <= 2 * self.t1_us * (1 + 1e-12):
            raise ValueError(f"t2_us: must be in (0, 2 * t1_us], got {self.t2_us}")
        if self.duration_ns < 0:
            raise ValueError(f"duration_ns: must not be negative, got {self.duration_ns}")

    @property
    def damping(self) -> float:
        """Probability that an excited qubit decays: 1 - exp(-t / T1)."""
        return -math.expm1(-self.duration_ns / (1e3 * self.t1_us))

    @property
    def dephasing(self) -> float:
        """Probability of the extra Z flip that makes coherences decay as exp(-t / T2)."""
        # Damping alone shrinks coherences by exp(-t / 2T1); a Z flip with
        # probability p shrinks them by (1 - 2p) more.
        rate = 1.0 / self.t2_us - 0.5 / self.t1_us
        return max(0.0, -math.expm1(-self.duration_ns * rate / 1e3) / 2)

    @property
    def coherence(self) -> float:
        """Factor on the coherences: exp(-t / T2)."""
        return math.exp(-self.duration_ns / (1e3 * self.t2_us))

    def mixture(self) -> tuple[float, float] | None:
        """``(p_reset, p_z)`` when T2 <= T1, else None.

        Then the channel is a state-independent mixture (qiskit-aer's form): reset
        to |0> with ``p_reset``, Z with ``p_z``, nothing otherwise.
        """
        if self.t2_us > self.t1_us:
            return None
        reset = self.damping
        decay_t1 = math.exp(-self.duration_ns / (1e3 * self.t1_us))
        return reset, max(0.0, (1 - reset) * (1 - self.coherence / decay_t1) / 2)

    def rare_damping(self) -> tuple[float, float]:
        """``(q, gamma)`` with the channel = (1 - q) nothing + q amplitude damping ``gamma``.

        Exact for T1 <= T2 <= 2 T1: amplitude damping with gamma = damping / q shrinks
        coherences by sqrt(1 - gamma), so mixing it with the identity gives any
        factor between 1 - damping (q = damping) and sqrt(1 - damping) (q = 1); q is
        the one that gives exp(-t / T2). It is of the order of the damping, so the
        state-dependent part is rare.
        """
        damping, target = self.damping, self.coherence
        if damping <= 0.0:
            return 0.0, 0.0
        low, high = damping, 1.0
        for _ in range(100):
            q = 0.5 * (low + high)
            # Coherence factor of the mixture, increasing in q.
            if 1 - q + math.sqrt(q * q - q * damping) < target:
                low = q
            else:
                high = q
        q = 0.5 * (low + high)
        return q, min(1.0, damping / q)

    @classmethod
    def amplitude_damping(cls, gamma: float) -> ThermalRelaxation:
        """Pure amplitude damping with decay probability ``gamma`` (T2 = 2 T1, no extra Z)."""
        # T1 = 1 us; the duration that decays by gamma (capped short of infinity).
        duration_ns = -1e3 * math.log1p(-min(gamma, 1.0 - 1e-15))
        return cls(1.0, 2.0, duration_ns)


@dataclass(frozen=True)
class ReadoutError:
    """Classical confusion of one qubit's measurement result."""

    readout_error_0to1: float
    readout_error_1to0: float

    def __post_init__(self) -> None:
        for name in ("readout_error_0to1", "readout_error_1to0"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: must be in [0, 1], got {value}")


Channel = Depolarizing | ThermalRelaxation


@dataclass(frozen=True)
class Placed:
    """A channel acting on ``qubits`` (circuit qubit indices)."""

    channel: Channel
    qubits: tuple[int, ...]

    def __post_init__(self) -> None:
        wanted = self.channel.num_qubits if isinstance(self.channel, Depolarizing) else 1
        if len(self.qubits) != wanted:
            raise ValueError(f"qubits: {self.channel} acts on {wanted} qubits, got {self.qubits}")


@dataclass
class NoiseModel:
    """Where noise enters a circuit.

    Attributes:
        gate_errors: ``(gate name, qubits)`` -> channels applied, in order, right
            after that gate on exactly those qubits (qubit order as in the circuit).
        relaxation: qubit -> ``(t1_us, t2_us)``; a ``delay`` on the qubit becomes
            ``ThermalRelaxation`` for its duration.
        readout: qubit -> its ``ReadoutError``, applied to every measurement of it.
        dt_ns: length of one ``dt`` (for delays given in ``dt``), or None.
    """

    gate_errors: dict[tuple[str, tuple[int, ...]], tuple[Placed, ...]] = field(default_factory=dict)
    relaxation: dict[int, tuple[float, float]] = field(default_factory=dict)
    readout: dict[int, ReadoutError] = field(default_factory=dict)
    dt_ns: float | None = None

    def after_gate(self, name: str, qubits: tuple[int, ...]) -> tuple[Placed, ...]:
        """The channels that follow gate ``name`` on ``qubits``."""
        return self.gate_errors.get((name, qubits), ())

    def idle(self, qubit: int, duration: float, unit: str) -> Placed | None:
        """Relaxation of ``qubit`` during a delay, or None when it does not relax."""
        times = self.relaxation.get(qubit)
        if times is None or duration <= 0:
            return None
        return Placed(ThermalRelaxation(*times, self.duration_ns(duration, unit)), (qubit,))

    def duration_ns(self, duration: float, unit: str) -> float:
        """A delay's duration in nanoseconds."""
        if unit == "dt":
            if self.dt_ns is None:
                raise ValueError("a delay is given in dt but the noise model has no dt_ns")
            return float(duration) * self.dt_ns
        if unit not in _TIME_UNIT_NS:
            raise ValueError(f"unknown delay unit {unit!r}")
        return float(duration) * _TIME_UNIT_NS[unit]
