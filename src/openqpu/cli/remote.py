"""``login``, ``devices``, ``submit``, ``jobs``, ``result`` and ``cancel``: a server from the shell.

The server and key come from ``--url`` and ``--token``, else ``OPENQPU_URL`` and
``OPENQPU_TOKEN``, else the config file ``openqpu login`` writes. Errors print
``openqpu: message`` on stderr and exit 1, or 2 for usage errors (no server
configured, an unreadable file).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openqpu.cli.local import positive_int, print_counts
from openqpu.cli.mitigation import add_mitigation_options, estimator_options
from openqpu.cli.reports import print_estimate, print_expectation_values, print_method

if TYPE_CHECKING:
    from openqpu.client import Client

STATUSES = ("queued", "running", "done", "failed", "cancelled")
METHODS = ("auto", "density_matrix", "stabilizer", "mps", "statevector")


class _UsageError(Exception):
    """A mistake in the command line itself; exit status 2."""


def add_remote_commands(commands: argparse._SubParsersAction) -> None:
    """``login``, ``devices``, ``submit``, ``jobs``, ``result`` and ``cancel``."""
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--url", help="server URL (default: $OPENQPU_URL, then the login)")
    server.add_argument("--token", help="API key (default: $OPENQPU_TOKEN, then the login)")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON")

    login = commands.add_parser("login", help="check an API key and save it with the server URL")
    login.add_argument("--url", required=True, help="server URL, e.g. http://127.0.0.1:8000")
    login.add_argument("--token", help="API key (asked for when not given)")
    login.set_defaults(handler=_login)

    devices = commands.add_parser("devices", parents=[server, output], help="list devices")
    devices.set_defaults(handler=_with_client(_devices))

    submit = commands.add_parser("submit", parents=[server, output], help="submit circuit files")
    submit.add_argument("files", nargs="+", type=Path, help="OpenQASM 2/3 (.qasm) or QPY files")
    submit.add_argument("--device", required=True, help="device name, e.g. statevector")
    submit.add_argument("--shots", type=positive_int, default=1024, help="shots (default 1024)")
    submit.add_argument("--seed", type=int, default=None, help="seed; circuit i uses seed + i")
    submit.add_argument("--name", default=None, help="a label for the job")
    submit.add_argument("--priority", type=int, default=0, help="0 to 9, higher first")
    submit.add_argument(
        "--optimization-level",
        type=int,
        choices=range(4),
        default=None,
        help="on a chip: Qiskit transpiler level (server default 2; 1 for Clifford, wide circuits)",
    )
    submit.add_argument(
        "--method",
        choices=METHODS,
        default=None,
        help="how a chip simulates the noise (default auto: the server picks per circuit)",
    )
    submit.add_argument(
        "--mitigation",
        choices=["readout"],
        default=None,
        help="on a chip: also report counts corrected for readout errors "
        "(estimate jobs: parities corrected)",
    )
    add_mitigation_options(submit)
    submit.add_argument(
        "--dry-run",
        action="store_true",
        help="queue nothing: print per circuit the method and estimated seconds, "
        "and the queue position and ETA",
    )
    _add_wait_options(submit, "wait for the job and print its counts")
    submit.set_defaults(handler=_with_client(_submit))

    jobs = commands.add_parser("jobs", parents=[server, output], help="list your jobs")
    jobs.add_argument("--status", choices=STATUSES, default=None, help="only this status")
    jobs.add_argument("--device", default=None, help="only this device")
    jobs.add_argument("--limit", type=positive_int, default=20, help="at most N jobs (20)")
    jobs.set_defaults(handler=_with_client(_jobs))

    result = commands.add_parser("result", parents=[server, output], help="print a job's result")
    result.add_argument("job_id", metavar="ID")
    _add_wait_options(result, "wait until the job finishes")
    result.set_defaults(handler=_with_client(_result))

    cancel = commands.add_parser("cancel", parents=[server], help="cancel a queued or running job")
    cancel.add_argument("job_id", metavar="ID")
    cancel.set_defaults(handler=_with_client(_cancel))


def _add_wait_options(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--wait", action="store_true", help=help_text)
    parser.add_argument(
        "--timeout", type=float, default=None, help="with --wait: give up after SECONDS"
    )


def _fail(message: object, status: int = 1) -> int:
    print(f"openqpu: {message}", file=sys.stderr)
    return status


def _with_client(
    handler: Callable[[argparse.Namespace, Client], int],
) -> Callable[[argparse.Namespace], int]:
    """Run ``handler`` with a client for the configured server, turning errors into messages."""

    def run(args: argparse.Namespace) -> int:
        from openqpu.client import Client, ClientError, NotConfigured

        try:
            client = Client.from_config(args.url, args.token)
        except (NotConfigured, ValueError) as exc:
            return _fail(exc, 2)
        with client:
            try:
                return handler(args, client)
            except _UsageError as exc:
                return _fail(exc, 2)
            except (ClientError, TimeoutError) as exc:
                return _fail(exc)
            except BrokenPipeError:
                # The reader left (``| head``); silence the flush at exit, as Python's docs advise.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 1

    return run


def _login(args: argparse.Namespace) -> int:
    from openqpu.client import Client, ClientError
    from openqpu.client.config import save_config

    token = args.token
    if not token:
        if not sys.stdin.isatty():
            return _fail("no API key: pass --token KEY", 2)
        token = getpass.getpass("API key: ").strip()
    try:
        with Client(args.url, token, retries=1) as client:
            found = client.devices()
    except ValueError as exc:
        return _fail(exc, 2)
    except ClientError as exc:
        return _fail(f"login to {args.url} failed: {exc}")
    try:
        path = save_config(client.url, token)
    except OSError as exc:
        return _fail(f"cannot save the configuration: {exc}")
    print(f"logged in to {client.url} ({len(found)} devices); key saved in {path}")
    return 0


def _devices(args: argparse.Namespace, client: Client) -> int:
    found = client.devices()
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    rows = [
        [d["name"], d["num_qubits"], d["status"], d["queue_length"], _calibration_text(d)]
        for d in found
    ]
    _print_table(["NAME", "QUBITS", "STATUS", "QUEUED", "CALIBRATION"], rows)
    return 0


def _calibration_text(device: dict[str, Any]) -> str:
    """A chip's calibration in a few figures; a simulator's description."""
    summary = device.get("calibration")
    if not summary:
        return str(device["description"])
    return (
        f"T1 {summary['median_t1_us']:.1f} us, CZ {summary['median_cz_fidelity']:.3f}, "
        f"readout {summary['median_readout_fidelity']:.3f}, "
        f"{summary['num_qubits_working']} qubits working"
    )


def _submit(args: argparse.Namespace, client: Client) -> int:
    from openqpu.client import InvalidRequest

    if args.dry_run and args.wait:
        raise _UsageError("--dry-run queues nothing, so there is nothing to --wait for")
    try:
        mitigation_options = estimator_options(args.resilience_level, args.option)
    except ValueError as exc:
        raise _UsageError(exc) from None
    if mitigation_options is not None and not args.observable:
        raise _UsageError(
            "--resilience-level and --option apply to estimate jobs: give the observables "
            "to estimate with --observable (e.g. --observable ZZ)"
        )
    sources, names = _read_sources(args.files)
    options: dict[str, Any] = {
        "shots": args.shots,
        "seed": args.seed,
        "name": args.name,
        "priority": args.priority,
        "optimization_level": args.optimization_level,
        "mitigation": args.mitigation,
        "method": args.method,
    }
    if args.observable:
        options.update(kind="estimate", observables=args.observable, options=mitigation_options)
    try:
        if args.dry_run:
            document = client.estimate(sources, args.device, **options)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # printed below, with the file names
                job = client.submit(sources, args.device, **options)
    except InvalidRequest as exc:
        return _fail(_located(exc, names))
    if args.dry_run:
        if args.json:
            print(json.dumps(document, indent=2))
        else:
            print_estimate(document, names)
        return 0
    for warning in job.last_info.get("warnings") or []:
        print(f"openqpu: warning: {_named(warning, names)}", file=sys.stderr)
    if not args.wait:
        if args.json:
            print(json.dumps(job.last_info, indent=2))
        else:
            print(f"submitted job {job.id}: {_status_text(job.last_info)}")
        return 0
    print(f"submitted job {job.id}", file=sys.stderr)
    result = job.result(args.timeout, progress=sys.stderr.isatty())
    _print_result(result, args.json, names)
    return 0


def _read_sources(paths: Sequence[Path]) -> tuple[list[Any], list[str]]:
    """Circuits to send (OpenQASM text or QuantumCircuits from QPY) and a name for each."""
    sources: list[Any] = []
    names: list[str] = []
    for path in paths:
        try:
            if path.suffix.lower() != ".qpy":
                sources.append(path.read_text())
                names.append(str(path))
                continue
            from qiskit import qpy

            with path.open("rb") as handle:
                circuits = qpy.load(handle)
        except (OSError, UnicodeDecodeError) as exc:
            raise _UsageError(f"cannot read {path}: {exc}") from None
        except Exception as exc:  # QPY's loader raises many kinds of errors
            raise _UsageError(f"{path} is not a QPY file: {exc}") from None
        sources += circuits
        names += (
            [str(path)] if len(circuits) == 1 else [f"{path}[{i}]" for i in range(len(circuits))]
        )
    return sources, names


def _located(exc: Any, names: Sequence[str]) -> str:
    """The server's message with ``circuits[i]`` replaced by the file it came from."""
    match = re.fullmatch(r"circuits\[(\d+)\]", exc.field or "")
    if match is None or int(match.group(1)) >= len(names):
        return str(exc)
    return f"{names[int(match.group(1))]}: {exc.message.removeprefix(exc.field + ': ')}"


