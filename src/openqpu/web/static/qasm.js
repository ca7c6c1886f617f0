// OpenQASM 2 and 3 text of a composer circuit, and back: the subset the canvas draws
// (one quantum and one classical register, the palette's gates, measure, reset, barrier).
// The server reads the text for real (errors, estimates, the live state); this reader
// only redraws the canvas, and says which line it cannot draw instead of dropping it.

import { ALIASES, GATE, angle, angleText } from "./gates.js";
import { MAX_QUBITS, layout, sorted } from "./circuit.js";

// Beyond this many operations the canvas is no help (and slow): the text stays text.
export const MAX_OPS = 500;

// OpenQASM 3's stdgates.inc lacks these palette gates: the text defines them (exactly).
const QASM3_DEFINITIONS = {
  sxdg: "gate sxdg _a { h _a; sdg _a; h _a; }",
  rzz: "gate rzz(_t) _a, _b { cx _a, _b; rz(_t) _b; cx _a, _b; }",
  rxx: "gate rxx(_t) _a, _b { h _a; h _b; cx _a, _b; rz(_t) _b; cx _a, _b; h _a; h _b; }",
};

/** The circuit as OpenQASM `version` (2 or 3) text. */
export function toQasm(circuit, version = 2) {
  const v3 = Number(version) === 3;
  const { qreg, creg } = circuit;
  const q = (i) => `${qreg}[${i}]`;
  const lines = v3 ? ["OPENQASM 3.0;", 'include "stdgates.inc";'] : ["OPENQASM 2.0;", 'include "qelib1.inc";'];
  if (v3) {
    const used = new Set(circuit.ops.map((op) => op.name));
    for (const [name, definition] of Object.entries(QASM3_DEFINITIONS)) if (used.has(name)) lines.push(definition);
  }
  lines.push(v3 ? `qubit[${circuit.qubits}] ${qreg};` : `qreg ${qreg}[${circuit.qubits}];`);
  if (circuit.clbits > 0) lines.push(v3 ? `bit[${circuit.clbits}] ${creg};` : `creg ${creg}[${circuit.clbits}];`);
  for (const op of sorted(circuit.ops)) {
    const operands = op.qubits.map(q).join(", ");
    if (op.name === "measure") {
      lines.push(v3 ? `${creg}[${op.clbit}] = measure ${q(op.qubits[0])};` : `measure ${q(op.qubits[0])} -> ${creg}[${op.clbit}];`);
    } else if (op.name === "reset" || op.name === "barrier") {
      lines.push(`${op.name} ${operands};`);
    } else {
      const name = op.name === "u" ? (v3 ? "U" : "u3") : op.name;
      const params = op.params.length ? `(${op.params.map(angleText).join(", ")})` : "";
      lines.push(`${name}${params} ${operands};`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Text the canvas cannot draw: `line` and `column` (1-based) say where. */
export class QasmError extends Error {
  constructor(message, line, column) {
    super(message);
    this.line = line;
    this.column = column;
  }
}

/** Comments blanked out, keeping every other character where it was (for line numbers). */
function withoutComments(text) {
  return text.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, " "));
}

/** The statements of `text`: {text, at} with `at` the offset of its first character. */
function statements(text) {
  const found = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "{") {  // a block (a gate definition) ends at its closing brace
      let depth = 0;
      for (; i < text.length; i++) {
        if (text[i] === "{") depth += 1;
        if (text[i] === "}" && --depth === 0) break;
      }
      push(found, text, start, i + 1);
      start = i + 1;
    } else if (char === ";") {
      push(found, text, start, i);
      start = i + 1;
    }
  }
  const rest = text.slice(start);
  if (rest.trim()) {
    const at = start + rest.search(/\S/);
    found.push({ text: rest.trim(), at, unfinished: true });
  }
  return found;
}

function push(found, text, start, end) {
  const raw = text.slice(start, end);
  if (!raw.trim()) return;
  found.push({ text: raw.trim().replace(/\s+/g, " "), at: start + raw.search(/\S/) });
}

