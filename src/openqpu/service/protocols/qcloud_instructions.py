"""``backend.run_instruction``: the reference chip's pulse-level instruction streams, read
into OriginIR programs on the chip's own qubits.

The format is the one pyqpanda3 writes with ``QProg.to_instruction(chip_backend)`` and
the reference cloud returns as ``convertQProg``; the SDK sends it as ``Inst``, a list
of streams (one per program), each a list of one-key objects:

- ``{"RPhi": [qubit, phi_degrees, theta_degrees, time]}``: the rotation by theta
  about the axis at angle phi in the XY plane (OriginIR ``RPHI q,(theta,phi)``);
- ``{"CZ": [qubit, qubit, time]}``;
- ``{"Measure": [[qubits...], time]}``: the last qubit listed is read into classical
  bit 0, the one before into bit 1, and so on (as ``to_instruction`` writes a
  program's measurements and as the reference cloud's ``convertQProg`` shows them);
- ``{"BARRIER": ...}``: no effect on the result, skipped.

Qubits are numbered from 1 (chip qubit ``q - 1``) and times are ticks of the
schedule: openqpu schedules the program itself, so they are not used. ``ECHO``,
``IDLE`` and ``MS`` are refused, naming the instruction.
"""

from __future__ import annotations

import math
from typing import Any

from openqpu.service.circuits import InvalidRequest

_NOT_SERVED = ("ECHO", "IDLE", "MS")


def programs_of(streams: Any, num_qubits: int) -> list[str]:
    """One OriginIR program (``QINIT num_qubits``) per instruction stream.

    Raises:
        InvalidRequest: a stream or instruction is malformed or not served; the field
            names its position (``Inst[i][j]``).
    """
    if isinstance(streams, list) and streams and all(isinstance(s, dict) for s in streams):
        streams = [streams]  # one stream sent bare
    if not isinstance(streams, list) or not streams:
        raise InvalidRequest("Inst", "expected a list of instruction streams")
    return [_program(stream, i, num_qubits) for i, stream in enumerate(streams)]


def _qubit(value: Any, field: str, num_qubits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= num_qubits:
        raise InvalidRequest(
            field, f"qubit {value!r}: instruction qubits are numbered 1 to {num_qubits}"
        )
    return value - 1


def _angle(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidRequest(field, f"expected an angle in degrees, got {value!r}")
    return math.radians(float(value))


def _program(stream: Any, index: int, num_qubits: int) -> str:
    if not isinstance(stream, list):
        raise InvalidRequest(f"Inst[{index}]", "expected a list of instructions")
    lines: list[str] = []
    measured: list[int] = []
    for position, item in enumerate(stream):
        field = f"Inst[{index}][{position}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise InvalidRequest(field, f"expected one {{name: payload}}, got {item!r}")
        ((name, payload),) = item.items()
        if name in _NOT_SERVED:
            raise InvalidRequest(
                field, f"instruction {name!r} is not served by openqpu (served: RPhi, CZ, Measure)"
            )
        if name == "BARRIER":
            continue
        if not isinstance(payload, list):
            raise InvalidRequest(field, f"{name}: expected a list, got {payload!r}")
        if name == "RPhi" and len(payload) == 4:
            qubit = _qubit(payload[0], field, num_qubits)
            phi, theta = _angle(payload[1], field), _angle(payload[2], field)
            lines.append(f"RPHI q[{qubit}],({theta!r},{phi!r})")
        elif name == "CZ" and len(payload) == 3:
            a, b = (_qubit(q, field, num_qubits) for q in payload[:2])
            if a == b:
                raise InvalidRequest(field, f"CZ on one qubit: {payload!r}")
            lines.append(f"CZ q[{a}],q[{b}]")
        elif name == "Measure" and len(payload) == 2 and isinstance(payload[0], list):
            if measured:
                raise InvalidRequest(field, "a stream has one Measure (its last instruction)")
            qubits = [_qubit(q, field, num_qubits) for q in payload[0]]
            measured = list(reversed(qubits))  # the last listed is classical bit 0
        else:
            raise InvalidRequest(
                field,
                f"{name} {payload!r} is not an instruction openqpu reads (served: "
                "RPhi [qubit, phi, theta, time], CZ [qubit, qubit, time], "
                "Measure [[qubits], time])",
            )
    if not measured:
        raise InvalidRequest(f"Inst[{index}]", "the stream measures no qubit (no Measure)")
    body = [f"MEASURE q[{q}],c[{bit}]" for bit, q in enumerate(measured)]
    return "\n".join([f"QINIT {num_qubits}", f"CREG {len(measured)}", *lines, *body]) + "\n"
