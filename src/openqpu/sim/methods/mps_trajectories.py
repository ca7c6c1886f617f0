"""Numba driver of the MPS method: whole noisy trajectories of a lowered program.

A program is a table of operations (see the kinds in ``mps_kernels``) with its
matrices, the conditions of its ``if_else`` jumps as truth tables, and the terminal
measurements, which are sampled from the final state (several times when a
trajectory serves several shots).

numba's on-disk cache keys these drivers by this file alone, yet holds the kernels of
``mps_kernels`` and ``mps_lapack`` compiled into them: a change there must come with a
change here (this paragraph was last edited for the pivoted-QR factorisation), or an
upgraded install runs the old kernels from its cache.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from openqpu.sim.methods.mps_kernels import (
    DEFER,
    GATE1,
    GATE2,
    JUMP,
    JUMP_UNLESS,
    LEFT_CENTRE,
    MEASURE,
    PAULI1,
    PAULI2,
    RELAX_JUMP,
    RELAX_MIX,
    RESET,
    apply_1q,
    apply_2q,
    apply_pauli,
    damp,
    fold_1q,
    fold_pauli,
    move_center,
    population_one,
    project,
    sample_sites,
)

# The conditions of ``if_else`` jumps: bits read, their count, table offsets, tables.
Conditions = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
# Figures per trajectory in ``stats``: fidelity product, capped truncations, largest
# bond, work of the two-site steps (complex multiply-adds, about), and the fraction of
# the operations run (1 unless the work limit stopped it).
STATS = 5


@njit(cache=True)
def _measure(tensors: list[np.ndarray], center: int, site: int) -> tuple[int, int]:
    """Measure ``site`` in Z (projecting the state); returns (outcome, new centre)."""
    center = move_center(tensors, center, site)
    p1 = population_one(tensors, site)
    if np.random.random() < p1:
        project(tensors, site, 1, p1)
        return 1, center
    project(tensors, site, 0, 1.0 - p1)
    return 0, center


@njit(cache=True)
def _flip(bit: int, p10: float, p01: float) -> int:
    """The recorded bit of outcome ``bit`` under readout error."""
    if bit == 0:
        return 1 if p10 > 0.0 and np.random.random() < p10 else 0
    return 0 if p01 > 0.0 and np.random.random() < p01 else 1


@njit(cache=True)
def _holds(
    cond: int,
    clbits: np.ndarray,
    cond_bits: np.ndarray,
    cond_nbits: np.ndarray,
    cond_offset: np.ndarray,
    cond_table: np.ndarray,
) -> bool:
    value = np.int64(0)
    for k in range(cond_nbits[cond]):
        value |= np.int64(clbits[cond_bits[cond, k]]) << k
    return cond_table[cond_offset[cond] + value] != 0


@njit(cache=True)
def _folds(kind: int, a: int, b: int, site: int) -> bool:
    """Whether an operation can fold into a pending two-site step on ``site, site + 1``."""
    if kind == GATE2:
        return a == site
    if kind == GATE1 or kind == PAULI1 or kind == RELAX_MIX or kind == RELAX_JUMP:
        return a == site or a == site + 1
    if kind == PAULI2:
        return (a == site or a == site + 1) and (b == site or b == site + 1)
    return False


@njit(cache=True)
def _two_site(
    tensors: list[np.ndarray],
    center: int,
    site: int,
    g: np.ndarray,
    max_bond: int,
    threshold: float,
    stats: np.ndarray,
    left: bool,
) -> int:
    """Apply the 4x4 ``g`` on ``site, site + 1`` (moving the centre there first)."""
    if center < site:
        center = move_center(tensors, center, site)
    elif center > site + 1:
        center = move_center(tensors, center, site + 1)
    apply_2q(tensors, site, g, max_bond, threshold, stats, left)
    return site if left else site + 1


@njit(cache=True)
def evolve(
    num_sites: int,
    ops_int: np.ndarray,
    ops_real: np.ndarray,
    mats1: np.ndarray,
    mats2: np.ndarray,
    conds: Conditions,
    clbits: np.ndarray,
    max_bond: int,
    threshold: float,
    stats: np.ndarray,
    work_limit: float = np.inf,
) -> list[np.ndarray]:
    """Run the operations from |0...0>; returns the site tensors, centre on site 0.

    A GATE2 flagged DEFER is not applied at once: the operations on its pair that
    follow (one-qubit gates, Paulis drawn by the noise, the next GATE2 on the pair)
    are multiplied into it, so that a run of them costs one SVD. Anything else, or a
    relaxation that must measure, applies it first.
    Mid-circuit results land in ``clbits``; ``stats`` (float64[STATS]) receives the
    fidelity product, the number of capped truncations, the largest bond and the work
    of the two-site steps. A trajectory whose work passes ``work_limit`` stops there
    (``stats[4]``: the fraction of operations run; a cost probe's way to bound its time).
    """
    cond_bits, cond_nbits, cond_offset, cond_table = conds
    tensors = [np.zeros((1, 2, 1), dtype=np.complex128) for _ in range(num_sites)]
    for site in range(num_sites):
        tensors[site][0, 0, 0] = 1.0
    center = 0
    stats[0] = 1.0
    stats[1] = 0.0
    stats[2] = 1.0
    stats[3] = 0.0
    stats[4] = 1.0
    pending = np.empty((4, 4), dtype=np.complex128)
    pend = -1  # left site of the pending two-site step, -1: none
    pend_left = False
    pc = 0
    num_ops = ops_int.shape[0]
    while pc < num_ops:
        if stats[3] > work_limit:
            stats[4] = pc / num_ops
            break
        kind, a, b, index = ops_int[pc, 0], ops_int[pc, 1], ops_int[pc, 2], ops_int[pc, 3]
        p1, p2 = ops_real[pc, 0], ops_real[pc, 1]
        pc += 1
        if pend >= 0 and not _folds(kind, a, b, pend):
            center = _two_site(
                tensors, center, pend, pending, max_bond, threshold, stats, pend_left
            )
            pend = -1
        if kind == GATE1:
            if pend >= 0:
                fold_1q(pending, mats1[index], a != pend)
            else:
                apply_1q(tensors, a, mats1[index])
        elif kind == GATE2:
            g = mats2[index]
            if pend >= 0:
                g = g @ pending
                pend = -1
            left = (b & LEFT_CENTRE) != 0
            if b & DEFER:
                pending[:, :] = g
                pend = a
                pend_left = left
            else:
                center = _two_site(tensors, center, a, g, max_bond, threshold, stats, left)
        elif kind == MEASURE:
            bit, center = _measure(tensors, center, a)
            clbits[index] = _flip(bit, p1, p2)
        elif kind == RESET:
            bit, center = _measure(tensors, center, a)
            if bit == 1:
                apply_pauli(tensors, a, 1)
        elif kind == PAULI1:
            if np.random.random() < p1:
                pauli = 1 + np.random.randint(0, 3)
                if pend >= 0:
                    fold_pauli(pending, pauli, a != pend)
                else:
                    apply_pauli(tensors, a, pauli)
        elif kind == PAULI2:
            if np.random.random() < p1:
                pauli = 1 + np.random.randint(0, 15)
                for site, one in ((a, pauli % 4), (b, pauli // 4)):
                    if one != 0:
                        if pend >= 0:
                            fold_pauli(pending, one, site != pend)
                        else:
                            apply_pauli(tensors, site, one)
        elif kind == RELAX_MIX:
            r = np.random.random()
            if r < p1:
                if pend >= 0:
                    center = _two_site(
                        tensors, center, pend, pending, max_bond, threshold, stats, pend_left
                    )
                    pend = -1
                bit, center = _measure(tensors, center, a)
                if bit == 1:
                    apply_pauli(tensors, a, 1)
            elif r < p1 + p2:
                if pend >= 0:
                    fold_pauli(pending, 3, a != pend)
                else:
                    apply_pauli(tensors, a, 3)
        elif kind == RELAX_JUMP:
            if np.random.random() < p1:
                if pend >= 0:
                    center = _two_site(
                        tensors, center, pend, pending, max_bond, threshold, stats, pend_left
                    )
                    pend = -1
                center = move_center(tensors, center, a)
                pop = population_one(tensors, a)
                if np.random.random() < p2 * pop:
                    project(tensors, a, 1, pop)
                    apply_pauli(tensors, a, 1)
                else:
                    damp(tensors, a, p2, pop)
        elif kind == JUMP_UNLESS:
            if not _holds(index, clbits, cond_bits, cond_nbits, cond_offset, cond_table):
                pc = b
        elif kind == JUMP:
            pc = b
    if pend >= 0:
        center = _two_site(tensors, center, pend, pending, max_bond, threshold, stats, pend_left)
    move_center(tensors, center, 0)
    return tensors


@njit(cache=True)
def run_one(
    num_sites: int,
    ops_int: np.ndarray,
    ops_real: np.ndarray,
    mats1: np.ndarray,
    mats2: np.ndarray,
    conds: Conditions,
    terminal: np.ndarray,
    terminal_real: np.ndarray,
    clbits: np.ndarray,
    max_bond: int,
    threshold: float,
    bits_out: np.ndarray,
    stats: np.ndarray,
    work_limit: float,
) -> None:
    """One trajectory; writes every row of ``bits_out`` and the trajectory's ``stats``."""
    tensors = evolve(
        num_sites, ops_int, ops_real, mats1, mats2, conds, clbits, max_bond, threshold, stats,
        work_limit,
    )  # fmt: skip
    outcome = np.zeros(num_sites, dtype=np.int64)
    for shot in range(bits_out.shape[0]):
        sample_sites(tensors, outcome)
        row = bits_out[shot]
        row[:] = clbits
        for k in range(terminal.shape[0]):
            bit = outcome[terminal[k, 0]]
            row[terminal[k, 1]] = _flip(bit, terminal_real[k, 0], terminal_real[k, 1])


@njit(cache=True, parallel=True)
def run_many(
    num_sites: int,
    ops_int: np.ndarray,
    ops_real: np.ndarray,
    mats1: np.ndarray,
    mats2: np.ndarray,
    conds: Conditions,
    terminal: np.ndarray,
    terminal_real: np.ndarray,
    num_clbits: int,
    seeds: np.ndarray,
    shots_per_trajectory: int,
    max_bond: int,
    threshold: float,
    bits_out: np.ndarray,
    stats: np.ndarray,
    work_limit: float = np.inf,
) -> None:
    """Run ``len(seeds)`` trajectories in parallel.

    ``bits_out`` is uint8[len(seeds) * shots_per_trajectory, num_clbits] (row = shot,
    column = clbit); ``stats`` float64[len(seeds), STATS] receives each trajectory's
    figures (see ``STATS``). A trajectory stops once its work passes ``work_limit``.
    """
    for t in prange(seeds.shape[0]):
        np.random.seed(seeds[t])
        clbits = np.zeros(num_clbits, dtype=np.uint8)
        start = t * shots_per_trajectory
        run_one(
            num_sites, ops_int, ops_real, mats1, mats2, conds, terminal, terminal_real,
            clbits, max_bond, threshold,
            bits_out[start : start + shots_per_trajectory], stats[t], work_limit,
        )  # fmt: skip
