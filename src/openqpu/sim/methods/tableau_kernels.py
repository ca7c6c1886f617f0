"""Numba kernels of the exact tableau variant of the stabilizer method: noisy Clifford
shots, one Aaronson-Gottesman tableau per shot, shots in parallel.

The tableau of ``n`` qubits has ``2n`` rows (destabilisers 0..n-1, stabilisers
n..2n-1) and is stored by column, bit-packed over rows: ``xs[j, w]`` holds the X bits of
qubit ``j`` for rows ``64 w .. 64 w + 63``, ``zs`` the Z bits, ``r`` the signs. A gate
then costs a few word operations per ``2n / 64`` words, a Pauli error one; a random
measurement multiplies all rows that anticommute with it at once, with the phase counted
bit-sliced (two bit planes, mod 4); a deterministic one multiplies the stabilisers that
the destabilisers pick, column by column.

Each qubit's value in the Z basis is also tracked while it is known (after a reset or
measurement, through diagonal gates, X and Y, CX with both known): measuring such a
qubit needs no tableau work, resetting it at most an X, and relaxation of a qubit known
to be |0> is the identity.

Randomness: a splitmix64 stream per shot (its state a local scalar), seeded from the
run's seed and the shot's index, so counts do not depend on how shots are spread over
threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Operation codes of a lowered program. Columns of ``ops``: code, a, b, clbit,
# condition clbit (-1: unconditional), condition value; ``probs`` holds p1, p2, p3.
H = 0
S = 1
S_DAG = 2
SQRT_X = 3
SQRT_X_DAG = 4
X = 5
Y = 6
Z = 7
CX = 8  # a: control, b: target
CZ = 9
SWAP = 10
MEASURE = 11  # a: qubit, clbit; p1: P(1|0), p2: P(0|1)
RESET = 12  # a: qubit
DEPOLARIZE1 = 13  # a; p1: probability of X, Y or Z (uniform)
DEPOLARIZE2 = 14  # a, b; p1: probability of one of the 15 non-identity Paulis (uniform)
PAULI1 = 15  # a; p1, p2, p3: probabilities of X, Y, Z
RELAX = 16  # a; p1: probability of a reset to |0>, p2: of Z

_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S6 = np.uint64(6)
_M63 = np.uint64(63)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2^-53


@njit(cache=True)
def _next(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    """splitmix64: the next state and its 64 random bits (scalars: no array to count)."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return state, z ^ (z >> _S31)


@njit(cache=True)
def _exponential(state: np.uint64) -> tuple[np.uint64, float]:
    """The next state and an exponential draw of mean 1."""
    state, u = _uniform(state)
    return state, -np.log1p(-u)


@njit(cache=True)
def _uniform(state: np.uint64) -> tuple[np.uint64, float]:
    """The next state and a uniform draw in [0, 1)."""
    state, bits = _next(state)
    return state, float(bits >> _S11) * _TO_UNIT


@njit(cache=True)
def _coin(state: np.uint64) -> tuple[np.uint64, int]:
    """The next state and a fair coin, 0 or 1 (the draw's top bit)."""
    state, bits = _next(state)
    return state, np.int64(bits >> _M63)  # type: ignore[return-value]  # numba's int is np.int64


@njit(cache=True, inline="always")
def _bit(words: np.ndarray, k: int) -> int:
    return np.int64((words[k >> 6] >> np.uint64(k & 63)) & _ONE)  # type: ignore[return-value]  # numba's int is np.int64


@njit(cache=True, inline="always")
def _set_bit(words: np.ndarray, k: int, value: int) -> None:
    mask = _ONE << np.uint64(k & 63)
    if value:
        words[k >> 6] |= mask
    else:
        words[k >> 6] &= ~mask


@njit(cache=True, inline="always")
def _bit2(table: np.ndarray, j: int, k: int) -> int:
    return np.int64((table[j, k >> 6] >> np.uint64(k & 63)) & _ONE)  # type: ignore[return-value]  # numba's int is np.int64


