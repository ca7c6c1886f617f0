// Grover search on 4 qubits using an ancilla prepared in |-> and a c3x-based
// oracle (phase kickback). Marked item: |0110>. Two iterations.
// Only the four search qubits are measured.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[4];
qreg anc[1];
creg c[4];

x anc[0];
h anc[0];
h q[0];
h q[1];
h q[2];
h q[3];

// oracle for 0110, implemented as a 4-controlled X onto the ancilla
x q[0];
x q[3];
c4x q[0],q[1],q[2],q[3],anc[0];
x q[0];
x q[3];
// diffuser with c3x
h q[0]; h q[1]; h q[2]; h q[3];
x q[0]; x q[1]; x q[2]; x q[3];
h q[3];
c3x q[0],q[1],q[2],q[3];
h q[3];
x q[0]; x q[1]; x q[2]; x q[3];
h q[0]; h q[1]; h q[2]; h q[3];

x q[0];
x q[3];
c4x q[0],q[1],q[2],q[3],anc[0];
x q[0];
x q[3];
h q[0]; h q[1]; h q[2]; h q[3];
x q[0]; x q[1]; x q[2]; x q[3];
h q[3];
c3x q[0],q[1],q[2],q[3];
h q[3];
x q[0]; x q[1]; x q[2]; x q[3];
h q[0]; h q[1]; h q[2]; h q[3];

barrier q;
measure q -> c;
