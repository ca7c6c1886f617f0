"""The ``openqpu`` command line.

Heavy modules (Qiskit, numba, the server) are imported inside the commands that
need them so that ``openqpu --help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from openqpu.cli.admin import add_admin_commands
from openqpu.cli.apps import add_app_command
from openqpu.cli.local import add_run_command
from openqpu.cli.remote import add_remote_commands
from openqpu.cli.server import add_server_commands


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``openqpu`` command."""
    parser = argparse.ArgumentParser(prog="openqpu", description="An open quantum cloud.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_run_command(commands)
    add_server_commands(commands)
    add_admin_commands(commands)
    add_remote_commands(commands)
    add_app_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``openqpu`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