@njit(cache=True, inline="always")
def _set_bit2(table: np.ndarray, j: int, k: int, value: int) -> None:
    mask = _ONE << np.uint64(k & 63)
    if value:
        table[j, k >> 6] |= mask
    else:
        table[j, k >> 6] &= ~mask


@njit(cache=True, inline="always")
def _g(x1: int, z1: int, x2: int, z2: int) -> int:
    """Exponent of i in the product of Paulis (x1, z1) (x2, z2) (Aaronson-Gottesman)."""
    if x1 == 0:
        if z1 == 0:
            return 0
        return x2 * (1 - 2 * z2)
    if z1 == 0:
        return z2 * (2 * x2 - 1)
    return z2 - x2


@njit(cache=True)
def _reset_tableau(xs: np.ndarray, zs: np.ndarray, r: np.ndarray, n: int) -> None:
    """|0...0>: destabiliser j is X_j, stabiliser j is Z_j, all signs +."""
    xs[:] = 0
    zs[:] = 0
    r[:] = 0
    for j in range(n):
        _set_bit2(xs, j, j, 1)
        _set_bit2(zs, j, n + j, 1)


@njit(cache=True, inline="always")
def _pauli(p: int, a: int, xs: np.ndarray, zs: np.ndarray, r: np.ndarray) -> None:
    """Pauli ``p`` (1: X, 2: Y, 3: Z) on qubit ``a``: flips the signs of anticommuting rows."""
    for w in range(r.shape[0]):
        if p == 1:
            r[w] ^= zs[a, w]
        elif p == 2:
            r[w] ^= xs[a, w] ^ zs[a, w]
        elif p == 3:
            r[w] ^= xs[a, w]


@njit(cache=True)
def _measure(
    a: int,
    n: int,
    xs: np.ndarray,
    zs: np.ndarray,
    r: np.ndarray,
    mask: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    coin: int,
) -> int:
    """Measure Z on qubit ``a``; the outcome (``coin`` if random), the tableau collapsed."""
    words = r.shape[0]
    # A stabiliser with X or Y on ``a`` anticommutes with Z_a: the outcome is random.
    p = -1
    for k in range(n, 2 * n):
        if _bit2(xs, a, k):
            p = k
            break
    if p >= 0:
        for w in range(words):
            mask[w] = xs[a, w]
            lo[w] = 0
            hi[w] = 0
        _set_bit(mask, p, 0)
        # Every other row anticommuting with Z_a becomes its product with row p:
        # columns at once, the exponent of i counted mod 4 in two bit planes.
        for j in range(n):
            x1 = _bit2(xs, j, p)
            z1 = _bit2(zs, j, p)
            if x1 == 0 and z1 == 0:
                continue
            for w in range(words):
                m = mask[w]
                x2 = xs[j, w]
                z2 = zs[j, w]
                if x1 == 1 and z1 == 0:
                    plus = x2 & z2
                    minus = ~x2 & z2
                elif x1 == 0:
                    plus = x2 & ~z2
                    minus = x2 & z2
                else:
                    plus = z2 & ~x2
                    minus = x2 & ~z2
                plus &= m
                minus &= m
                carry = lo[w] & plus
                lo[w] ^= plus
                hi[w] ^= carry
                borrow = ~lo[w] & minus
                lo[w] ^= minus
                hi[w] ^= borrow
                if x1:
                    xs[j, w] ^= m
                if z1:
                    zs[j, w] ^= m
        sign_p = _ALL if _bit(r, p) else np.uint64(0)
        for w in range(words):
            r[w] ^= mask[w] & (hi[w] ^ sign_p)
        # Destabiliser p - n takes the old stabiliser p; stabiliser p becomes +-Z_a.
        d = p - n
        for j in range(n):
            _set_bit2(xs, j, d, _bit2(xs, j, p))
            _set_bit2(zs, j, d, _bit2(zs, j, p))
            _set_bit2(xs, j, p, 0)
            _set_bit2(zs, j, p, 0)
        _set_bit(r, d, _bit(r, p))
        _set_bit2(zs, a, p, 1)
        _set_bit(r, p, coin)
        return coin
    # Deterministic: Z_a is the product of the stabilisers whose destabilisers have X or
    # Y on ``a``; its sign is the outcome (see ``_product_sign``).
    for w in range(words):
        mask[w] = 0
    for k in range(n):
        if _bit2(xs, a, k):
            _set_bit(mask, k + n, 1)
    return _product_sign(mask, n, xs, zs, r)


