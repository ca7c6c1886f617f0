// Relative-phase Toffolis (rccx, rc3x) next to the exact c3x, c3sqrtx and c4x,
// with controls in superposition and a final interference layer so the
// relative phases show up in the measured distribution.
OPENQASM 2.0;
include "qelib1.inc";
qreg ctl[4];
qreg tgt[2];
creg c[6];
h ctl;
ry(0.8) tgt[0];
rccx ctl[0],ctl[1],tgt[0];
rc3x ctl[1],ctl[2],ctl[3],tgt[1];
c3sqrtx ctl[0],ctl[2],ctl[3],tgt[0];
c4x ctl[0],ctl[1],ctl[2],ctl[3],tgt[1];
c3x tgt[1],ctl[0],ctl[1],tgt[0];
ch tgt[0],ctl[2];
csx tgt[1],ctl[3];
h ctl;
measure ctl[0] -> c[0];
measure ctl[1] -> c[1];
measure ctl[2] -> c[2];
measure ctl[3] -> c[3];
measure tgt[0] -> c[4];
measure tgt[1] -> c[5];