def _named(warning: str, names: Sequence[str]) -> str:
    """A server warning about ``circuits[i]`` with the file it came from instead."""
    match = re.match(r"circuits\[(\d+)\]: ", warning)
    if match is None or int(match.group(1)) >= len(names):
        return warning
    return f"{names[int(match.group(1))]}: {warning[match.end() :]}"


def _jobs(args: argparse.Namespace, client: Client) -> int:
    page = client.jobs(status=args.status, device=args.device, limit=args.limit)
    if args.json:
        print(json.dumps({"data": [job.last_info for job in page], "count": page.total}, indent=2))
        return 0
    rows = []
    for job in page:
        info = job.last_info
        created = str(info["created_at"]).replace("T", " ")[:19]
        rows.append(
            [info["id"], info["status"], info["device"], info["kind"], info["shots"],
             info["num_circuits"], created, info.get("name") or ""]
        )  # fmt: skip
    _print_table(["ID", "STATUS", "DEVICE", "KIND", "SHOTS", "CIRCUITS", "CREATED", "NAME"], rows)
    print(f"{len(page)} of {page.total} jobs")
    return 0


def _result(args: argparse.Namespace, client: Client) -> int:
    job = client.job(args.job_id)
    if not args.wait and job.last_info["status"] in ("queued", "running"):
        return _fail(
            f"job {job.id} is {_status_text(job.last_info)}; "
            f"wait for it with 'openqpu result {job.id} --wait'"
        )
    result = job.result(args.timeout, progress=args.wait and sys.stderr.isatty())
    _print_result(result, args.json)
    return 0


