// Bernstein-Vazirani with a 6-bit hidden string s = 101101.
// One oracle query; the measured register reads s.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[6];
qreg anc[1];
creg c[6];

x anc[0];
h anc[0];
h q;
barrier q, anc;
// oracle f(x) = s.x mod 2
cx q[0], anc[0];
cx q[2], anc[0];
cx q[3], anc[0];
cx q[5], anc[0];
barrier q, anc;
h q;
measure q -> c;
