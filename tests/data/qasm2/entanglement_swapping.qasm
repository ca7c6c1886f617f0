// Entanglement swapping: Bell pairs (q0,q1) and (q2,q3); a Bell measurement
// on q1,q2 with feed-forward Pauli corrections on q3 leaves (q0,q3) in
// |Phi+>. The final Bell-basis measurement of q0,q3 therefore reads 00.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[4];
creg bell[2];
creg check[2];
h q[0];
cx q[0],q[1];
h q[2];
cx q[2],q[3];
barrier q;
cx q[1],q[2];
h q[1];
measure q[1] -> bell[0];
measure q[2] -> bell[1];
if(bell==2) x q[3];
if(bell==1) z q[3];
if(bell==3) x q[3];
if(bell==3) z q[3];
barrier q;
cx q[0],q[3];
h q[0];
measure q[0] -> check[0];
measure q[3] -> check[1];
