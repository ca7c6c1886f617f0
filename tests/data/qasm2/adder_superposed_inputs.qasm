// Ripple-carry adder acting on a superposition of inputs.
// a ranges over 0..3 in uniform superposition, b = 101 (5); every a + b appears
// with equal probability together with the (unchanged) value of a.
OPENQASM 2.0;
include "qelib1.inc";
gate maj a,b,c { cx c,b; cx c,a; ccx a,b,c; }
gate uma a,b,c { ccx a,b,c; cx c,a; cx a,b; }
qreg q[8];   // q[0] carry-in, a = q[1],q[3],q[5]; b = q[2],q[4],q[6]; q[7] carry-out
creg sum[4];
creg ain[3];
h q[1];
h q[3];
x q[2];
x q[6];
barrier q;
maj q[0],q[2],q[1];
maj q[1],q[4],q[3];
maj q[3],q[6],q[5];
cx q[5],q[7];
uma q[3],q[6],q[5];
uma q[1],q[4],q[3];
uma q[0],q[2],q[1];
barrier q;
measure q[2] -> sum[0];
measure q[4] -> sum[1];
measure q[6] -> sum[2];
measure q[7] -> sum[3];
measure q[1] -> ain[0];
measure q[3] -> ain[1];
measure q[5] -> ain[2];
