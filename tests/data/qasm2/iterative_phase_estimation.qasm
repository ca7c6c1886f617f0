// Iterative phase estimation (3 bits) of U = u1(2*pi/3) on its eigenstate |1>.
// One ancilla is measured, reset and reused; earlier bits feed back as phase
// corrections through classically controlled u1 gates. Since 1/3 has no exact
// 3-bit expansion, the outcome is spread, peaking at 011 (3/8 = 0.375).
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[3];
// q[1] is the eigenstate register
x q[1];

// least significant bit: controlled-U^4
h q[0];
cu1(8*pi/3) q[0],q[1];
h q[0];
measure q[0] -> c[0];
reset q[0];

// middle bit: controlled-U^2, feedback from c[0]
h q[0];
cu1(4*pi/3) q[0],q[1];
if(c==1) u1(-pi/2) q[0];
h q[0];
measure q[0] -> c[1];
reset q[0];

// most significant bit: controlled-U, feedback from c[1], c[0]
h q[0];
cu1(2*pi/3) q[0],q[1];
if(c==1) u1(-pi/4) q[0];
if(c==2) u1(-pi/2) q[0];
if(c==3) u1(-3*pi/4) q[0];
h q[0];
measure q[0] -> c[2];