def _cancel(args: argparse.Namespace, client: Client) -> int:
    job = client.job(args.job_id)
    job.cancel()
    print(f"cancelled job {job.id}")
    return 0


def _status_text(info: dict[str, Any]) -> str:
    position = info.get("queue_position")
    if position is None:
        return str(info["status"])
    return f"{info['status']}, {position} job{'' if position == 1 else 's'} ahead in the queue"


def _print_result(result: dict[str, Any], as_json: bool, names: Sequence[str] = ()) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    entries = result["results"]
    for index, entry in enumerate(entries):
        if len(entries) > 1:
            if index:
                print()
            source = f" ({names[index]})" if index < len(names) else ""
            print(f"circuit {index}{source}:")
        if "counts" in entry:
            print_counts(entry["counts"], entry["shots"], entry["num_qubits"], entry["seconds"])
        else:
            print_expectation_values(entry)
        print_method(entry)
    print(f"job {result['job_id']}, seed {result['seed']}")


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Columns padded to their widest cell; numeric columns right-aligned."""
    columns = range(len(headers))
    widths = [max([len(headers[i]), *(len(str(row[i])) for row in rows)]) for i in columns]
    right = [bool(rows) and all(isinstance(row[i], int) for row in rows) for i in columns]

    def line(cells: Sequence[Any]) -> str:
        padded = (
            str(cells[i]).rjust(widths[i]) if right[i] else str(cells[i]).ljust(widths[i])
            for i in columns
        )
        return "  ".join(padded).rstrip()

    print(line(headers))
    for row in rows:
        print(line(row))
