// 4-qubit QFT written as a custom gate with cp, checked by running QFT on a
// basis state, a phase kick, and the inverse QFT through the inv modifier.
OPENQASM 3.0;
include "stdgates.inc";

gate qft4 a, b, c, d {
  h d;
  cp(pi/2) c, d;
  cp(pi/4) b, d;
  cp(pi/8) a, d;
  h c;
  cp(pi/2) b, c;
  cp(pi/4) a, c;
  h b;
  cp(pi/2) a, b;
  h a;
  swap a, d;
  swap b, c;
}

qubit[4] q;
bit[4] c;

x q[0];
x q[2];
qft4 q[0], q[1], q[2], q[3];
// shift the Fourier state by a non-integer amount
p(2*pi*0.15) q[0];
p(2*pi*0.3) q[1];
p(2*pi*0.6) q[2];
p(2*pi*1.2) q[3];
inv @ qft4 q[0], q[1], q[2], q[3];
c = measure q;
