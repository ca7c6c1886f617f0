// Exercises (almost) every gate in qelib1.inc on 6 qubits in superposition,
// so that relative phases of the decompositions matter.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[6];
creg c[6];

// single-qubit gates
h q[0];
u2(0,pi) q[1];
u3(pi/3,pi/5,-pi/7) q[2];
u1(0.3) q[2];
rx(0.25) q[3];
ry(-0.4) q[4];
rz(1.3) q[4];
sx q[5];
s q[0];
sdg q[1];
t q[2];
tdg q[3];
x q[4];
y q[5];
z q[0];
id q[1];
u(0.2,0.4,0.6) q[3];
p(0.7) q[5];
sxdg q[4];
u0(1) q[2];
barrier q;

// two-qubit gates
cx q[0],q[1];
cy q[1],q[2];
cz q[2],q[3];
ch q[3],q[4];
swap q[4],q[5];
crx(0.5) q[5],q[0];
cry(-0.6) q[0],q[2];
crz(pi/3) q[4],q[0];
cu1(pi/8) q[1],q[3];
cp(-pi/5) q[2],q[4];
cu3(0.4,0.5,0.6) q[2],q[5];
cu(0.1,0.2,0.3,0.4) q[3],q[1];
csx q[1],q[4];
rxx(0.9) q[0],q[5];
rzz(-1.1) q[1],q[2];
barrier q;

// three or more qubits
ccx q[0],q[1],q[2];
cswap q[5],q[2],q[3];
rccx q[3],q[4],q[5];
rc3x q[0],q[2],q[4],q[1];
c3x q[0],q[1],q[2],q[5];
c3sqrtx q[1],q[2],q[3],q[0];
c4x q[5],q[4],q[3],q[2],q[1];
barrier q;
h q[0];
h q[2];
sdg q[4];
h q[4];
measure q -> c;
