"""The units of a job (circuits, shot chunks) through the in-process executor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openqpu import sim
from openqpu.device import generate_snapshot, load_device_specs
from openqpu.service.circuits import decode_circuit
from openqpu.service.run.chip import ChipRun, run_on_chip
from openqpu.service.run.fanout import LocalFanout, chunk_seed, shot_chunks
from openqpu.service.run.runner import circuit_seed, run_payload
from tests.service.conftest import BELL, GHZ3, without_timings


def _chip() -> ChipRun:
    spec = load_device_specs()["lattice12"]
    return ChipRun(spec, generate_snapshot(spec, seed=3, taken_at=datetime(2026, 1, 1, tzinfo=UTC)))


def test_fanout_each_circuit_runs_with_its_own_seed() -> None:
    payload = {"kind": "sample", "circuits": [BELL, GHZ3, BELL], "shots": 300}
    result = run_payload(payload, 11, LocalFanout())
    assert "fanout" not in result  # only fanned-out results say where they ran
    for index, entry in enumerate(result["results"]):
        circuit = decode_circuit(payload["circuits"][index], "auto", "c")
        expected = sim.sample(circuit, 300, seed=circuit_seed(11, index))
        assert entry["counts"] == expected
    assert result["results"][0]["counts"] != result["results"][2]["counts"]


def test_fanout_shot_chunks_cover_the_shots_with_distinct_seeds() -> None:
    assert shot_chunks(1000, 300) == [300, 300, 300, 100]
    assert shot_chunks(1000, 1000) == [1000] and shot_chunks(1000, None) == [1000]
    seeds = [chunk_seed(5, chunk) for chunk in range(50)]
    assert seeds[0] == 5 and len(set(seeds)) == 50
    assert all(0 <= s < 1 << 63 for s in seeds)


def test_fanout_chip_shots_split_into_chunks_add_up_deterministically() -> None:
    chip = _chip()
    payload = {
        "kind": "sample",
        "circuits": [BELL, GHZ3],
        "shots": 1000,
        "mitigation": "readout",
    }
    whole = run_on_chip(payload, 9, chip, LocalFanout())
    # A chunk as large as the job is the job: the same counts as no chunking.
    same = run_on_chip(payload, 9, chip, LocalFanout(chunk_shots=1000))
    assert without_timings(same) == without_timings(whole)
    chunked = run_on_chip(payload, 9, chip, LocalFanout(chunk_shots=300))
    assert without_timings(chunked) == without_timings(
        run_on_chip(payload, 9, chip, LocalFanout(chunk_shots=300))
    )
    for split, full in zip(chunked["results"], whole["results"], strict=True):
        assert sum(split["counts"].values()) == split["shots"] == 1000
        assert split["counts"] != full["counts"]  # other trajectories, same statistics
        assert split.keys() == full.keys()
        assert split["mitigated_probabilities"] and split["compiled"] == full["compiled"]
    bell = chunked["results"][0]["counts"]
    assert (bell.get("00", 0) + bell.get("11", 0)) / 1000 > 0.75


def test_fanout_settings_validate_the_chunk_size() -> None:
    from openqpu.service.settings import Settings

    with pytest.raises(ValueError, match="ray_chunk_shots: must be at least 1"):
        Settings(ray_chunk_shots=0)