@njit(cache=True, inline="always")
def _popcount(v: np.uint64) -> int:
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((v * np.uint64(0x0101010101010101)) >> np.uint64(56))  # type: ignore[return-value]  # numba's int is np.int64


@njit(cache=True, inline="always")
def _prefix_parity(v: np.uint64) -> np.uint64:
    """Bit k: parity of bits 0..k of ``v``."""
    v ^= v << np.uint64(1)
    v ^= v << np.uint64(2)
    v ^= v << np.uint64(4)
    v ^= v << np.uint64(8)
    v ^= v << np.uint64(16)
    v ^= v << np.uint64(32)
    return v


@njit(cache=True)
def _product_sign(rows: np.ndarray, n: int, xs: np.ndarray, zs: np.ndarray, r: np.ndarray) -> int:
    """Sign bit of the product of the (commuting) rows in the bit mask ``rows``, known to
    be +-1 times a Pauli without Y.

    Column by column, with row k's Pauli i^(x_k z_k) X^x_k Z^z_k, the ordered product is
    i^(sum x_k z_k) (-1)^(#{k < l: z_k x_l}) X^(sum x) Z^(sum z), and X Z = -i Y: its
    exponent of i needs popcounts and one prefix parity per word, not a loop over rows.
    """
    words = r.shape[0]
    exponent = 0
    for w in range(words):
        exponent += 2 * _popcount(r[w] & rows[w])
    for j in range(n):
        both = 0
        cross = 0
        parity_x = 0
        parity_z = 0
        for w in range(words):
            x = xs[j, w] & rows[w]
            z = zs[j, w] & rows[w]
            if x == 0 and z == 0:
                continue
            both += _popcount(x & z)
            before = _prefix_parity(z) << np.uint64(1)
            if parity_z:
                before = ~before
            cross ^= _popcount(x & before) & 1
            parity_x ^= _popcount(x) & 1
            parity_z ^= _popcount(z) & 1
        exponent += both + 2 * cross - parity_x * parity_z
    return (exponent % 4) // 2


