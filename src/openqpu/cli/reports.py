"""How the remote commands print a dry-run estimate and how a result was simulated.

``openqpu submit --dry-run`` prints ``print_estimate``; ``openqpu result`` and
``submit --wait`` print ``print_method`` under each circuit's counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ESTIMATE_HEADERS = ("CIRCUIT", "METHOD", "SECONDS", "SUCCESS", "2Q GATES", "DEPTH", "QUBITS")


def print_estimate(document: Mapping[str, Any], names: Sequence[str] = ()) -> None:
    """Print a dry-run document: a row per circuit, the methods ruled out, then the totals.

    Args:
        document: ``Client.estimate``'s answer.
        names: the file each circuit came from, by index (may be shorter).

    >>> print_estimate({"device": "statevector", "shots": 10, "circuits": [{"index": 0,
    ...     "method": "statevector", "estimated_seconds": 0.05, "num_qubits": 2}],
    ...     "estimated_seconds": 0.05, "queue_position": 0, "eta_seconds": 0.05})
    estimate for statevector, 10 shots per circuit (nothing queued)
    CIRCUIT  METHOD       SECONDS  SUCCESS  2Q GATES  DEPTH  QUBITS
    0        statevector    0.050        -         -      -       2
    total 0.050 s; it would run next; done in about 0.050 s
    """
    print(
        f"estimate for {document['device']}, {document['shots']:,} shots per circuit "
        "(nothing queued)"
    )
    rows = []
    for entry in document["circuits"]:
        index = int(entry["index"])
        label = f"{index} ({names[index]})" if index < len(names) else str(index)
        qubits = entry.get("physical_qubits")
        rows.append(
            [
                label,
                str(entry["method"]),
                seconds_text(entry["estimated_seconds"]),
                _number(entry.get("estimated_success_probability"), ".3f"),
                _number(entry.get("num_two_qubit_gates"), ","),
                _number(entry.get("depth"), ","),
                _number(len(qubits) if qubits is not None else entry.get("num_qubits"), ","),
            ]
        )
    _print_columns(ESTIMATE_HEADERS, rows, left=2)
    for entry in document["circuits"]:
        rejected = entry.get("methods_rejected") or {}
        if rejected:
            reasons = "; ".join(f"{method}: {why}" for method, why in rejected.items())
            print(f"circuit {entry['index']} cannot use {reasons}")
    print(f"total {seconds_text(document['estimated_seconds'])} s; {_queue_text(document)}")


def print_method(entry: Mapping[str, Any]) -> None:
    """Print how one result entry was simulated: method, approximations and figures.

    Prints nothing for an entry without a ``method`` (a server older than methods).

    >>> print_method({"method": "mps", "approximations": ["bond dimension capped at 64"],
    ...     "method_figures": {"max_bond_dimension": 64, "truncation_fidelity": 0.99871}})
    method: mps
    approximations:
      - bond dimension capped at 64
    figures: max_bond_dimension 64, truncation_fidelity 0.99871
    """
    if "method" not in entry:
        return
    print(f"method: {entry['method']}")
    approximations = entry.get("approximations") or []
    if approximations:
        print("approximations:")
        for sentence in approximations:
            print(f"  - {sentence}")
    else:
        print("approximations: none (exact up to sampling)")
    figures = entry.get("method_figures") or {}
    if figures:
        print("figures: " + ", ".join(f"{k} {_figure(v)}" for k, v in figures.items()))


def print_expectation_values(entry: Mapping[str, Any]) -> None:
    """Print an estimate entry's values (with standard errors when mitigated) and, for
    error mitigation, the techniques that ran and each observable's values per noise
    factor.

    >>> print_expectation_values({"expectation_values": [0.91], "standard_errors": [0.02],
    ...     "resilience": {"options": {"resilience_level": 2, "resilience": {
    ...     "measure_mitigation": True, "zne_mitigation": True}, "twirling": {
    ...     "enable_gates": True}, "dynamical_decoupling": {"enable": False}},
    ...     "num_randomizations": 8, "zne": {"noise_factors": [1.0, 3.0],
    ...     "extrapolator": ["linear"], "evs_noise_factors": [[0.8, 0.6]]}}})
    observable 0: 0.91 +- 0.02
    resilience level 2: TREX, gate twirling, ZNE; 8 randomizations
    observable 0 at noise factors 1, 3: 0.8, 0.6 -> 0.91 (linear)
    """
    values = entry["expectation_values"]
    errors = entry.get("standard_errors")
    for position, value in enumerate(values):
        error = f" +- {errors[position]:.3g}" if errors else ""
        print(f"observable {position}: {value:.12g}{error}")
    resilience = entry.get("resilience")
    if not resilience:
        return
    options = resilience.get("options", {})
    switches = options.get("resilience", {})
    dd = options.get("dynamical_decoupling", {})
    names = [
        name
        for name, on in (
            ("TREX", switches.get("measure_mitigation")),
            ("gate twirling", options.get("twirling", {}).get("enable_gates")),
            ("ZNE", switches.get("zne_mitigation")),
            (f"dynamical decoupling ({dd.get('sequence_type')})", dd.get("enable")),
        )
        if on
    ]
    print(
        f"resilience level {options.get('resilience_level')}: {', '.join(names) or 'none'}; "
        f"{resilience.get('num_randomizations', 1)} randomizations"
    )
    zne = resilience.get("zne")
    if not zne:
        return
    factors = ", ".join(f"{f:g}" for f in zne["noise_factors"])
    for position, per_factor in enumerate(zne["evs_noise_factors"]):
        at = ", ".join(f"{v:.4g}" for v in per_factor)
        print(
            f"observable {position} at noise factors {factors}: {at} -> "
            f"{values[position]:.4g} ({zne['extrapolator'][position]})"
        )


def seconds_text(seconds: float) -> str:
    """Seconds to three decimals below 100 s, whole seconds with separators above."""
    return f"{seconds:.3f}" if seconds < 100 else f"{seconds:,.0f}"


def _queue_text(document: Mapping[str, Any]) -> str:
    position = int(document.get("queue_position") or 0)
    ahead = (
        "it would run next"
        if position == 0
        else f"{position} job{'' if position == 1 else 's'} ahead in the queue"
    )
    eta = document.get("eta_seconds")
    if eta is None:
        return f"{ahead}; no ETA (no recent run times on {document['device']})"
    return f"{ahead}; done in about {seconds_text(eta)} s"


def _number(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _figure(value: Any) -> str:
    return format(value, ".6g") if isinstance(value, float) else str(value)


def _print_columns(headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int) -> None:
    """A table: the first ``left`` columns left-aligned, the others right-aligned."""
    columns = range(len(headers))
    widths = [max([len(headers[i]), *(len(row[i]) for row in rows)]) for i in columns]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cells[i].ljust(widths[i]) if i < left else cells[i].rjust(widths[i]) for i in columns
        )
        return "  ".join(padded).rstrip()

    print(line(headers))
    for row in rows:
        print(line(row))
