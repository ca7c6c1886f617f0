// Parity monitoring with ancilla reuse (OpenQASM 3): two data qubits in a
// superposition, three rounds of ZZ-parity measurement with a reset ancilla,
// and an if/else correction on the first round's result.
OPENQASM 3.0;
include "stdgates.inc";

qubit[2] d;
qubit[1] anc;
bit[3] parity;
bit[2] data;

ry(1.0) d[0];
ry(2.2) d[1];

// round 1
cx d[0], anc[0];
cx d[1], anc[0];
parity[0] = measure anc[0];
reset anc[0];
if (parity[0]) {
  x d[1];
} else {
  h d[0];
  h d[1];
}

// round 2
cx d[0], anc[0];
cx d[1], anc[0];
parity[1] = measure anc[0];
reset anc[0];

// round 3, measuring the parity of X X instead
h d[0];
h d[1];
cx d[0], anc[0];
cx d[1], anc[0];
parity[2] = measure anc[0];
h d[0];
h d[1];

if (parity == 7) {
  z d[0];
}
data = measure d;
