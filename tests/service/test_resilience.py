"""Error mitigation and suppression of estimate jobs on chips (``options``), each
technique against exact math on small cases, and the whole on an emulated chip."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import ValidationError
from qiskit import QuantumCircuit, qasm3
from qiskit.quantum_info import Operator, Pauli, SparsePauliOp, Statevector

from openqpu.device import generate_snapshot, load_device_specs
from openqpu.service.estimator_options import EstimatorOptions
from openqpu.service.run.chip import ChipRun, run_on_chip
from openqpu.service.run.mitigated import BasisRun, MitigatedEstimate, combine
from openqpu.service.run.mitigation import (
    mitigate_readout,
    nearest_probabilities,
    subspace_quasi_probabilities,
)
from openqpu.service.run.resilience import resolve
from openqpu.service.run.scheduling import compact_durations, idle_ticks, rescheduled
from openqpu.service.run.twirling import (
    merged_single_qubit_gates,
    twirled_gates,
    twirled_measurements,
)
from openqpu.service.run.zne import extrapolate, folded
from openqpu.sim.methods import density, stabilizer
from openqpu.sim.noise import NoiseModel, ReadoutError
from openqpu.transpile import TranspiledCircuit, noise_model_for, transpile_for_device


@pytest.fixture(scope="module")
def chip() -> ChipRun:
    spec = load_device_specs()["lattice12"]
    return ChipRun(spec, generate_snapshot(spec, seed=3, taken_at=datetime(2026, 1, 1, tzinfo=UTC)))


def _unitary_part(circuit: QuantumCircuit) -> QuantumCircuit:
    out = QuantumCircuit(circuit.num_qubits)
    for item in circuit.data:
        if item.operation.name not in ("measure", "delay", "barrier"):
            out.append(item.operation, [circuit.find_bit(q).index for q in item.qubits])
    return out


def _pulses(circuit: QuantumCircuit) -> int:
    ops = circuit.count_ops()
    return ops.get("sx", 0) + ops.get("x", 0)


def _compiled(chip: ChipRun, measured: bool = True) -> TranspiledCircuit:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.4, 2)
    qc.cx(1, 2)
    qc.rz(0.3, 1)
    qc.cx(0, 1)
    if measured:
        qc.measure_all()
    return transpile_for_device(qc, chip.spec, chip.snapshot, optimization_level=1)


def test_options_unknown_or_wrongly_shaped_are_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="enable_gate\n"):
        EstimatorOptions.model_validate({"twirling": {"enable_gate": True}})
    with pytest.raises(ValidationError, match="resilience_level"):
        EstimatorOptions.model_validate({"resilience_level": 3})
    with pytest.raises(ValidationError, match="extrapolator: 'cubic'"):
        EstimatorOptions.model_validate({"resilience": {"zne": {"extrapolator": "cubic"}}})
    with pytest.raises(ValidationError, match="polynomial_degree_3 needs at least 4"):
        EstimatorOptions.model_validate(
            {"resilience": {"zne": {"extrapolator": "polynomial_degree_3"}}}
        )
    with pytest.raises(ValidationError, match="sequence_type"):
        EstimatorOptions.model_validate({"dynamical_decoupling": {"sequence_type": "XZ"}})


def test_levels_preset_techniques_and_fine_options_override() -> None:
    assert not resolve(None).active and not resolve({"resilience_level": 0}).active
    one = resolve({})  # Qiskit Runtime's default level is 1
    assert one.measure_mitigation and one.twirl_measure and not one.zne_mitigation
    two = resolve({"resilience_level": 2})
    assert two.zne_mitigation and two.twirl_gates and two.noise_factors == (1.0, 3.0, 5.0)
    assert two.extrapolators == ("exponential", "linear")  # Qiskit Runtime's
    # openqpu's default amplifier folds the one-qubit gates too (DEFAULT_AMPLIFIER says why).
    assert two.amplifier == "all_gate_folding"
    chosen = resolve({"resilience_level": 2, "resilience": {"zne": {"amplifier": "gate_folding"}}})
    assert chosen.amplifier == "gate_folding"
    custom = resolve(
        {
            "resilience_level": 2,
            "resilience": {"measure_mitigation": False, "zne": {"extrapolator": "linear"}},
            "twirling": {"num_randomizations": 4, "shots_per_randomization": 10},
        }
    )
    assert not custom.measure_mitigation and custom.extrapolators == ("linear",)
    assert custom.randomizations(1000) == [10] * 4
    assert resolve({}).randomizations(100) == [4] * 4 + [3] * 28  # "auto": 32
    assert EstimatorOptions(default_precision=0.01).shots() == 10_000


def test_folding_multiplies_cz_count_and_keeps_the_unitary(chip: ChipRun) -> None:
    compiled = _compiled(chip, measured=False)
    circuit = compiled.circuit
    count = circuit.count_ops()["cz"]
    assert count == 3
    for factor in (3.0, 5.0, 7.0):
        out, applied = folded(circuit, factor)
        assert out.count_ops()["cz"] == factor * count and applied == factor
        assert Operator(_unitary_part(out)).equiv(Operator(_unitary_part(circuit)))
    out, applied = folded(circuit, 2.0)  # 3 CZs: one or two of them folded once
    assert out.count_ops()["cz"] in (5, 7) and applied == out.count_ops()["cz"] / 3
    noisy = circuit.count_ops()["sx"] + circuit.count_ops().get("x", 0) + count
    everything, applied = folded(circuit, 3.0, amplifier="all_gate_folding")
    ops = everything.count_ops()
    assert ops["cz"] + ops["sx"] + ops.get("x", 0) == 3 * noisy and applied == 3.0
    assert Operator(_unitary_part(everything)).equiv(Operator(_unitary_part(circuit)))
    for amplifier in ("gate_folding_front", "gate_folding_back"):
        partial, _ = folded(circuit, 5 / 3, amplifier=amplifier)  # one CZ folded
        assert partial.count_ops()["cz"] == 5
        assert Operator(_unitary_part(partial)).equiv(Operator(_unitary_part(circuit)))
    durations = compact_durations(chip.spec, chip.snapshot, compiled.physical_qubits)
    assert rescheduled(circuit, durations).data == circuit.data  # the compiler's schedule
    # Folded CZs take time: the other qubits idle (and relax) longer.
    assert idle_ticks(rescheduled(folded(circuit, 3.0)[0], durations)) > idle_ticks(circuit)


def test_twirled_circuits_equal_the_original_up_to_the_recorded_frame(chip: ChipRun) -> None:
    circuit = _compiled(chip, measured=False).circuit
    rng = np.random.default_rng(1)
    saved = 0
    for _ in range(5):
        twirled, frame = twirled_gates(circuit, rng)
        assert len(frame) == 3 and twirled.count_ops()["cz"] == 3
        assert Operator(_unitary_part(twirled)).equiv(Operator(_unitary_part(circuit)))
        # The Paulis merged into the gates around the CZs: no more pulses than before.
        merged = merged_single_qubit_gates(twirled)
        assert Operator(_unitary_part(merged)).equiv(Operator(_unitary_part(circuit)))
        assert _pulses(merged) <= _pulses(twirled) and merged.count_ops()["cz"] == 3
        saved += _pulses(twirled) - _pulses(merged)
    assert saved > 0
    measured = _compiled(chip).circuit
    for _ in range(5):
        flipped, mask = twirled_measurements(measured, rng)
        # The flips are X on the qubits whose classical bits are in the mask.
        frame = ["I"] * measured.num_qubits
        for item in measured.data:
            if item.operation.name == "measure":
                if mask >> measured.find_bit(item.clbits[0]).index & 1:
                    frame[measured.find_bit(item.qubits[0]).index] = "X"
        expected = Operator(_unitary_part(measured)).compose(Pauli("".join(frame[::-1])))
        assert Operator(_unitary_part(flipped)).equiv(expected)


def test_extrapolators_fit_known_curves_exactly() -> None:
    x = [1.0, 2.0, 3.0, 5.0]
    exact = [0.0] * 4
    linear = extrapolate(x, [0.9 - 0.1 * v for v in x], exact, "linear")
    assert linear.value == pytest.approx(0.9) and linear.std == 0
    exp = extrapolate(x, [-0.8 * math.exp(-v / 2.5) for v in x], exact, "exponential")
    assert exp.value == pytest.approx(-0.8) and exp.parameters[1] == pytest.approx(2.5)
    quad = extrapolate(x, [0.7 - 0.1 * v + 0.02 * v**2 for v in x], exact, "polynomial_degree_2")
    assert quad.value == pytest.approx(0.7)
    with pytest.raises(ValueError, match="change sign"):
        extrapolate(x, [0.3, 0.1, -0.1, -0.3], exact, "exponential")
    # Standard errors propagate: a noisier point widens the intercept's error.
    tight = extrapolate([1, 3], [0.8, 0.6], [0.01, 0.01], "linear")
    assert tight.std == pytest.approx(math.hypot(1.5 * 0.01, 0.5 * 0.01))


def test_combine_takes_the_first_extrapolator_that_fits_not_the_smallest_error() -> None:
    factors = [1.0, 3.0, 5.0]
    decay = [0.9 * math.exp(-f / 4) for f in factors]  # exactly exponential
    values = [{"ZZ": v} for v in decay]
    stds = [{"ZZ": 0.01} for _ in factors]
    observable = [SparsePauliOp("ZZ")]
    linear_fit = extrapolate(factors, decay, [0.01] * 3, "linear")
    exponential_fit = extrapolate(factors, decay, [0.01] * 3, "exponential")
    assert linear_fit.std < exponential_fit.std  # the smaller error, the wrong value
    evs, errors, meta = combine(observable, factors, values, stds, ("exponential", "linear"))
    assert evs[0] == pytest.approx(0.9) and errors[0] == pytest.approx(exponential_fit.std)
    assert meta is not None and meta["extrapolator"] == ["exponential"]
    evs, _, meta = combine(observable, factors, values, stds, ("linear", "exponential"))
    assert evs[0] == pytest.approx(linear_fit.value) and meta["extrapolator"] == ["linear"]
    # A value decayed past 0 is left out of the exponential fit (its weight on the log
    # scale is about 0)...
    noisy = [{"ZZ": v} for v in (0.3, 0.05, -0.02)]
    evs, _, meta = combine(observable, factors, noisy, stds, ("exponential", "linear"))
    assert meta["extrapolator"] == ["exponential"] and evs[0] == pytest.approx(0.3 * 6**0.5)
    # ...but with one value of the first sign left it does not fit: the next one is taken.
    crossing = [{"ZZ": v} for v in (0.3, -0.05, -0.2)]
    evs, _, meta = combine(observable, factors, crossing, stds, ("exponential", "linear"))
    assert meta["extrapolator"] == ["linear"] and evs[0] == pytest.approx(0.3 + 0.05 / 3 + 0.075)


def test_trex_recovers_a_known_readout_only_error(chip: ChipRun) -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.x(0)
    circuit.measure([0, 1, 2], [0, 1, 2])
    noise = NoiseModel(
        readout={q: ReadoutError(0.04 + 0.02 * q, 0.11 - 0.03 * q) for q in range(3)}
    )
    masks = {"IIZ": 0b001, "IZI": 0b010, "ZZZ": 0b111, "ZIZ": 0b101}
    truth = {"IIZ": -1.0, "IZI": 1.0, "ZZZ": -1.0, "ZIZ": -1.0}
    durations = compact_durations(chip.spec, chip.snapshot, chip.snapshot.working_qubits()[:3])

    def run(circuit: QuantumCircuit, shots: int, seed: int) -> dict[str, int]:
        return density.run(circuit, noise, shots, seed=seed).counts

    basis = BasisRun(circuit, masks, durations, run)
    for level, should_recover in ((0, False), (1, True)):
        estimate = MitigatedEstimate(resolve({"resilience_level": level}), 20_000, seed=5)
        values, stds = estimate.basis_values(0, basis)
        for label, expected in truth.items():
            error = abs(values[0][label] - expected)
            if should_recover:
                assert stds[0][label] > 0 and error < 4 * stds[0][label], label
            else:
                assert error > 0.05, label  # the raw readout is visibly off


def test_levels_bring_an_estimate_on_the_chip_closer_to_the_exact_value(chip: ChipRun) -> None:
    qc = QuantumCircuit(2)
    qc.ry(1.1, 0)
    qc.x(1)
    qc.cx(0, 1)
    qc.rx(0.7, 1)
    qc.cx(1, 0)
    observables = [{"ZI": 1.0, "IZ": -1.0}, {"XX": 0.5, "II": 0.25}]
    state = Statevector(qc)
    exact = [
        state.expectation_value(SparsePauliOp.from_list(list(o.items()))).real for o in observables
    ]
    payload = {"kind": "estimate", "circuits": [qasm3.dumps(qc)], "shots": 100_000}
    payload["observables"] = observables
    fine = {"twirling": {"num_randomizations": 4}}
    errors = {}
    stds = {}
    for level in (0, 1, 2):
        options = {"resilience_level": level, **fine} if level else {"resilience_level": 0}
        entry = run_on_chip({**payload, "options": options}, 3, chip)["results"][0]
        errors[level] = [
            abs(v - e) for v, e in zip(entry["expectation_values"], exact, strict=True)
        ]
        if level:
            meta = entry["resilience"]
            assert meta["options"]["resilience_level"] == level
            assert all(s > 0 for s in entry["standard_errors"])
            stds[level] = entry["standard_errors"]
        if level == 2:
            zne = entry["resilience"]["zne"]
            assert zne["noise_factors"] == [1.0, 3.0, 5.0]
            assert len(zne["evs_noise_factors"][0]) == 3
            assert zne["extrapolator"][0] in ("exponential", "linear")
            # More noise, smaller |value|: the folding amplified the noise.
            first = [abs(v) for v in zne["evs_noise_factors"][0]]
            assert first[0] > first[1] > first[2]
    # <ZI - IZ> suffers the CZs' noise: TREX removes the readout part, ZNE more.
    assert errors[2][0] < errors[1][0] < errors[0][0], errors
    # <XX> suffers mostly readout errors: gone at level 1 already.
    assert errors[1][1] < 4 * stds[1][1] and errors[2][1] < 4 * stds[2][1]
    assert errors[1][1] < errors[0][1] / 4


def test_subspace_readout_correction_equals_the_tensored_inverse_where_both_apply() -> None:
    rng = np.random.default_rng(2)
    errors = [(c, 0.02 + 0.01 * c, 0.08 - 0.01 * c) for c in range(4)]
    truth = rng.dirichlet(np.ones(16))
    confusion = np.ones((1, 1))
    for _, e10, e01 in reversed(errors):  # bit 0 last in the Kronecker product
        confusion = np.kron(confusion, np.array([[1 - e10, e01], [e10, 1 - e01]]))
    read = rng.multinomial(200_000, confusion @ truth)
    counts = {format(i, "04b"): int(n) for i, n in enumerate(read) if n}
    assert len(counts) == 16
    inverse = np.linalg.solve(confusion, read / read.sum())
    quasi = subspace_quasi_probabilities(counts, errors, distance=4)
    assert [quasi[format(i, "04b")] for i in range(16)] == pytest.approx(inverse, abs=1e-12)
    assert mitigate_readout(counts, errors) == pytest.approx(
        nearest_probabilities(dict(zip(counts, inverse, strict=True))), abs=1e-12
    )


def test_readout_mitigation_of_a_sample_job_scales_past_twenty_bits() -> None:
    spec = load_device_specs()["lattice72"]
    chip = ChipRun(spec, generate_snapshot(spec, seed=1, taken_at=datetime(2026, 1, 1, tzinfo=UTC)))
    n = 30
    ghz = QuantumCircuit(n)
    ghz.h(0)
    for q in range(n - 1):
        ghz.cx(q, q + 1)
    ghz.measure_all()
    payload = {"kind": "sample", "circuits": [qasm3.dumps(ghz)], "shots": 2000}
    entry = run_on_chip({**payload, "mitigation": "readout"}, 4, chip)["results"][0]
    quasi = entry["mitigated_quasi_probabilities"]
    assert sum(quasi.values()) == pytest.approx(1.0)
    ends = ("0" * n, "1" * n)
    raw = sum(entry["counts"].get(key, 0) for key in ends) / 2000
    corrected = sum(entry["mitigated_probabilities"].get(key, 0) for key in ends)
    # The same compiled circuit and noise without readout errors, many shots.
    compiled = transpile_for_device(ghz, spec, chip.snapshot, optimization_level=1)
    noise = noise_model_for(compiled, spec, chip.snapshot)
    noise.readout = {}
    clean = stabilizer.run(compiled.circuit, noise, 20_000, seed=1).counts
    expected = sum(clean.get(key, 0) for key in ends) / 20_000
    assert raw < expected / 2  # ~5% readout error per bit hides most GHZ shots
    # The subspace method recovers most of it (it is biased low with few shots of many
    # bits: 0.127 here against 0.180, 0.159 with 20,000 shots).
    assert abs(corrected - expected) < abs(raw - expected) / 2


@pytest.mark.parametrize("sequence", ["XX", "XpXm", "XY4"])
def test_dynamical_decoupling_fills_idle_windows_and_keeps_the_unitary(
    chip: ChipRun, sequence: str
) -> None:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    for _ in range(6):  # qubit 0 waits, excited, between its two CZs
        qc.cx(1, 2)
    qc.cx(0, 1)
    compiled = transpile_for_device(qc, chip.spec, chip.snapshot, optimization_level=0)
    durations = compact_durations(chip.spec, chip.snapshot, compiled.physical_qubits)
    padded = rescheduled(compiled.circuit, durations, dd_sequence=sequence)
    pulses = padded.count_ops().get("x", 0) - compiled.circuit.count_ops().get("x", 0)
    assert pulses >= (4 if sequence == "XY4" else 2)
    assert idle_ticks(padded) < idle_ticks(compiled.circuit)
    assert Operator(_unitary_part(padded)).equiv(Operator(_unitary_part(compiled.circuit)))


def test_a_wrongly_shaped_option_is_one_line_naming_the_field() -> None:
    """A union option's members each fail on the same field: the 422 names the field
    once (no pydantic member tags such as constrained-int or literal['auto'])."""
    import asyncio
    import json

    from fastapi.exceptions import RequestValidationError

    from openqpu.service.api.errors import _validation_error
    from openqpu.service.schemas import JobCreate

    body = {"device": "lattice72", "circuits": ["x"], "observables": [{"Z": 1.0}]}
    body["options"] = {"twirling": {"num_randomizations": "many"}}
    with pytest.raises(ValidationError) as caught:
        JobCreate.model_validate(body)
    errors = [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()]
    answer = asyncio.run(_validation_error(None, RequestValidationError(errors)))  # type: ignore[arg-type]
    payload = json.loads(bytes(answer.body))
    assert answer.status_code == 422
    assert payload["field"] == "options.twirling.num_randomizations"
    assert payload["detail"].startswith("options.twirling.num_randomizations: ")
    assert payload["detail"].count("options.twirling.num_randomizations") == 1
    assert "[" not in payload["detail"].split(":")[0] and "constrained" not in payload["detail"]
