"""``openqpu app NAME``: run one of the industry applications against a server.

Without ``--url`` the application starts a local server for the run. Each writes
``summary.json`` and ``NAME.png`` into ``--out`` (default ``var/apps/NAME/``) and
prints the headline figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from openqpu.cli.local import positive_int

DEFAULT_BOND_LENGTHS = (0.5, 0.75, 1.0, 1.5, 2.0, 2.5)  # as openqpu.apps.chemistry's

# What each application prints at the end, from its summary.
HEADLINES: dict[str, tuple[str, ...]] = {
    "finance": ("optimum", "qaoa", "is_optimum", "approximation_ratio", "probability_optimum"),
    "chemistry": ("max_error_mha", "within_chemical_accuracy"),
    "biomedicine": ("quantum_accuracy", "classical_accuracy", "kernel_entries", "num_jobs"),
    "power": ("optimum", "qaoa", "is_optimum", "approximation_ratio", "probability_optimum"),
}


def _bond_lengths(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected lengths like 0.5,0.75,1.0, got {text!r}"
        ) from None


def add_app_command(commands: argparse._SubParsersAction) -> None:
    """``openqpu app {finance,chemistry,biomedicine,power}``."""
    app = commands.add_parser("app", help="run an industry application on the cloud")
    names = app.add_subparsers(dest="app", required=True)
    parsers = {
        "finance": names.add_parser("finance", help="portfolio selection (QUBO, QAOA)"),
        "chemistry": names.add_parser("chemistry", help="H2 or LiH energy curve (VQE)"),
        "biomedicine": names.add_parser("biomedicine", help="quantum-kernel tumour classifier"),
        "power": names.add_parser("power", help="IEEE 14-bus grid partition (QUBO, QAOA)"),
    }
    for name, parser in parsers.items():
        parser.add_argument("--url", help="the server (default: start a local one)")
        parser.add_argument("--token", help="API key for --url (default: OPENQPU_TOKEN)")
        parser.add_argument("--device", default="statevector", help="default statevector")
        parser.add_argument("--seed", type=int, default=7, help="seed of data and jobs")
        parser.add_argument("--out", type=Path, default=Path("var/apps") / name,
                            help=f"folder for summary.json and {name}.png")  # fmt: skip
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
        parser.set_defaults(handler=_app_command)
    for name in ("finance", "power"):
        qaoa = parsers[name]
        qaoa.add_argument("--layers", type=positive_int, default=1, help="QAOA layers (1)")
        qaoa.add_argument("--maxiter", type=positive_int, default=30, help="COBYLA calls (30)")
        qaoa.add_argument("--shots", type=positive_int, default=1000 if name == "finance" else 2000)
    parsers["finance"].add_argument("--assets", type=positive_int, default=8, help="n (<= 16)")
    parsers["finance"].add_argument("--budget", type=positive_int, default=4, help="k assets")
    parsers["finance"].add_argument("--risk", type=float, default=0.5, help="risk aversion")
    parsers["power"].add_argument("--buses", type=positive_int, default=14,
                                  help="buses 1..N of the 14-bus system (4-14)")  # fmt: skip
    chemistry = parsers["chemistry"]
    chemistry.add_argument("--molecule", choices=("h2", "lih"), default="h2",
                           help="h2 (default) or lih (frozen core, 3 active orbitals)")  # fmt: skip
    chemistry.add_argument("--mapping", choices=("parity", "jordan_wigner"),
                           help="h2: parity, 2 qubits (default) or jordan_wigner, 4; "
                                "lih: jordan_wigner, 6")  # fmt: skip
    chemistry.add_argument("--bond-lengths", type=_bond_lengths, default=DEFAULT_BOND_LENGTHS,
                           help="angstrom, comma separated, 0.1-10")  # fmt: skip
    chemistry.add_argument("--mitigation", choices=("none", "readout", "both", "level1", "level2",
                                                    "levels"), default="none",
                           help="on a chip: readout inversion, both (none and readout), "
                                "resilience level 1 (TREX) or 2 (TREX, twirling, ZNE), "
                                "or levels (none, level1, level2)")  # fmt: skip
    chemistry.add_argument("--maxiter", type=positive_int,
                           help="COBYLA calls per point (h2: 20, lih: 80)")  # fmt: skip
    chemistry.add_argument("--precision", type=float, default=1 / 64, help="on a chip (1/64)")
    bio = parsers["biomedicine"]
    bio.add_argument("--features", type=positive_int, default=4, help="PCA features = qubits")
    bio.add_argument("--train", type=positive_int, default=100, help="training tumours")
    bio.add_argument("--test", type=positive_int, default=100, help="test tumours")
    bio.add_argument("--bandwidth", type=float, default=0.5, help="feature scale (0.5)")
    bio.add_argument("--shots", type=positive_int, default=1000, help="per kernel entry")


def _options(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """The app's keyword arguments and how many progress steps it will take (about)."""
    if args.app in ("finance", "power"):
        options = {"layers": args.layers, "maxiter": args.maxiter, "shots": args.shots}
        if args.app == "finance":
            options |= {"num_assets": args.assets, "budget": args.budget, "risk": args.risk}
        else:
            options |= {"num_buses": args.buses}
        return options, args.maxiter
    if args.app == "chemistry":
        modes = {"both": ("none", "readout"), "levels": ("none", "level1", "level2")}.get(
            args.mitigation, (args.mitigation,)
        )
        maxiter = args.maxiter or (20 if args.molecule == "h2" else 80)
        options = {"molecule": args.molecule, "form": args.mapping,
                   "bond_lengths": args.bond_lengths, "mitigations": modes,
                   "maxiter": maxiter, "precision": args.precision}  # fmt: skip
        return options, maxiter * len(args.bond_lengths) * len(modes)
    entries = args.train * (args.train - 1) // 2 + args.train * args.test
    options = {"num_features": args.features, "num_train": args.train, "num_test": args.test,
               "bandwidth": args.bandwidth, "shots": args.shots}  # fmt: skip
    return options, -(-entries // 100)


def _app_command(args: argparse.Namespace) -> int:
    from openqpu.apps.common import Progress, connect, write_outputs
    from openqpu.client import ClientError

    try:
        module = importlib.import_module(f"openqpu.apps.{args.app}")
        import matplotlib  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as exc:
        print(f"openqpu app: {exc.name} is missing; pip install 'openqpu[apps]'", file=sys.stderr)
        return 2
    options, steps = _options(args)
    progress = Progress(steps, args.app, None if args.quiet else sys.stderr)
    try:
        with connect(args.url, args.token, args.device, stream=sys.stderr) as backend:
            summary = module.run(backend, seed=args.seed, progress=progress, **options)
    except (ValueError, ClientError, RuntimeError) as exc:
        progress.close()
        print(f"openqpu app {args.app}: {exc}", file=sys.stderr)
        return 2
    progress.close()
    paths = write_outputs(summary, module.plot(summary), args.out, args.app)
    for key in HEADLINES[args.app]:
        print(f"{key}: {json.dumps(summary[key])}")
    print("wrote " + ", ".join(str(path) for path in paths))
    return 0
