// Three-qubit phase-flip code with coherent (measurement-free) correction.
// A Z error on q[1] is turned into a bit flip by the Hadamard frame, decoded,
// and corrected with a Toffoli controlled by the two syndrome qubits.
// The encoded state ry(1.1)|0> is un-prepared at the end, so q[0] reads 0
// and the syndrome qubits q[2]q[1] read 01.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
ry(1.1) q[0];
// encode in the |+>/|-> basis
cx q[0],q[1];
cx q[0],q[2];
h q[0];
h q[1];
h q[2];
barrier q;
// phase-flip error
z q[1];
barrier q;
// decode
h q[0];
h q[1];
h q[2];
cx q[0],q[1];
cx q[0],q[2];
ccx q[2],q[1],q[0];
ry(-1.1) q[0];
measure q -> c;
