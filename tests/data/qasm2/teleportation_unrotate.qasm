// Teleport ry(1.2)|0> from q[0] to q[2], then undo the preparation on q[2]:
// the final measurement of q[2] must always give 0.
// The Bell-measurement outcome is stored in a single 2-bit register and the
// corrections use register-valued conditions.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg m[2];
creg out[1];
ry(1.2) q[0];
h q[1];
cx q[1],q[2];
cx q[0],q[1];
h q[0];
measure q[0] -> m[0];
measure q[1] -> m[1];
if(m==1) z q[2];
if(m==2) x q[2];
if(m==3) y q[2];
ry(-1.2) q[2];
measure q[2] -> out[0];