function position(text, offset) {
  const before = text.slice(0, offset).split("\n");
  return [before.length, before[before.length - 1].length + 1];
}

/** Split "a, b(c, d), e" at its top-level commas. */
function splitTop(text) {
  const parts = [];
  let depth = 0, start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "(") depth += 1;
    else if (text[i] === ")") depth -= 1;
    else if (text[i] === "," && depth === 0) { parts.push(text.slice(start, i).trim()); start = i + 1; }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((part) => part !== "");
}

/**
 * A circuit from OpenQASM 2 or 3 text: {circuit, version}.
 * Throws QasmError at the first line the canvas cannot draw (or that does not parse).
 */
export function parseQasm(text) {
  const clean = withoutComments(text);
  const found = statements(clean);
  let version = null;
  const circuit = { qubits: 0, clbits: 0, qreg: null, creg: null, ops: [] };
  for (const statement of found) {
    const fail = (message) => { throw new QasmError(message, ...position(clean, statement.at)); };
    if (statement.unfinished) fail(`'${statement.text.slice(0, 30)}' does not end with ';'`);
    const s = statement.text;
    let m;
    if (version === null) {
      m = /^OPENQASM (\d+)(?:\.\d+)?$/.exec(s);
      if (!m || !["2", "3"].includes(m[1])) fail("the text must start with 'OPENQASM 2.0;' or 'OPENQASM 3.0;'");
      version = Number(m[1]);
      continue;
    }
    if ((m = /^include "(.*)"$/.exec(s))) {
      if (!["qelib1.inc", "stdgates.inc"].includes(m[1])) fail(`the canvas cannot draw the gates of '${m[1]}'`);
      continue;
    }
    if ((m = /^qreg ([A-Za-z_]\w*) ?\[ ?(\d+) ?\]$/.exec(s)) || (m = /^qubit ?\[ ?(\d+) ?\] ?([A-Za-z_]\w*)$/.exec(s))) {
      const [name, size] = s.startsWith("qreg") ? [m[1], m[2]] : [m[2], m[1]];
      if (circuit.qreg !== null) fail("the canvas draws one quantum register; this is a second");
      if (Number(size) > MAX_QUBITS) fail(`the canvas draws up to ${MAX_QUBITS} qubits, not ${size}`);
      circuit.qreg = name;
      circuit.qubits = Number(size);
      continue;
    }
    if ((m = /^creg ([A-Za-z_]\w*) ?\[ ?(\d+) ?\]$/.exec(s)) || (m = /^bit ?\[ ?(\d+) ?\] ?([A-Za-z_]\w*)$/.exec(s))) {
      const [name, size] = s.startsWith("creg") ? [m[1], m[2]] : [m[2], m[1]];
      if (circuit.creg !== null) fail("the canvas draws one classical register; this is a second");
      circuit.creg = name;
      circuit.clbits = Number(size);
      continue;
    }
    if ((m = /^gate ([A-Za-z_]\w*)/.exec(s))) {
      // A palette gate's definition (the composer writes those OpenQASM 3 lacks) is that gate.
      if (!GATE.has(m[1])) fail(`the canvas cannot draw gate definitions ('${m[1]}')`);
      continue;
    }
    circuit.ops.push(...operation(s, circuit, fail));
    if (circuit.ops.length > MAX_OPS) fail(`the canvas draws up to ${MAX_OPS} operations`);
  }
  if (version === null) throw new QasmError("the text must start with 'OPENQASM 2.0;' or 'OPENQASM 3.0;'", 1, 1);
  if (circuit.qreg === null) throw new QasmError("no quantum register: declare one (qreg q[2]; or qubit[2] q;)", 1, 1);
  circuit.creg = circuit.creg || "c";
  circuit.ops = layout(circuit.ops, circuit.qubits);
  return { circuit, version };
}

