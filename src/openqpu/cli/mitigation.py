"""``openqpu submit``'s estimate and error mitigation flags: observables, the resilience
level and Qiskit Runtime's fine-grained ``EstimatorOptions`` as ``--option NAME=VALUE``.

The server checks the options (an unknown or badly shaped one is a 4xx naming it); here
only the command line's own shape is checked.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from typing import Any

# A term of an observable: an optional coefficient, then a Pauli label.
_TERM = re.compile(r"\s*([+-]?)\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)\s*\*?\s*)?([IXYZ]+)\s*")


def add_mitigation_options(parser: argparse.ArgumentParser) -> None:
    """``--observable``, ``--resilience-level`` and ``--option`` on ``parser``."""
    parser.add_argument(
        "--observable",
        action="append",
        type=observable,
        default=None,
        metavar="OBS",
        help="make an estimate job measuring OBS: a Pauli label (ZZ; the rightmost "
        'letter is qubit 0), a sum (0.5*ZZ - 0.2*XI), or JSON ({"ZZ": 0.5}); repeat for '
        "several observables",
    )
    parser.add_argument(
        "--resilience-level",
        type=int,
        choices=range(3),
        default=None,
        help="estimate jobs on a chip: 0 none, 1 TREX (twirled readout error extinction), "
        "2 TREX, gate twirling and zero-noise extrapolation",
    )
    parser.add_argument(
        "--option",
        action="append",
        type=option,
        default=None,
        metavar="NAME=VALUE",
        help="an EstimatorOptions setting by its Qiskit Runtime name, e.g. "
        "resilience.zne.noise_factors=1,3,5, resilience.zne.extrapolator=linear, "
        "twirling.num_randomizations=16, dynamical_decoupling.sequence_type=XY4; "
        "VALUE is read as JSON where it parses, else as text; a comma makes a list",
    )


def observable(text: str) -> dict[str, float]:
    """An observable from the command line: ``{pauli_label: coefficient}``.

    Raises:
        argparse.ArgumentTypeError: ``text`` is no label, sum of labels or JSON mapping.

    >>> observable("0.5*ZZ - XI + 2 IZ")
    {'ZZ': 0.5, 'XI': -1.0, 'IZ': 2.0}
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
            return {str(label): float(value) for label, value in parsed.items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise argparse.ArgumentTypeError(
                f"{text!r}: not a {{label: number}} map: {exc}"
            ) from None
    terms: dict[str, float] = {}
    position = 0
    while position < len(text):
        match = _TERM.match(text, position)
        if match is None or (position and not match.group(1)) or match.end() == position:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected Pauli labels like ZZ or 0.5*ZZ - 0.2*XI "
                f"(letters I, X, Y, Z) at character {position + 1}"
            )
        sign, number, label = match.groups()
        value = float(number) if number else 1.0
        terms[label] = terms.get(label, 0.0) + (-value if sign == "-" else value)
        position = match.end()
    if not terms:
        raise argparse.ArgumentTypeError("an observable needs at least one Pauli label")
    widths = {len(label) for label in terms}
    if len(widths) > 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the labels have different lengths")
    return terms


def option(text: str) -> tuple[list[str], Any]:
    """``NAME=VALUE`` as the path of names and the value (JSON, else text; ``a,b``
    a list of such values).

    Raises:
        argparse.ArgumentTypeError: no ``=``, or an empty name.

    >>> option("resilience.zne.noise_factors=1,3,5")
    (['resilience', 'zne', 'noise_factors'], [1, 3, 5])
    >>> option("dynamical_decoupling.enable=true")
    (['dynamical_decoupling', 'enable'], True)
    """
    name, equals, raw = text.partition("=")
    path = name.strip().split(".")
    if not equals or not all(path):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give NAME=VALUE, e.g. resilience.zne.noise_factors=1,3,5"
        )
    raw = raw.strip()
    value = _value(raw)
    if isinstance(value, str) and "," in raw:
        value = [_value(item.strip()) for item in raw.split(",")]
    return path, value


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def estimator_options(
    level: int | None, settings: Sequence[tuple[list[str], Any]] | None
) -> dict[str, Any] | None:
    """The job's nested ``options`` from ``--resilience-level`` and ``--option``s (None
    when neither was given).

    Raises:
        ValueError: one option is given both as a value and as a group of others.

    >>> estimator_options(2, [(["twirling", "num_randomizations"], 8)])
    {'resilience_level': 2, 'twirling': {'num_randomizations': 8}}
    """
    if level is None and not settings:
        return None
    options: dict[str, Any] = {}
    if level is not None:
        options["resilience_level"] = level
    for path, value in settings or ():
        here = options
        for depth, key in enumerate(path[:-1]):
            inner = here.setdefault(key, {})
            if not isinstance(inner, dict):
                raise ValueError(
                    f"--option {'.'.join(path)}: {'.'.join(path[: depth + 1])} "
                    "was given a value already"
                )
            here = inner
        if isinstance(here.get(path[-1]), dict):
            raise ValueError(f"--option {'.'.join(path)}: it also has options of its own")
        here[path[-1]] = value
    return options
