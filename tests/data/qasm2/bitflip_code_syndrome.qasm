// Three-qubit bit-flip code with two rounds of syndrome extraction.
// Data: q[0..2], ancillas a[0..1]. Syndrome s0 = q0 xor q1, s1 = q1 xor q2.
// Round 1 corrects an X error on q[1]; the ancillas are reset and reused in
// round 2, which corrects an X error on q[2]. Finally the code is decoded.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
qreg a[2];
creg syn[2];
creg out[3];

// logical state ry(0.9)|0>, encoded
ry(0.9) q[0];
cx q[0],q[1];
cx q[0],q[2];
barrier q, a;

// error
x q[1];

// round 1
cx q[0],a[0];
cx q[1],a[0];
cx q[1],a[1];
cx q[2],a[1];
measure a[0] -> syn[0];
measure a[1] -> syn[1];
if(syn==1) x q[0];
if(syn==3) x q[1];
if(syn==2) x q[2];
reset a[0];
reset a[1];
barrier q, a;

// another error, round 2
x q[2];
cx q[0],a[0];
cx q[1],a[0];
cx q[1],a[1];
cx q[2],a[1];
measure a -> syn;
if(syn==1) x q[0];
if(syn==3) x q[1];
if(syn==2) x q[2];

// decode
cx q[0],q[2];
cx q[0],q[1];
measure q -> out;
