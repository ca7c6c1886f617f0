// Gate modifiers (ctrl, negctrl, inv, ctrl(n)) and parameterised custom gates
// on 5 qubits in OpenQASM 3.
OPENQASM 3.0;
include "stdgates.inc";

gate entangle(theta) a, b {
  cx a, b;
  rz(theta) b;
  cx a, b;
}

gate layer(t0, t1) a, b, c {
  ry(t0) a;
  ry(t1) b;
  ry(t0 + t1) c;
  entangle(t0 / 2) a, b;
  entangle(-t1) b, c;
}

qubit[5] q;
bit[5] c;

h q[0];
h q[1];
U(0.3, -0.2, 0.9) q[2];
layer(0.4, 1.3) q[0], q[2], q[4];
ctrl @ h q[0], q[3];
negctrl @ x q[1], q[4];
ctrl(2) @ x q[0], q[1], q[2];
ctrl @ rz(pi / 3) q[4], q[1];
inv @ t q[3];
inv @ layer(0.2, -0.5) q[1], q[3], q[4];
sx q[2];
crx(0.7) q[3], q[0];
cu(0.1, 0.2, 0.3, 0.4) q[2], q[4];
h q[0];
h q[2];
c = measure q;