@njit(cache=True)
def _shot(
    ops: np.ndarray,
    probs: np.ndarray,
    hazard: np.ndarray,
    n: int,
    xs: np.ndarray,
    zs: np.ndarray,
    r: np.ndarray,
    known: np.ndarray,
    clbits: np.ndarray,
    mask: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    seed: np.uint64,
) -> None:
    """One shot of the program from |0...0>; the classical bits end in ``clbits``.

    A gate updates the signs from the columns before it, then the columns
    (Aaronson-Gottesman); columns are indexed in place (``xs[a, w]``), never sliced.
    """
    words = r.shape[0]
    rng = seed
    _reset_tableau(xs, zs, r, n)
    known[:] = 0
    clbits[:] = 0
    # Noise events, drawn ahead: the channels fire as a Poisson process in the cumulative
    # hazard -log(1 - p) (``hazard``), so the next event is one exponential draw and a
    # binary search away, and the many channels that do nothing cost no draw.
    rng, e = _exponential(rng)
    next_event = np.searchsorted(hazard, e)
    for k in range(ops.shape[0]):
        fired = k == next_event
        if fired:
            rng, e = _exponential(rng)
            next_event = np.searchsorted(hazard, hazard[k] + e)
        code = ops[k, 0]
        a = ops[k, 1]
        condition = ops[k, 4]
        if condition >= 0 and clbits[condition] != ops[k, 5]:
            continue
        if code <= SWAP:
            # The gate in place: a call per gate (arrays passed with reference
            # counting) cost several times the gate's few word operations.
            b = ops[k, 2]
            if code == H:
                for w in range(words):
                    r[w] ^= xs[a, w] & zs[a, w]
                    flip = xs[a, w] ^ zs[a, w]
                    xs[a, w] ^= flip
                    zs[a, w] ^= flip
            elif code == S:
                for w in range(words):
                    r[w] ^= xs[a, w] & zs[a, w]
                    zs[a, w] ^= xs[a, w]
            elif code == S_DAG:
                for w in range(words):
                    r[w] ^= xs[a, w] & ~zs[a, w]
                    zs[a, w] ^= xs[a, w]
            elif code == SQRT_X:
                for w in range(words):
                    r[w] ^= zs[a, w] & ~xs[a, w]
                    xs[a, w] ^= zs[a, w]
            elif code == SQRT_X_DAG:
                for w in range(words):
                    r[w] ^= xs[a, w] & zs[a, w]
                    xs[a, w] ^= zs[a, w]
            elif code == X:
                for w in range(words):
                    r[w] ^= zs[a, w]
            elif code == Y:
                for w in range(words):
                    r[w] ^= xs[a, w] ^ zs[a, w]
            elif code == Z:
                for w in range(words):
                    r[w] ^= xs[a, w]
            elif code == CX:
                for w in range(words):
                    r[w] ^= xs[a, w] & zs[b, w] & ~(xs[b, w] ^ zs[a, w])
                    xs[b, w] ^= xs[a, w]
                    zs[a, w] ^= zs[b, w]
            elif code == CZ:
                for w in range(words):
                    r[w] ^= xs[a, w] & xs[b, w] & (zs[a, w] ^ zs[b, w])
                    zs[a, w] ^= xs[b, w]
                    zs[b, w] ^= xs[a, w]
            elif code == SWAP:
                for w in range(words):
                    differ_x = xs[a, w] ^ xs[b, w]
                    xs[a, w] ^= differ_x
                    xs[b, w] ^= differ_x
                    differ_z = zs[a, w] ^ zs[b, w]
                    zs[a, w] ^= differ_z
                    zs[b, w] ^= differ_z
            if code == X or code == Y:
                if known[a] >= 0:
                    known[a] ^= 1
            elif code == CX:
                if known[a] >= 0 and known[b] >= 0:
                    known[b] ^= known[a]
                else:
                    known[b] = -1
            elif code == SWAP:
                t = known[a]
                known[a] = known[b]
                known[b] = t
            elif code == H or code == SQRT_X or code == SQRT_X_DAG:
                known[a] = -1
            continue
        if code == MEASURE:
            if known[a] >= 0:
                outcome = int(known[a])
            else:
                rng, coin = _coin(rng)
                outcome = _measure(a, n, xs, zs, r, mask, lo, hi, coin)
                known[a] = outcome
            flip = probs[k, 1] if outcome else probs[k, 0]
            if flip > 0.0:
                rng, u = _uniform(rng)
                if u < flip:
                    outcome ^= 1
            clbits[ops[k, 3]] = outcome
        elif code == RESET:
            rng, coin = _coin(rng)
            _reset_qubit(a, n, xs, zs, r, known, mask, lo, hi, coin)
        else:
            # A noise channel: it acts only at the drawn events.
            if not fired:
                continue
            rng, u = _uniform(rng)
            if code == RELAX:
                if known[a] == 0:
                    continue  # relaxation leaves |0> as it is
                if u * (probs[k, 0] + probs[k, 1]) < probs[k, 0]:
                    rng, coin = _coin(rng)
                    _reset_qubit(a, n, xs, zs, r, known, mask, lo, hi, coin)
                else:
                    _pauli(3, a, xs, zs, r)
            elif code == DEPOLARIZE2:
                pair = 1 + min(int(15.0 * u), 14)
                b = ops[k, 2]
                pa = pair & 3
                pb = pair >> 2
                if pa:
                    _pauli(pa, a, xs, zs, r)
                    if pa != 3 and known[a] >= 0:
                        known[a] ^= 1
                if pb:
                    _pauli(pb, b, xs, zs, r)
                    if pb != 3 and known[b] >= 0:
                        known[b] ^= 1
            else:
                if code == DEPOLARIZE1:
                    p = 1 + min(int(3.0 * u), 2)
                else:
                    v = u * (probs[k, 0] + probs[k, 1] + probs[k, 2])
                    p = 1 if v < probs[k, 0] else (2 if v < probs[k, 0] + probs[k, 1] else 3)
                _pauli(p, a, xs, zs, r)
                if p != 3 and known[a] >= 0:
                    known[a] ^= 1


