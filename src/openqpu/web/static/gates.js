// The composer's gates (Qiskit's standard gates and their OpenQASM names) and the angle
// expressions their parameters take ("pi/4", "-3*pi/2", "0.25").

/**
 * name: the OpenQASM name (Qiskit's); label: drawn on the canvas; button: the palette's
 * text (made from the rest when not given); qubits: how many;
 * params: parameter names; controls: leading qubits drawn as control dots; symbol: how
 * the other qubits are drawn ("box", "plus" for ⊕, "dot", "cross" for ×); group: palette row.
 */
export const GATES = [
  { name: "h", label: "H", title: "Hadamard", group: "single" },
  { name: "x", label: "X", title: "Pauli X (NOT)", group: "single" },
  { name: "y", label: "Y", title: "Pauli Y", group: "single" },
  { name: "z", label: "Z", title: "Pauli Z", group: "single" },
  { name: "s", label: "S", title: "S (√Z)", group: "single" },
  { name: "sdg", label: "S†", title: "S dagger", group: "single" },
  { name: "t", label: "T", title: "T (⁴√Z)", group: "single" },
  { name: "tdg", label: "T†", title: "T dagger", group: "single" },
  { name: "sx", label: "√X", title: "Square root of X", group: "single" },
  { name: "sxdg", label: "√X†", title: "Square root of X, dagger", group: "single" },
  { name: "id", label: "I", title: "Identity", group: "single" },
  { name: "rx", label: "RX", title: "Rotation about X", params: ["θ"], group: "rotation" },
  { name: "ry", label: "RY", title: "Rotation about Y", params: ["θ"], group: "rotation" },
  { name: "rz", label: "RZ", title: "Rotation about Z", params: ["θ"], group: "rotation" },
  { name: "p", label: "P", title: "Phase", params: ["λ"], group: "rotation" },
  { name: "u", label: "U", title: "General single-qubit gate U(θ, φ, λ)", params: ["θ", "φ", "λ"],
    group: "rotation" },
  { name: "cx", label: "X", title: "Controlled X (CNOT)", qubits: 2, controls: 1, symbol: "plus", group: "two" },
  { name: "cy", label: "Y", title: "Controlled Y", qubits: 2, controls: 1, group: "two" },
  { name: "cz", label: "Z", title: "Controlled Z", qubits: 2, controls: 1, symbol: "dot", group: "two" },
  { name: "ch", label: "H", title: "Controlled Hadamard", qubits: 2, controls: 1, group: "two" },
  { name: "cp", label: "P", title: "Controlled phase", qubits: 2, controls: 1, params: ["λ"], group: "two" },
  { name: "crx", label: "RX", title: "Controlled RX", qubits: 2, controls: 1, params: ["θ"], group: "two" },
  { name: "cry", label: "RY", title: "Controlled RY", qubits: 2, controls: 1, params: ["θ"], group: "two" },
  { name: "crz", label: "RZ", title: "Controlled RZ", qubits: 2, controls: 1, params: ["θ"], group: "two" },
  { name: "swap", label: "×", title: "Swap", qubits: 2, symbol: "cross", group: "two" },
  { name: "rzz", label: "RZZ", title: "ZZ rotation", qubits: 2, params: ["θ"], group: "two" },
  { name: "rxx", label: "RXX", title: "XX rotation", qubits: 2, params: ["θ"], group: "two" },
  { name: "ccx", label: "X", title: "Toffoli (CCX)", qubits: 3, controls: 2, symbol: "plus", group: "three" },
  { name: "cswap", label: "×", title: "Fredkin (controlled swap)", qubits: 3, controls: 1, symbol: "cross",
    group: "three" },
  { name: "measure", label: "M", title: "Measure into the classical bit of the same index", group: "other" },
  { name: "reset", label: "|0⟩", title: "Reset to |0⟩", group: "other" },
  { name: "barrier", label: "░", title: "Barrier (the transpiler does not move gates across it)",
    group: "other" },
].map((gate) => ({ qubits: 1, controls: 0, params: [], symbol: "box", ...gate }))
  .map((gate) => ({ button: gate.qubits > 1 ? gate.name.toUpperCase() : gate.label, ...gate }));

export const GATE = new Map(GATES.map((gate) => [gate.name, gate]));

export const GROUPS = [["single", "Single-qubit"], ["rotation", "Rotations"], ["two", "Two-qubit"],
  ["three", "Three-qubit"], ["other", "Measure, reset, barrier"]];

/** Other names the text may use for a palette gate (OpenQASM 2's u3, OpenQASM 3's U, ...). */
export const ALIASES = new Map([["u3", "u"], ["U", "u"], ["CX", "cx"], ["cnot", "cx"], ["phase", "p"],
  ["cphase", "cp"], ["toffoli", "ccx"], ["fredkin", "cswap"]]);

/** The default value of a new gate's parameters: a quarter turn. */
export const DEFAULT_ANGLE = "pi/2";

/** An angle expression that is not one (the message says why). */
export class AngleError extends Error {}

/**
 * The value of an angle expression: numbers, pi (or π), + - * / and parentheses.
 * Throws AngleError naming what is wrong.
 */
export function angle(text) {
  const tokens = String(text).replaceAll("π", "pi")
    .match(/\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?|[A-Za-z_]\w*|[-+*/()]|\S/gi) || [];
  let at = 0;
  const peek = () => tokens[at];
  const expect = (what) => {
    if (tokens[at] !== what) throw new AngleError(`expected '${what}' in '${text}'`);
    at += 1;
  };
  const atom = () => {
    const token = tokens[at++];
    if (token === undefined) throw new AngleError(`'${text}' ends too early`);
    if (token === "(") { const value = sum(); expect(")"); return value; }
    if (token === "-") return -atom();
    if (token === "+") return atom();
    if (token.toLowerCase() === "pi") return Math.PI;
    if (/^[\d.]/.test(token)) return Number(token);
    throw new AngleError(`'${token}' is not part of an angle (use numbers, pi, + - * / and parentheses)`);
  };
  const product = () => {
    let value = atom();
    while (peek() === "*" || peek() === "/") {
      const op = tokens[at++];
      const right = atom();
      value = op === "*" ? value * right : value / right;
    }
    return value;
  };
  const sum = () => {
    let value = product();
    while (peek() === "+" || peek() === "-") {
      const op = tokens[at++];
      const right = product();
      value = op === "+" ? value + right : value - right;
    }
    return value;
  };
  if (!tokens.length) throw new AngleError("an angle is needed");
  const value = sum();
  if (at < tokens.length) throw new AngleError(`unexpected '${tokens[at]}' in '${text}'`);
  if (!Number.isFinite(value)) throw new AngleError(`'${text}' is not a finite number`);
  return value;
}

/** An angle expression as OpenQASM writes it: "π" spelt "pi", spaces trimmed. */
export function angleText(text) {
  return String(text).replaceAll("π", "pi").replace(/\s+/g, "");
}
