"""``openqpu run``: circuits on the local engine, no server involved."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

# Files read as OriginIR whatever they hold; others are OriginIR when they start with QINIT.
ORIGINIR_SUFFIXES = (".ir", ".originir")


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_run_command(commands: argparse._SubParsersAction) -> None:
    """``openqpu run FILE``: run a circuit file on the local engine."""
    run = commands.add_parser(
        "run", help="run an OpenQASM 2/3 or OriginIR file on the local engine"
    )
    run.add_argument("file", type=Path, help="OpenQASM 2/3 (.qasm) or OriginIR (.ir) source file")
    run.add_argument("--shots", type=positive_int, default=1024, help="shots (default 1024)")
    run.add_argument("--seed", type=int, default=None, help="seed for reproducible counts")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(handler=_run_command)


def _run_command(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"openqpu: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    from openqpu.errors import CircuitSyntaxError, OpenQPUError
    from openqpu.formats import loads, originir
    from openqpu.formats.qasm import missing_header_warning

    is_ir = args.file.suffix.lower() in ORIGINIR_SUFFIXES or originir.is_originir(text)
    if not is_ir and (warning := missing_header_warning(text)) is not None:
        print(f"openqpu: warning: {args.file}: {warning}", file=sys.stderr)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # said above, once, in the CLI's words
            circuit = originir.loads(text) if is_ir else loads(text)
    except CircuitSyntaxError as exc:
        line = exc.line if exc.line is not None else 1
        column = exc.column if exc.column is not None else 1
        print(f"{args.file}:{line}:{column}: {exc.detail}", file=sys.stderr)
        return 2
    from openqpu import sim

    started = time.perf_counter()
    try:
        counts = sim.sample(circuit, args.shots, seed=args.seed)
    except (OpenQPUError, ValueError) as exc:
        print(f"openqpu: {args.file}: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    if args.json:
        summary = {
            "counts": counts,
            "shots": args.shots,
            "num_qubits": circuit.num_qubits,
            "seconds": round(seconds, 6),
        }
        print(json.dumps(summary))
    else:
        print_counts(counts, args.shots, circuit.num_qubits, seconds)
    return 0


def print_counts(counts: dict[str, int], shots: int, num_qubits: int, seconds: float) -> None:
    width = max([len("outcome"), *(len(key) for key in counts)])
    print(f"{'outcome':<{width}}  {'count':>8}  {'probability':>11}")
    for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"{key:<{width}}  {count:>8}  {count / shots:>11.4f}")
    print(f"{shots} shots, {num_qubits} qubits, {seconds:.3f} s")