@njit(cache=True)
def _reset_qubit(
    a: int,
    n: int,
    xs: np.ndarray,
    zs: np.ndarray,
    r: np.ndarray,
    known: np.ndarray,
    mask: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    coin: int,
) -> None:
    """Reset qubit ``a`` to |0>: measure it (unless its value is known; ``coin`` is the
    outcome if it is random), X if it was 1."""
    value = known[a]
    if value < 0:
        value = _measure(a, n, xs, zs, r, mask, lo, hi, coin)
    if value == 1:
        _pauli(1, a, xs, zs, r)
    known[a] = 0


@njit(cache=True, parallel=True)
def run_shots(
    ops: np.ndarray,
    probs: np.ndarray,
    hazard: np.ndarray,
    num_qubits: int,
    num_clbits: int,
    shots: int,
    seed: int,
    chunks: int,
) -> np.ndarray:
    """Run ``shots`` shots of a lowered program; uint8 (shots, num_clbits) classical bits.

    Args:
        ops: int64 (k, 6): code, a, b, clbit, condition clbit (-1: none), its value.
        probs: float64 (k, 3): the operation's probabilities (see the codes).
        hazard: float64 (k,): cumulative sum of -log(1 - p) with p the probability that
            a noise channel acts (0 for other operations).
        num_qubits: qubits of the program.
        num_clbits: classical bits.
        shots: number of shots.
        seed: seed of the shots' random streams.
        chunks: shots are split in this many contiguous blocks, run in parallel.
    """
    n = max(num_qubits, 1)
    words = (2 * n + 63) // 64
    out = np.zeros((shots, max(num_clbits, 1)), dtype=np.uint8)
    per = (shots + chunks - 1) // chunks
    base = np.uint64(seed)
    for c in prange(chunks):
        xs = np.zeros((n, words), dtype=np.uint64)
        zs = np.zeros((n, words), dtype=np.uint64)
        r = np.zeros(words, dtype=np.uint64)
        mask = np.zeros(words, dtype=np.uint64)
        lo = np.zeros(words, dtype=np.uint64)
        hi = np.zeros(words, dtype=np.uint64)
        known = np.zeros(n, dtype=np.int8)
        clbits = np.zeros(max(num_clbits, 1), dtype=np.uint8)
        for shot in range(c * per, min(shots, (c + 1) * per)):
            # Independent streams: splitmix64 of the seed mixed with the shot index.
            seed_shot, _ = _next(base ^ (np.uint64(shot) * _MIX2))
            _shot(ops, probs, hazard, n, xs, zs, r, known, clbits, mask, lo, hi, seed_shot)
            out[shot, :] = clbits
    return out[:, :num_clbits]
