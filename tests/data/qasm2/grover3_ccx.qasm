// Grover search over 3 qubits for the marked item |101>.
// The phase oracle and the diffuser use a Toffoli conjugated by Hadamards
// as the controlled-controlled-Z. Two iterations: P(101) ~ 0.945.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];

h q[0];
h q[1];
h q[2];

// ---- iteration 1 ----
// oracle: flip the phase of |101>
x q[1];
h q[2];
ccx q[0],q[1],q[2];
h q[2];
x q[1];
// diffuser
h q[0];
h q[1];
h q[2];
x q[0];
x q[1];
x q[2];
h q[2];
ccx q[0],q[1],q[2];
h q[2];
x q[0];
x q[1];
x q[2];
h q[0];
h q[1];
h q[2];

// ---- iteration 2 ----
x q[1];
h q[2];
ccx q[0],q[1],q[2];
h q[2];
x q[1];
h q[0];
h q[1];
h q[2];
x q[0];
x q[1];
x q[2];
h q[2];
ccx q[0],q[1],q[2];
h q[2];
x q[0];
x q[1];
x q[2];
h q[0];
h q[1];
h q[2];

measure q -> c;
