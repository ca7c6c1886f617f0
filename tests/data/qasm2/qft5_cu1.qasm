// 5-qubit quantum Fourier transform built from h, cu1 and swap,
// applied to the input (|00010> + |00011> + |01010> + |01011>)/2.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
creg c[5];

// input state
h q[0];
x q[1];
h q[3];
barrier q;

// QFT
h q[4];
cu1(pi/2) q[3],q[4];
cu1(pi/4) q[2],q[4];
cu1(pi/8) q[1],q[4];
cu1(pi/16) q[0],q[4];
h q[3];
cu1(pi/2) q[2],q[3];
cu1(pi/4) q[1],q[3];
cu1(pi/8) q[0],q[3];
h q[2];
cu1(pi/2) q[1],q[2];
cu1(pi/4) q[0],q[2];
h q[1];
cu1(pi/2) q[0],q[1];
h q[0];
swap q[0],q[4];
swap q[1],q[3];

measure q -> c;
