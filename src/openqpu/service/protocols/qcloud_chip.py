"""What pyqpanda3 asks about a chip itself, from the calibration in force: ``chipInfo.json``
(the SDK's ``ChipInfo``), ``bestQubitBlocks.json`` (connected blocks of working qubits,
best first) and ``specified_block`` (a program laid out on exactly the qubits named).

The shapes were read off the SDK (pyqpanda3 0.5.1) parsing answers of a recording
server: ``adjMatrix`` maps a qubit (as a string) to ``[{"v": neighbour, "w": CZ
fidelity}]`` (the SDK makes one ``DoubleQubitsInfo`` per entry, so each coupler is
listed once, from its lower qubit); ``QubitParams`` lists ``{"qubitId", "T1", "T2"
(us), "Frequency" (Hz), "SingleGateFidelity", "ReadoutFidelity"}``; ``QGateClock``
lists ``{"gateType", "IntValue" (ns)}``; ``CompensateAngle`` maps a coupler to
``{"<q1>": angle, "<q2>": angle}``.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections.abc import Iterator, Sequence
from typing import Any

from qiskit import QuantumCircuit, QuantumRegister
from qiskit.transpiler import Target
from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager

from openqpu.device import CalibrationSnapshot, DeviceSpec, build_target
from openqpu.service.circuits import InvalidRequest

# OriginIR names of openqpu's native gates, as the SDK's transpiler takes them.
_BASIC_GATES = {"rz": "RZ", "sx": "X1", "x": "X", "cz": "CZ"}
# Blocks of up to this many qubits are ranked among all connected blocks; wider ones
# are grown greedily from every qubit (the number of blocks grows exponentially).
EXHAUSTIVE_BLOCK_QUBITS = 6
MAX_BLOCKS = 100


def chip_info(chip_id: str, spec: DeviceSpec, snapshot: CalibrationSnapshot) -> dict[str, Any]:
    """``chipInfo.json``'s ``obj``: the chip as ``snapshot`` describes it.

    Disabled qubits and unusable couplers are left out of the qubit parameters and
    the adjacency; ``HighFrequencyQubit`` lists the working qubits tuned above the
    median frequency; gate times are the median calibrated durations. openqpu's CZ
    has no residual single-qubit phases, so every compensation angle is 0.
    """
    working = snapshot.working_qubits()
    couplers = [snapshot.couplers[i] for i in snapshot.working_couplers()]
    fidelity = {
        snapshot.couplers[i]: 1.0 - snapshot.cz_error[i] for i in snapshot.working_couplers()
    }
    adjacency: dict[str, list[dict[str, Any]]] = {str(q): [] for q in working}
    for a, b in couplers:  # once per coupler, from its lower qubit: one DoubleQubitsInfo each
        adjacency[str(a)].append({"v": b, "w": fidelity[(a, b)]})
    median_frequency = statistics.median(snapshot.frequency_ghz[q] for q in working)
    single_ns = round(statistics.median(snapshot.gate_duration_1q_ns[q] for q in working))
    working_couplers = snapshot.working_couplers()
    cz_ns = round(
        statistics.median(snapshot.cz_duration_ns[i] for i in working_couplers)
        if working_couplers
        else spec.durations.cz_ns
    )
    return {
        "ChipID": chip_id,
        "QubitCount": snapshot.num_qubits,
        "AvailableQubits": list(working),
        "HighFrequencyQubit": [q for q in working if snapshot.frequency_ghz[q] > median_frequency],
        "BasicQGate": [_BASIC_GATES[g] for g in spec.native_gates if g in _BASIC_GATES],
        "adjMatrix": adjacency,
        "QubitParams": [
            {
                "qubitId": str(q),
                "T1": snapshot.t1_us[q],
                "T2": snapshot.t2_us[q],
                "Frequency": snapshot.frequency_ghz[q] * 1e9,
                "SingleGateFidelity": 1.0 - snapshot.gate_error_1q[q],
                "ReadoutFidelity": readout_fidelity(snapshot, q),
            }
            for q in working
        ],
        "CompensateAngle": {f"{a}_{b}": {str(a): 0.0, str(b): 0.0} for a, b in couplers},
        "QGateClock": [
            {"gateType": "RPhi", "IntValue": single_ns},
            {"gateType": "CZ", "IntValue": cz_ns},
            {"gateType": "ECHO", "IntValue": single_ns},
            {"gateType": "BARRIER", "IntValue": 0},
        ],
        "CalibrationID": snapshot.id,
    }


def readout_fidelity(snapshot: CalibrationSnapshot, qubit: int) -> float:
    """1 - the mean of the qubit's two readout errors."""
    return 1.0 - (snapshot.readout_error_0to1[qubit] + snapshot.readout_error_1to0[qubit]) / 2


