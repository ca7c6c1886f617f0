// Simon's algorithm for n = 3 with hidden period s = 110.
// The input register is measured into c_in (outcomes y with y.s = 0) and
// the output register into c_out: two classical registers.
OPENQASM 2.0;
include "qelib1.inc";
qreg xin[3];
qreg fout[3];
creg c_in[3];
creg c_out[3];
h xin;
barrier xin, fout;
// oracle: f(x) = x xor (x[1] * s)
cx xin[0],fout[0];
cx xin[1],fout[1];
cx xin[2],fout[2];
cx xin[1],fout[1];
cx xin[1],fout[2];
barrier xin, fout;
h xin;
measure xin -> c_in;
measure fout -> c_out;
