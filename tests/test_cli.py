"""The ``openqpu run`` command: counts table, JSON output and user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openqpu.cli import main

BELL = Path(__file__).parents[1] / "examples" / "bell.qasm"


def test_cli_run_prints_counts_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(BELL), "--shots", "200", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["outcome", "count", "probability"]
    assert "200 shots, 2 qubits" in out
    rows = {line.split()[0] for line in out.splitlines()[1:3]}
    assert rows == {"00", "11"}


def test_cli_run_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(BELL), "--shots", "100", "--seed", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"counts", "shots", "num_qubits", "seconds"}
    assert summary["shots"] == 100 and summary["num_qubits"] == 2
    assert sum(summary["counts"].values()) == 100
    assert set(summary["counts"]) <= {"00", "11"}


def test_cli_run_openqasm3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "x.qasm"
    source.write_text(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nbit[1] c;\nx q[0];\n'
        "c[0] = measure q[0];\n"
    )
    assert main(["run", str(source), "--shots", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"1": 5}


def test_cli_run_reads_a_headerless_qasm2_file_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bell.qasm"
    source.write_text(BELL.read_text().replace("OPENQASM 2.0;", ""))
    assert main(["run", str(source), "--shots", "50", "--json"]) == 0
    captured = capsys.readouterr()
    assert set(json.loads(captured.out)["counts"]) <= {"00", "11"}
    assert captured.err == (
        f"openqpu: warning: {source}: no 'OPENQASM 2.0;' header: read as OpenQASM 2 "
        'because it includes "qelib1.inc"\n'
    )


def test_cli_run_syntax_error_is_file_line_col(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.qasm"
    source.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0],q[1];\n')
    assert main(["run", str(source)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{source}:5:1: ")
    assert "Traceback" not in err


def test_cli_run_missing_file_is_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "/nonexistent/file.qasm"]) == 2
    assert "cannot read /nonexistent/file.qasm" in capsys.readouterr().err


def test_cli_run_too_large_is_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENQPU_MEMORY_LIMIT", "1000")
    source = tmp_path / "wide.qasm"
    source.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[10];\nh q[0];\n')
    assert main(["run", str(source)]) == 1
    assert "over the memory limit" in capsys.readouterr().err


def test_cli_bad_shots_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["run", str(BELL), "--shots", "0"])
    assert caught.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err


def test_cli_entry_point_runs_as_a_process() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openqpu.cli", "run", str(BELL), "--shots", "10", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["shots"] == 10


ORIGINIR_DATA = Path(__file__).parent / "data" / "originir"


def test_cli_run_originir_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ORIGINIR_DATA / "bell.ir"), "--shots", "100", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 100
    assert main(["run", str(ORIGINIR_DATA / "features.ir"), "--shots", "20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"110": 20}


def test_cli_run_detects_originir_by_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "circuit.txt"
    source.write_text("QINIT 1\nCREG 1\nX q[0]\nMEASURE q[0],c[0]\n")
    assert main(["run", str(source), "--shots", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"1": 5}


def test_cli_run_originir_syntax_error_is_file_line_col(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.ir"
    source.write_text("QINIT 2\nCREG 2\nH q[0]\nQIF c[0]\n")
    assert main(["run", str(source)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{source}:4:1: classical control (QIF)")