class _Graph:
    """The working qubits of a snapshot, their couplers and log-fidelities."""

    def __init__(self, snapshot: CalibrationSnapshot) -> None:
        self.snapshot = snapshot
        self.qubits = snapshot.working_qubits()
        self.neighbours: dict[int, dict[int, float]] = {q: {} for q in self.qubits}
        for i in snapshot.working_couplers():
            a, b = snapshot.couplers[i]
            weight = math.log(max(1e-300, 1.0 - snapshot.cz_error[i]))
            self.neighbours[a][b] = self.neighbours[b][a] = weight
        self.qubit_weight = {
            q: math.log(
                max(1e-300, (1.0 - snapshot.gate_error_1q[q]) * readout_fidelity(snapshot, q))
            )
            for q in self.qubits
        }

    def score(self, block: Sequence[int]) -> float:
        """Log of the block's estimated fidelity (see ``best_blocks``); -inf when the
        block is not connected."""
        members = set(block)
        start = block[0]
        total = sum(self.qubit_weight[q] for q in block)
        # Prim's algorithm: the k - 1 best couplers that connect the block.
        reached = {start}
        frontier = [(-w, n) for n, w in self.neighbours[start].items() if n in members]
        heapq.heapify(frontier)
        while frontier and len(reached) < len(members):
            negative, node = heapq.heappop(frontier)
            if node in reached:
                continue
            reached.add(node)
            total -= negative
            for other, w in self.neighbours[node].items():
                if other in members and other not in reached:
                    heapq.heappush(frontier, (-w, other))
        return total if len(reached) == len(members) else -math.inf

    def connected_sets(self, size: int) -> Iterator[tuple[int, ...]]:
        """Every connected set of ``size`` working qubits, each once (ESU enumeration)."""

        def extend(
            chosen: list[int], extension: set[int], start: int, border: set[int]
        ) -> Iterator[tuple[int, ...]]:
            if len(chosen) == size:
                yield tuple(sorted(chosen))
                return
            extension = set(extension)
            while extension:
                node = extension.pop()
                new = {n for n in self.neighbours[node] if n > start and n not in border}
                yield from extend([*chosen, node], extension | new, start, border | new)

        for start in self.qubits:
            first = {n for n in self.neighbours[start] if n > start}
            yield from extend([start], first, start, first | {start})

    def grown(self, seed: int, size: int) -> tuple[int, ...] | None:
        """A block of ``size`` grown from ``seed``, each step adding the qubit that
        keeps the estimated fidelity highest; None when the seed's part is smaller."""
        block = [seed]
        gain: dict[int, float] = {}
        for n, w in self.neighbours[seed].items():
            gain[n] = w + self.qubit_weight[n]
        while len(block) < size:
            if not gain:
                return None
            best = max(gain, key=lambda n: (gain[n], -n))
            del gain[best]
            block.append(best)
            for n, w in self.neighbours[best].items():
                if n not in block:
                    gain[n] = max(gain.get(n, -math.inf), w + self.qubit_weight[n])
        return tuple(sorted(block))


def best_blocks(
    snapshot: CalibrationSnapshot, qubit_num: int, count: int
) -> list[tuple[list[int], float]]:
    """The ``count`` best connected blocks of ``qubit_num`` working qubits.

    A block's figure of merit is its estimated fidelity: the product, over its
    qubits, of the single-qubit gate fidelity and the readout fidelity, times the
    CZ fidelities of the best couplers that connect it (a maximum spanning tree,
    ``qubit_num - 1`` couplers), which is what Qiskit's noise-aware layout on the
    chip's Target weighs. Blocks of up to ``EXHAUSTIVE_BLOCK_QUBITS`` are ranked
    among all connected blocks; wider ones are grown greedily from every qubit.

    Returns:
        ``(qubits ascending, estimated fidelity)``, best first.

    Raises:
        InvalidRequest: ``qubit_num`` or ``count`` is out of range.
    """
    graph = _Graph(snapshot)
    largest = _largest_part(graph)
    if not 1 <= qubit_num <= largest:
        raise InvalidRequest(
            "qubitNum",
            f"{qubit_num} qubits: the largest connected block of working qubits in "
            f"calibration {snapshot.id} has {largest}",
        )
    if not 1 <= count <= MAX_BLOCKS:
        raise InvalidRequest("qubitBlockNum", f"must be from 1 to {MAX_BLOCKS}, got {count}")
    if qubit_num <= EXHAUSTIVE_BLOCK_QUBITS:
        candidates: set[tuple[int, ...]] = set(graph.connected_sets(qubit_num))
    else:
        candidates = {b for q in graph.qubits if (b := graph.grown(q, qubit_num)) is not None}
    ranked = heapq.nlargest(count, candidates, key=lambda b: (graph.score(b), [-q for q in b]))
    return [(list(block), math.exp(graph.score(block))) for block in ranked]


