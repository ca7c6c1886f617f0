"""A circuit transpiled for a chip, ready to simulate with the chip's noise."""

from __future__ import annotations

from dataclasses import dataclass

from qiskit import QuantumCircuit

from openqpu.device.calibration import CalibrationSnapshot
from openqpu.device.noise_model import build_noise_model
from openqpu.device.spec import DeviceSpec
from openqpu.sim.noise import NoiseModel


@dataclass(frozen=True)
class TranspiledCircuit:
    """The result of ``transpile_for_device``.

    Attributes:
        circuit: the scheduled native-gate circuit (``rz``, ``sx``, ``x``, ``cz``,
            ``measure``, ``reset``, ``delay`` in ``dt``, ``barrier``) compacted to
            the qubits it uses: its qubit ``i`` is chip qubit ``physical_qubits[i]``.
            Its classical bits are the user's, so counts keys are unchanged.
        physical_qubits: chip qubit of each compact qubit, ascending.
        initial_layout: chip qubit that holds virtual qubit ``i`` of the user's
            circuit at the start (routing may move it later).
        num_two_qubit_gates: number of ``cz`` gates.
        depth: depth of the compact circuit, delays and barriers not counted.
        duration_ns: length of the schedule; None for circuits with control
            flow, which Qiskit does not schedule.
        calibration_id: id of the calibration it was transpiled against.
        estimated_success_probability: product over gates of (1 - gate error)
            and over measurements of (1 - mean readout error); idle decay during
            delays is not included.
        qasm3: OpenQASM 3 of the scheduled circuit on chip qubits (``$n``), without
            the delays that pad unused qubits.
    """

    circuit: QuantumCircuit
    physical_qubits: tuple[int, ...]
    initial_layout: tuple[int, ...]
    num_two_qubit_gates: int
    depth: int
    duration_ns: float | None
    calibration_id: str
    estimated_success_probability: float
    qasm3: str

    @property
    def num_qubits(self) -> int:
        """Number of qubits of the compact circuit."""
        return len(self.physical_qubits)


def noise_model_for(
    transpiled: TranspiledCircuit, spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> NoiseModel:
    """The engine's noise model for ``transpiled.circuit``, keyed by its compact qubits.

    See ``openqpu.device.build_noise_model`` for the channels.

    Raises:
        ValueError: ``snapshot`` is not the one the circuit was transpiled against.
    """
    if snapshot.id != transpiled.calibration_id:
        raise ValueError(
            f"snapshot: {snapshot.id} is not {transpiled.calibration_id}, which the circuit "
            "was transpiled against"
        )
    return build_noise_model(snapshot, transpiled.physical_qubits, dt_ns=spec.dt_ns)
