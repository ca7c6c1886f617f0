"""Wall time of ``openqpu run`` on a five-qubit file: first run, then warm runs.

The first run in a fresh checkout compiles the numba kernels (cached on disk);
later runs load them. Run: ``python bench/cli_startup.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "ghz5.qasm"


def run_once() -> float:
    """Seconds of one ``openqpu run`` process, start to exit."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "openqpu.cli", "run", str(EXAMPLE), "--shots", "1000"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    """Print the first and the median warm wall time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    first = run_once()
    warm = [run_once() for _ in range(runs)]
    median = statistics.median(warm)
    print(f"openqpu run {EXAMPLE.name}: first {first:.2f} s, warm median {median:.2f} s")


if __name__ == "__main__":
    main()
