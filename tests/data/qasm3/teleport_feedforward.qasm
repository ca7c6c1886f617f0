// Teleportation with OpenQASM 3 branching on individual measured bits.
// The teleported state is ry(0.8) rz(0.4)|0>, which is undone on the
// receiving qubit, so the final bit r[0] is always 0.
OPENQASM 3.0;
include "stdgates.inc";

qubit[3] q;
bit[2] m;
bit[1] r;

ry(0.8) q[0];
rz(0.4) q[0];
h q[1];
cx q[1], q[2];

cx q[0], q[1];
h q[0];
m[0] = measure q[0];
m[1] = measure q[1];

if (m[1]) {
  x q[2];
}
if (m[0]) {
  z q[2];
}

rz(-0.4) q[2];
ry(-0.8) q[2];
r[0] = measure q[2];
