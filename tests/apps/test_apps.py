"""Each application on small sizes on the ideal simulator, against an exact classical answer.

Everything is seeded (data, the server's sampling seed, COBYLA is deterministic),
so each run is reproducible.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from openqpu.apps import biomedicine, chemistry, finance, power
from openqpu.apps.common import LocalServer
from openqpu.cli import main
from openqpu.qiskit import OpenQPUBackend


def test_finance_qaoa_finds_the_brute_force_portfolio(statevector: OpenQPUBackend) -> None:
    summary = finance.run(statevector, num_assets=6, budget=3, maxiter=15, seed=7)
    market = finance.seeded_market(6, seed=7)
    best = max(
        itertools.combinations(range(6), 3),
        key=lambda chosen: (
            market.mu[list(chosen)].sum() - 0.5 * market.sigma[np.ix_(chosen, chosen)].sum()
        ),
    )
    assert summary["optimum"]["assets"] == list(best)
    assert summary["qaoa"]["assets"] == list(best)
    assert summary["is_optimum"]
    assert summary["approximation_ratio"] == pytest.approx(1.0)
    assert 0 < summary["probability_optimum"] <= 1


def test_power_qaoa_cuts_as_few_lines_as_brute_force(statevector: OpenQPUBackend) -> None:
    summary = power.run(statevector, num_buses=8, maxiter=15, seed=7)
    lines = power.grid_lines(8)
    fewest = min(
        sum((a in area) != (b in area) for a, b in lines)
        for area in itertools.combinations(range(1, 9), 4)
    )
    assert fewest == 3
    assert summary["optimum"]["cut_lines"] == fewest
    assert summary["qaoa"]["cut_lines"] == fewest
    assert summary["is_optimum"]
    assert sorted(map(len, summary["qaoa"]["areas"])) == [4, 4]


def test_power_ieee14_has_twenty_lines() -> None:
    assert len(power.grid_lines(14)) == 20
    with pytest.raises(ValueError, match="num_buses: expected 4 to 14, got 15"):
        power.grid_lines(15)


@pytest.mark.parametrize(
    ("form", "lengths"), [("parity", (0.5, 0.75, 2.0)), ("jordan_wigner", (0.75, 2.0))]
)
def test_chemistry_vqe_within_chemical_accuracy(
    statevector: OpenQPUBackend, form: str, lengths: tuple[float, ...]
) -> None:
    summary = chemistry.run(statevector, form=form, bond_lengths=lengths, maxiter=15)
    for point in summary["points"]:
        # chemical accuracy: 1.6 mHa; the ansatz spans the ground state's sector exactly
        assert abs(point["vqe"]["none"]["error_mha"]) < 1.6, point
    assert summary["within_chemical_accuracy"] == {"none": True}
    assert summary["points"][-2]["exact"] == pytest.approx(-1.1371, abs=1e-4)  # FCI, 0.75 A


def test_biomedicine_quantum_kernel_matches_a_classical_svm(statevector: OpenQPUBackend) -> None:
    summary = biomedicine.run(
        statevector, num_features=3, num_train=40, num_test=40, shots=500, seed=7
    )
    assert summary["kernel_entries"] == 40 * 39 // 2 + 40 * 40
    assert summary["quantum_accuracy"] >= 0.85
    assert abs(summary["quantum_accuracy"] - summary["classical_accuracy"]) <= 0.1


def test_cli_app_finance_writes_the_plot_and_summary(
    local_server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["app", "finance", "--url", local_server.url, "--token", local_server.token,
            "--out", str(tmp_path), "--assets", "4", "--budget", "2", "--maxiter", "5"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["num_assets"] == 4 and summary["is_optimum"]
    assert (tmp_path / "finance.png").read_bytes().startswith(b"\x89PNG")
    captured = capsys.readouterr()
    assert "is_optimum: true" in captured.out
    assert "finance [" in captured.err  # the progress bar


def test_cli_app_needs_a_token_with_a_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENQPU_TOKEN", raising=False)
    argv = ["app", "power", "--url", "http://127.0.0.1:9", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "--token (or OPENQPU_TOKEN) is needed with --url" in capsys.readouterr().err
