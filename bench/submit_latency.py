"""Submit latency of small jobs, one client alone: circuits the server has seen (cache hits)
and new ones (each a cache miss: parsed and compiled, since the sandbox, in a child process).

Run: ``python bench/submit_latency.py [--jobs 200]``; prints median and p90 per kind, in ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _service_client import GHZ5, start_server

KEY = re.compile(r"(oqk_[A-Za-z0-9]+_[A-Za-z0-9_-]+)")


def _admin_key(log_path: Path) -> str:
    key_file = log_path.parent / "admin-key"
    if key_file.exists():
        return key_file.read_text().strip()
    match = KEY.search(log_path.read_text())  # servers before the admin-key file
    return match.group(1) if match else ""


def _times(client: httpx.Client, sources: list[str]) -> list[float]:
    times = []
    for source in sources:
        body = {"device": "statevector", "circuits": [source], "shots": 100}
        start = time.perf_counter()
        answer = client.post("/api/v1/jobs", json=body)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 201, answer.text
    return times


def main() -> int:
    """Start a server without workers, time submits, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {"OPENQPU_RATE_LIMIT_PER_SECOND": "0", "OPENQPU_MAX_QUEUED_JOBS_PER_USER": "100000"}
        server = start_server(
            f"sqlite:///{folder}/bench.db", Path(folder) / "server.log", workers=0, env=env
        )
        try:
            headers = {"Authorization": f"Bearer {_admin_key(server.log_path)}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
                _times(client, [GHZ5] * 20)  # warm up
                hits = _times(client, [GHZ5] * args.jobs)
                fresh = [GHZ5.replace("h q[0];", f"rz({i / 1000}) q[0];\nh q[0];") for i in
                         range(1, args.jobs + 1)]  # fmt: skip
                misses = _times(client, fresh)
        finally:
            server.stop()
    for name, values in (("cache hit", hits), ("cache miss", misses)):
        ordered = sorted(values)
        p90 = ordered[int(0.9 * len(ordered))]
        print(f"{name:10s}  median {statistics.median(values):6.2f} ms  p90 {p90:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