/** The operations of one statement (a whole-register operand makes one per qubit). */
function operation(s, circuit, fail) {
  const qubitsOf = (operand) => {
    const m = /^([A-Za-z_]\w*) ?(?:\[ ?(\d+) ?\])?$/.exec(operand);
    if (!m) fail(`'${operand}' is not a qubit the canvas can draw`);
    if (m[1] !== circuit.qreg) fail(`'${m[1]}' is not the quantum register${circuit.qreg ? ` (${circuit.qreg})` : ""}`);
    if (m[2] === undefined) return Array.from({ length: circuit.qubits }, (_, i) => i);
    const index = Number(m[2]);
    if (index >= circuit.qubits) fail(`${operand}: the register has ${circuit.qubits} qubits`);
    return [index];
  };
  const bitsOf = (operand) => {
    const m = /^([A-Za-z_]\w*) ?(?:\[ ?(\d+) ?\])?$/.exec(operand);
    if (!m || m[1] !== circuit.creg) fail(`'${operand}' is not a bit of the classical register`);
    if (m[2] === undefined) return Array.from({ length: circuit.clbits }, (_, i) => i);
    if (Number(m[2]) >= circuit.clbits) fail(`${operand}: the register has ${circuit.clbits} bits`);
    return [Number(m[2])];
  };
  let m;
  if ((m = /^measure (.+?) ?-> ?(.+)$/.exec(s)) || (m = /^(.+?) ?= ?measure (.+)$/.exec(s))) {
    const [from, to] = s.startsWith("measure") ? [m[1], m[2]] : [m[2], m[1]];
    const qubits = qubitsOf(from), bits = bitsOf(to);
    if (qubits.length !== bits.length) fail("measure: as many qubits as bits are needed");
    return qubits.map((q, i) => ({ name: "measure", qubits: [q], params: [], clbit: bits[i] }));
  }
  if ((m = /^reset (.+)$/.exec(s))) {
    return qubitsOf(m[1]).map((q) => ({ name: "reset", qubits: [q], params: [] }));
  }
  if ((m = /^barrier(?: (.+))?$/.exec(s))) {
    const qubits = m[1] ? splitTop(m[1]).flatMap(qubitsOf)
      : Array.from({ length: circuit.qubits }, (_, i) => i);
    return [{ name: "barrier", qubits: [...new Set(qubits)].sort((a, b) => a - b), params: [] }];
  }
  m = /^([A-Za-z_]\w*) ?(?:\((.*)\))? ?(.*)$/.exec(s);
  if (!m || /@/.test(s)) fail(`the canvas cannot draw '${s.slice(0, 40)}'`);
  const name = ALIASES.get(m[1]) || m[1];
  const gate = GATE.get(name);
  if (!gate || ["measure", "reset", "barrier"].includes(name)) fail(`the canvas cannot draw '${m[1]}'`);
  const params = m[2] === undefined ? [] : splitTop(m[2]);
  if (params.length !== gate.params.length) {
    fail(`${m[1]} takes ${gate.params.length} parameter${gate.params.length === 1 ? "" : "s"}, not ${params.length}`);
  }
  for (const param of params) {
    try { angle(param); } catch (error) { fail(`${m[1]}: ${error.message}`); }
  }
  const operands = splitTop(m[3]);
  if (operands.length !== gate.qubits) fail(`${m[1]} acts on ${gate.qubits} qubit${gate.qubits === 1 ? "" : "s"}`);
  const lists = operands.map(qubitsOf);
  if (gate.qubits === 1) return lists[0].map((q) => ({ name, qubits: [q], params }));
  if (lists.some((list) => list.length !== 1)) fail(`the canvas draws ${m[1]} on single qubits, not whole registers`);
  const qubits = lists.map((list) => list[0]);
  if (new Set(qubits).size !== qubits.length) fail(`${m[1]}: a qubit appears twice`);
  return [{ name, qubits, params }];
}
