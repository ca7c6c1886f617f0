// Run by tests/web/test_composer.py: the composer's OpenQASM writer and reader
// (src/openqpu/web/static/qasm.js) on a circuit with every palette gate, both versions.
// Prints JSON: {qasm2, qasm3, gates, round_trip: {"2": bool, "3": bool}, refused: [...]}.

import { emptyCircuit, newOp, put } from "../../src/openqpu/web/static/circuit.js";
import { GATES } from "../../src/openqpu/web/static/gates.js";
import { parseQasm, toQasm } from "../../src/openqpu/web/static/qasm.js";

const ANGLES = ["pi/4", "-3*pi/8", "0.3", "(1+2)*pi/7"];
let circuit = emptyCircuit(3);
let col = 0;
const gates = [];
GATES.forEach((gate, i) => {
  if (gate.name === "measure") return;  // measured at the end, below
  // Each gate on rotating wires (controls below targets too), parameters from the list above.
  const op = newOp(gate.name, 0, circuit.qubits);
  op.qubits = [(i + 2) % 3, i % 3, (i + 1) % 3].slice(0, gate.qubits);
  op.params = op.params.map((_, k) => ANGLES[(i + k) % ANGLES.length]);
  circuit = put(circuit, op, col++).circuit;
  gates.push({ name: gate.name, qubits: op.qubits, params: op.params });
});
for (let q = 0; q < 3; q++) {
  circuit = put(circuit, { name: "measure", qubits: [q], params: [], clbit: 2 - q }, col).circuit;
}
const qasm2 = toQasm(circuit, 2), qasm3 = toQasm(circuit, 3);
const same = (text) => {
  const back = parseQasm(text).circuit;
  return JSON.stringify(back.ops.map(({ name, qubits, params, clbit }) => [name, qubits, params, clbit]))
    === JSON.stringify(circuit.ops.map(({ name, qubits, params, clbit }) => [name, qubits, params, clbit]));
};
const refused = [
  'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nif (c==1) x q[0];\n',
  "OPENQASM 3.0;\nqubit[2] q;\ngate g a { h a; }\ng q[0];\n",
  "OPENQASM 3.0;\nqubit[2] q;\nctrl @ x q[0], q[1];\n",
  "OPENQASM 2.0;\nqreg q[2];\nqreg r[2];\n",
].map((text) => {
  try {
    parseQasm(text);
    return null;
  } catch (error) {
    return { line: error.line, message: error.message };
  }
});
console.log(JSON.stringify({ qasm2, qasm3, gates, round_trip: { 2: same(qasm2), 3: same(qasm3) }, refused }));
