// Swap test between two 2-qubit states. P(ancilla = 0) = (1 + |<a|b>|^2) / 2.
OPENQASM 2.0;
include "qelib1.inc";
qreg anc[1];
qreg a[2];
qreg b[2];
creg result[1];
// |a> : a small entangled state
ry(0.7) a[0];
cx a[0],a[1];
rz(0.3) a[1];
// |b> : a product state
ry(1.4) b[0];
rx(-0.5) b[1];
h anc[0];
cswap anc[0],a[0],b[0];
cswap anc[0],a[1],b[1];
h anc[0];
measure anc[0] -> result[0];
