// The composer's circuit: qubit wires, and operations placed in columns (time steps).
// Plain data (JSON-safe, for undo and localStorage); every change returns a new circuit.
//
// circuit = {qubits, clbits, qreg, creg, ops: [{name, qubits: [..], params: [".."], clbit, col}]}
// An operation occupies its column from its lowest to its highest qubit (the wire segment
// its connector crosses); two operations of one column never overlap.

import { DEFAULT_ANGLE, GATE } from "./gates.js";

export const MAX_QUBITS = 32;

export function emptyCircuit(qubits = 2) {
  return { qubits, clbits: qubits, qreg: "q", creg: "c", ops: [] };
}

export function copyOf(circuit) {
  return JSON.parse(JSON.stringify(circuit));
}

/** The wires an operation covers: [lowest, highest] qubit. */
export function span(op) {
  return [Math.min(...op.qubits), Math.max(...op.qubits)];
}

const overlaps = (a, b) => {
  const [lo1, hi1] = span(a), [lo2, hi2] = span(b);
  return lo1 <= hi2 && lo2 <= hi1;
};

/** Columns drawn: those used and a few empty ones to append to. */
export function numColumns(circuit) {
  return Math.max(8, ...circuit.ops.map((op) => op.col + 3));
}

/** The operation at (qubit, col), and whether the qubit is one of its own or one it crosses. */
export function opAt(circuit, qubit, col) {
  const index = circuit.ops.findIndex((op) => {
    if (op.col !== col) return false;
    const [lo, hi] = span(op);
    return qubit >= lo && qubit <= hi;
  });
  if (index < 0) return null;
  const op = circuit.ops[index];
  return { op, index, own: op.qubits.includes(qubit) };
}

/** A new operation of `name` placed with its first qubit on `qubit` (the rest below it). */
export function newOp(name, qubit, numQubits) {
  const gate = GATE.get(name);
  const first = Math.max(0, Math.min(qubit, numQubits - gate.qubits));
  const qubits = Array.from({ length: gate.qubits }, (_, k) => first + k);
  // The wire chosen comes first (a control), the rest follow it down, or up at the bottom.
  const at = qubits.indexOf(qubit);
  if (at > 0) [qubits[0], qubits[at]] = [qubits[at], qubits[0]];
  const op = { name, qubits, params: gate.params.map(() => DEFAULT_ANGLE) };
  if (name === "measure") op.clbit = qubit;
  return op;
}

/** Drop empty columns, keeping the order of the rest (changes the operations given). */
function compact(ops) {
  const used = [...new Set(ops.map((op) => op.col))].sort((a, b) => a - b);
  const rank = new Map(used.map((col, i) => [col, i]));
  for (const op of ops) op.col = rank.get(op.col);
  return ops;
}

/**
 * `circuit` with `op` put in column `col`: there when its wires are free, else in a new
 * column inserted before what is there (`where: "before"`) or after it (`"after"`).
 * `without`: the index of an operation to take out first (a move).
 * Returns {circuit, index}: the new circuit and where `op` is in its operations.
 */
export function put(circuit, op, col, { where = "before", without = null } = {}) {
  const ops = circuit.ops.filter((_, i) => i !== without).map((other) => ({ ...other }));
  const clash = (at) => ops.some((other) => other.col === at && overlaps(other, op));
  let target = Math.max(0, col);
  if (clash(target)) {
    if (where === "after") target += 1;
    if (clash(target)) for (const other of ops) if (other.col >= target) other.col += 1;
  }
  const placed = { ...op, col: target };
  ops.push(placed);
  const ordered = sorted(compact(ops));
  return { circuit: { ...circuit, ops: ordered }, index: ordered.indexOf(placed) };
}

/** `circuit` without the operation at `index`. */
export function remove(circuit, index) {
  const ops = circuit.ops.filter((_, i) => i !== index).map((op) => ({ ...op }));
  return { ...circuit, ops: compact(ops) };
}

/** `circuit` with operation `index` changed by `change` (qubits, params): {circuit, index}. */
export function update(circuit, index, change) {
  const op = { ...circuit.ops[index], ...change };
  return put(circuit, op, op.col, { without: index });
}

/** In text order: by column, then by lowest qubit. */
export function sorted(ops) {
  return [...ops].sort((a, b) => a.col - b.col || span(a)[0] - span(b)[0]);
}

/** Columns for operations read from text, in order: each as early as its wires allow. */
export function layout(ops, numQubits) {
  const free = new Array(numQubits).fill(0);
  return ops.map((op) => {
    const [lo, hi] = op.qubits.length ? span(op) : [0, numQubits - 1];
    let col = 0;
    for (let q = lo; q <= hi; q++) col = Math.max(col, free[q]);
    for (let q = lo; q <= hi; q++) free[q] = col + 1;
    return { ...op, col };
  });
}

/** `circuit` with one more wire (and classical bit, while they match) at the bottom. */
export function addQubit(circuit) {
  if (circuit.qubits >= MAX_QUBITS) return circuit;
  const clbits = circuit.clbits === circuit.qubits ? circuit.clbits + 1 : circuit.clbits;
  return { ...circuit, qubits: circuit.qubits + 1, clbits };
}

/** `circuit` without its last wire, or null when an operation uses it. */
export function removeQubit(circuit) {
  const last = circuit.qubits - 1;
  if (last < 1 || circuit.ops.some((op) => op.qubits.includes(last))) return null;
  const clbits = circuit.clbits === circuit.qubits ? circuit.clbits - 1 : circuit.clbits;
  return { ...circuit, qubits: last, clbits };
}

/** `circuit` with a measurement of every wire, each into its own bit, after everything. */
export function measureAll(circuit) {
  const col = Math.max(-1, ...circuit.ops.map((op) => op.col)) + 1;
  const ops = [...circuit.ops];
  for (let q = 0; q < circuit.qubits; q++) ops.push({ name: "measure", qubits: [q], params: [], clbit: q, col });
  return { ...circuit, clbits: Math.max(circuit.clbits, circuit.qubits), ops };
}
