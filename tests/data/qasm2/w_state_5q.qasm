// 5-qubit W state (|10000> + |01000> + |00100> + |00010> + |00001>)/sqrt(5).
// Each step moves amplitude from qubit k to qubit k+1 with a controlled-Y
// rotation (cu3 with phi = lambda = 0) followed by a cx back onto qubit k.
// The last step writes the controlled rotation out in ry/cx form.
// theta_k = 2*acos(sqrt(1/(n-k))).
OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
creg c[5];
x q[0];
cu3(2.214297435588181,0,0) q[0],q[1];
cx q[1],q[0];
cu3(2*pi/3,0,0) q[1],q[2];
cx q[2],q[1];
cu3(1.9106332362490186,0,0) q[2],q[3];
cx q[3],q[2];
// controlled-ry(pi/2) from q[3] to q[4]
ry(pi/4) q[4];
cx q[3],q[4];
ry(-pi/4) q[4];
cx q[3],q[4];
cx q[4],q[3];
measure q -> c;