def _largest_part(graph: _Graph) -> int:
    seen: set[int] = set()
    largest = 0
    for start in graph.qubits:
        if start in seen:
            continue
        stack, size = [start], 0
        seen.add(start)
        while stack:
            node = stack.pop()
            size += 1
            for other in graph.neighbours[node]:
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        largest = max(largest, size)
    return largest


def check_block(block: Any, snapshot: CalibrationSnapshot) -> list[int]:
    """The qubits of a ``specified_block``, checked against the calibration in force.

    Raises:
        InvalidRequest: not a list of distinct qubit numbers of the chip, a qubit is
            disabled, or the qubits are not connected through working couplers; the
            message names the qubit.
    """
    field = "Configuration.specified_block"
    if not isinstance(block, list) or not all(
        isinstance(q, int) and not isinstance(q, bool) for q in block
    ):
        raise InvalidRequest(field, f"expected a list of qubit numbers, got {block!r}")
    if len(set(block)) != len(block):
        raise InvalidRequest(field, f"{block} names a qubit twice")
    graph = _Graph(snapshot)
    for q in block:
        if not 0 <= q < snapshot.num_qubits:
            raise InvalidRequest(
                field, f"qubit {q} is not on the chip (qubits 0 to {snapshot.num_qubits - 1})"
            )
        if q not in graph.neighbours:
            raise InvalidRequest(
                field,
                f"qubit {q} is disabled in calibration {snapshot.id}; choose working "
                "qubits (backend.chip_info().available_qubits())",
            )
    reached = {block[0]}
    stack = [block[0]]
    while stack:
        node = stack.pop()
        for other in graph.neighbours[node]:
            if other in block and other not in reached:
                reached.add(other)
                stack.append(other)
    if len(reached) < len(block):
        cut = min(q for q in block if q not in reached)
        raise InvalidRequest(
            field,
            f"qubit {cut} is not connected to qubit {block[0]} through working couplers of "
            f"the block {sorted(block)} in calibration {snapshot.id}; name a connected block "
            "(backend.best_qubit_blocks(n) lists some)",
        )
    return list(block)


def laid_out_on_block(
    circuit: QuantumCircuit,
    block: list[int],
    spec: DeviceSpec,
    snapshot: CalibrationSnapshot,
    level: int,
) -> tuple[QuantumCircuit, list[int]]:
    """``circuit`` compiled onto the chip qubits ``block`` and nowhere else.

    Layout, routing and translation to native gates run on the chip's Target
    restricted to the block (noise-aware, at optimisation ``level``); the result
    is a circuit over the whole chip whose gates touch only the block, which the
    chip's compiler keeps where it is.

    Returns:
        The chip-wide circuit and, per qubit of ``circuit``, the chip qubit it sits on.

    Raises:
        InvalidRequest: the circuit has more active qubits than the block.
    """
    from openqpu.transpile.pipeline import active_qubits, without_idle_qubits

    active = active_qubits(circuit)
    if len(active) > len(block):
        raise InvalidRequest(
            "Configuration.specified_block",
            f"the program uses {len(active)} qubits, the block {sorted(block)} has {len(block)}",
        )
    compact = without_idle_qubits(circuit, active) if len(active) < circuit.num_qubits else circuit
    target = _restricted(build_target(spec, snapshot), block)
    manager = generate_preset_pass_manager(level, target=target, seed_transpiler=0)
    compiled = manager.run(compact)
    layout = compiled.layout.initial_index_layout(filter_ancillas=True) if compiled.layout else []
    chip = QuantumCircuit(QuantumRegister(spec.num_qubits, "q"), *compiled.cregs)
    for bit in compiled.clbits:
        if bit not in chip.clbits:
            chip.add_bits([bit])
    chip.compose(compiled, qubits=block[: compiled.num_qubits], inplace=True)
    chip.global_phase = compiled.global_phase
    mapping = [-1] * circuit.num_qubits
    for position, original in enumerate(
        active if len(active) < circuit.num_qubits else range(circuit.num_qubits)
    ):
        if position < len(layout):
            mapping[original] = block[layout[position]]
    return chip, mapping


def _restricted(full: Target, block: list[int]) -> Target:
    """The Target of the chip qubits ``block`` alone, renumbered ``0..len(block)-1``."""
    index = {q: i for i, q in enumerate(block)}
    qubit_properties = full.qubit_properties
    restricted = Target(
        description=f"{full.description} on qubits {block}",
        num_qubits=len(block),
        dt=full.dt,
        qubit_properties=[qubit_properties[q] for q in block] if qubit_properties else None,
    )
    for name in full.operation_names:
        operation = full.operation_from_name(name)
        properties = full[name]
        qargs = [key for key in properties if key is not None] if properties else []
        if not qargs:
            restricted.add_instruction(operation, name=name)
            continue
        kept = {
            tuple(index[q] for q in key): props
            for key, props in properties.items()
            if key is not None and all(q in index for q in key)
        }
        if kept:
            restricted.add_instruction(operation, kept, name=name)
    return restricted
