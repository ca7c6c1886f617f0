"""What every simulation method of a noisy circuit answers: the counts, how they were
obtained, and what it would cost before running.

A method takes a circuit whose parameters are bound (for a chip: the transpiled,
scheduled native-gate circuit on compact qubits) and the engine's ``NoiseModel``
(channels after gates, relaxation on delays, readout error on measurements).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openqpu.errors import OpenQPUError

# The method names, as jobs, results and the dry run spell them.
DENSITY_MATRIX = "density_matrix"
STABILIZER = "stabilizer"
MPS = "mps"
STATEVECTOR = "statevector"
METHODS = (DENSITY_MATRIX, STABILIZER, MPS, STATEVECTOR)


class MethodUnsupported(OpenQPUError):
    """A method cannot run a circuit (exactly, or within its stated bounds)."""

    def __init__(self, method: str, reason: str) -> None:
        self.method = method
        self.reason = reason
        super().__init__(f"method '{method}' cannot run this circuit: {reason}")

    def __reduce__(self) -> tuple[type[MethodUnsupported], tuple[str, str]]:
        # Raised in a sandbox process and re-raised in the API: pickled by its fields.
        return (MethodUnsupported, (self.method, self.reason))


@dataclass(frozen=True)
class MethodRun:
    """The outcome of running a circuit's shots with one method.

    Attributes:
        counts: bitstring over all classical bits (clbit 0 rightmost) -> shots, as
            ``openqpu.sim.sample`` returns them.
        method: one of ``METHODS``.
        approximations: plain sentences, one per approximation beyond sampling
            (empty when the distribution is exact up to shot noise).
        figures: method-specific figures (e.g. ``max_bond_dimension``,
            ``truncation_fidelity``, ``twirled_channels``), JSON-serialisable.
    """

    counts: dict[str, int]
    method: str
    approximations: tuple[str, ...] = ()
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Cost:
    """A method's estimate for a circuit and a number of shots, before running it.

    Attributes:
        seconds: estimated wall time on this machine (cost model fitted by benchmark).
        memory_bytes: estimated peak memory of the method's state.
        exact: whether the run is expected to be exact up to sampling.
    """

    seconds: float
    memory_bytes: int
    exact: bool = True
