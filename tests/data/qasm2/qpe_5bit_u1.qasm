// Quantum phase estimation with 5 counting qubits for U = u1(2*pi*0.2)
// acting on its eigenstate |1>. The estimate peaks at 0.2*32 = 6.4 -> 00110.
OPENQASM 2.0;
include "qelib1.inc";
qreg cnt[5];
qreg psi[1];
creg c[5];
x psi[0];
h cnt;
cu1(2*pi*0.2) cnt[0],psi[0];
cu1(2*pi*0.4) cnt[1],psi[0];
cu1(2*pi*0.8) cnt[2],psi[0];
cu1(2*pi*1.6) cnt[3],psi[0];
cu1(2*pi*3.2) cnt[4],psi[0];
barrier cnt, psi;
// inverse QFT on the counting register
swap cnt[0],cnt[4];
swap cnt[1],cnt[3];
h cnt[0];
cu1(-pi/2) cnt[0],cnt[1];
h cnt[1];
cu1(-pi/4) cnt[0],cnt[2];
cu1(-pi/2) cnt[1],cnt[2];
h cnt[2];
cu1(-pi/8) cnt[0],cnt[3];
cu1(-pi/4) cnt[1],cnt[3];
cu1(-pi/2) cnt[2],cnt[3];
h cnt[3];
cu1(-pi/16) cnt[0],cnt[4];
cu1(-pi/8) cnt[1],cnt[4];
cu1(-pi/4) cnt[2],cnt[4];
cu1(-pi/2) cnt[3],cnt[4];
h cnt[4];
measure cnt -> c;
