// Grover search on 4 qubits, marked item |1011>, three iterations.
// The controlled-controlled-controlled-Z is built from cu1 and cx
// (Gray-code construction: pi * a*b*c*d as a signed sum of parities).
OPENQASM 2.0;
include "qelib1.inc";

gate c3z a, b, c, d
{
  cu1(pi/4) a, d;
  cx a, b;
  cu1(-pi/4) b, d;
  cx a, b;
  cu1(pi/4) b, d;
  cx b, c;
  cu1(-pi/4) c, d;
  cx a, c;
  cu1(pi/4) c, d;
  cx b, c;
  cu1(-pi/4) c, d;
  cx a, c;
  cu1(pi/4) c, d;
}

gate oracle a, b, c, d
{
  x c;
  c3z a, b, c, d;
  x c;
}

gate diffuser a, b, c, d
{
  h a; h b; h c; h d;
  x a; x b; x c; x d;
  c3z a, b, c, d;
  x a; x b; x c; x d;
  h a; h b; h c; h d;
}

qreg q[4];
creg c[4];
h q;
oracle q[0], q[1], q[2], q[3];
diffuser q[0], q[1], q[2], q[3];
oracle q[0], q[1], q[2], q[3];
diffuser q[0], q[1], q[2], q[3];
oracle q[0], q[1], q[2], q[3];
diffuser q[0], q[1], q[2], q[3];
measure q -> c;
