"""The engine's noise model for a circuit placed on some of a chip's qubits."""

from __future__ import annotations

from collections.abc import Sequence

from openqpu.device.calibration import CalibrationSnapshot
from openqpu.sim.noise import Depolarizing, NoiseModel, Placed, ReadoutError, ThermalRelaxation

_ONE_QUBIT_GATES = ("sx", "x")


def build_noise_model(
    snapshot: CalibrationSnapshot,
    physical_qubits: Sequence[int],
    *,
    dt_ns: float | None = None,
) -> NoiseModel:
    """Noise of a compacted circuit whose qubit ``i`` is chip qubit ``physical_qubits[i]``.

    After ``sx`` or ``x`` on qubit ``i``: depolarising with the qubit's 1q gate
    error, then thermal relaxation for the gate's duration. After ``cz`` on
    ``(i, j)`` (both orders are keys): two-qubit depolarising with the coupler's
    error, then relaxation of each qubit for the CZ duration. ``rz`` is virtual and
    noiseless. Delays relax with the qubit's T1 and T2, and every measurement
    suffers the qubit's readout error. Keys use compact indices.

    Args:
        snapshot: the calibration in force.
        physical_qubits: chip qubit of each compact qubit, all working.
        dt_ns: the device's ``dt``, for delays given in ``dt``.

    Returns:
        The model, with entries only for working qubits and couplers.

    Raises:
        ValueError: a listed qubit is disabled or not on the chip.
    """
    working = set(snapshot.working_qubits())
    bad = [q for q in physical_qubits if q not in working]
    if bad:
        raise ValueError(f"physical_qubits: {bad} are disabled or not on {snapshot.device}")
    compact = {chip: i for i, chip in enumerate(physical_qubits)}
    model = NoiseModel(dt_ns=dt_ns)

    def relax(chip: int, duration_ns: float) -> Placed:
        return Placed(
            ThermalRelaxation(snapshot.t1_us[chip], snapshot.t2_us[chip], duration_ns),
            (compact[chip],),
        )

    for i, chip in enumerate(physical_qubits):
        error = Placed(Depolarizing.from_error(snapshot.gate_error_1q[chip], 1), (i,))
        channels = (error, relax(chip, snapshot.gate_duration_1q_ns[chip]))
        for name in _ONE_QUBIT_GATES:
            model.gate_errors[(name, (i,))] = channels
        model.relaxation[i] = (snapshot.t1_us[chip], snapshot.t2_us[chip])
        model.readout[i] = ReadoutError(
            snapshot.readout_error_0to1[chip], snapshot.readout_error_1to0[chip]
        )
    for k in snapshot.working_couplers():
        a, b = snapshot.couplers[k]
        if a not in compact or b not in compact:
            continue
        duration = snapshot.cz_duration_ns[k]
        for first, second in ((a, b), (b, a)):
            pair = (compact[first], compact[second])
            model.gate_errors[("cz", pair)] = (
                Placed(Depolarizing.from_error(snapshot.cz_error[k], 2), pair),
                relax(first, duration),
                relax(second, duration),
            )
    return model
