"""Where each qubit sits on the MPS chain, and what the circuit's structure says about
the bond dimensions it can reach there.

The order is chosen among a few candidates (the circuit's own qubit order, a spectral
order of the interaction graph, a Cuthill-McKee order), each polished by swapping
neighbours while that shortens the total gate distance, by the work its structural
bond bound predicts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Two-qubit gates on (low site, high site, log2 of the operator Schmidt rank).
Gates = Sequence[tuple[int, int, int]]


def site_order(num_qubits: int, pairs: Sequence[tuple[int, int, int]], max_bond: int) -> list[int]:
    """The qubit on each site: the candidate order with the least predicted work.

    Args:
        num_qubits: number of qubits.
        pairs: the two-qubit gates in circuit order, as (qubit, qubit, log2 rank).
        max_bond: the bond cap (it limits the bound each order is scored by).

    Returns:
        ``order[site] = qubit``; a chain of gates comes back as that chain.
    """
    weights = np.zeros((num_qubits, num_qubits))
    for a, b, _ in pairs:
        weights[a, b] += 1
        weights[b, a] += 1
    candidates = [list(range(num_qubits)), _spectral(weights), _cuthill_mckee(weights)]
    best, best_work = candidates[0], np.inf
    for order in candidates:
        order = _polished(order, weights)
        position = np.argsort(order)
        gates = [_on_sites(position[a], position[b], r) for a, b, r in pairs]
        work = structural_work(num_qubits, gates, max_bond)[0]
        if work < 0.98 * best_work:  # the circuit's own order unless clearly worse
            best, best_work = order, work
    return best


def _on_sites(sa: int, sb: int, rank: int) -> tuple[int, int, int]:
    return (int(min(sa, sb)), int(max(sa, sb)), rank)


def structural_work(
    num_sites: int, gates: Gates, max_bond: int, *, swap_back: bool = True
) -> tuple[float, int, np.ndarray]:
    """Bound the bonds through the circuit and add up the work of its two-site steps.

    Each gate multiplies the bound of every cut it crosses by its operator Schmidt
    rank, capped by the sites on either side and by ``max_bond``. A gate on sites
    ``lo < hi`` costs ``hi - lo - 1`` swaps (twice that with ``swap_back``) plus
    itself, each a contraction and an SVD of about
    ``chi_l * chi_r * (chi_m + min(chi_l, chi_r))`` complex multiply-adds; moving the
    orthogonality centre costs a QR per site passed.

    Returns:
        (work in multiply-adds, number of two-site steps, final log2 bound per bond),
        bond ``k`` lying between sites ``k - 1`` and ``k``.
    """
    cut = np.arange(num_sites + 1)
    cap = np.minimum(np.minimum(cut, num_sites - cut), int(np.log2(max(max_bond, 1))))
    log_chi = np.zeros(num_sites + 1, dtype=np.int64)
    chi = np.ones(num_sites + 1)
    work = 0.0
    steps = 0
    center = 0
    for lo, hi, rank in gates:
        for k in range(lo + 1, hi + 1):
            log_chi[k] = min(log_chi[k] + rank, cap[k])
            chi[k] = 2.0 ** log_chi[k]
        for s in range(min(center, lo), max(center, lo)):
            work += chi[s] * chi[s + 1] * chi[s + 2]
        center = lo
        for s in range(lo, hi):
            left, mid, right = chi[s], chi[s + 1], chi[s + 2]
            repeat = 2 if swap_back and s != lo else 1
            work += repeat * left * right * (mid + min(left, right))
            steps += repeat
    return work, steps, log_chi


def _polished(order: list[int], weights: np.ndarray) -> list[int]:
    """Swap neighbouring sites while that shortens the weighted total gate distance."""
    order = list(order)
    position = np.argsort(order)
    neighbours = [np.flatnonzero(weights[q]) for q in range(len(order))]
    for _ in range(100):
        improved = False
        for k in range(len(order) - 1):
            u, v = order[k], order[k + 1]
            delta = 0.0
            for x in neighbours[u]:
                if x != v:
                    delta += weights[u, x] * (abs(position[x] - k - 1) - abs(position[x] - k))
            for x in neighbours[v]:
                if x != u:
                    delta += weights[v, x] * (abs(position[x] - k) - abs(position[x] - k - 1))
            if delta < 0:
                order[k], order[k + 1] = v, u
                position[u], position[v] = k + 1, k
                improved = True
        if not improved:
            break
    return order


def _components(weights: np.ndarray) -> list[list[int]]:
    seen: set[int] = set()
    parts = []
    for start in range(weights.shape[0]):
        if start in seen:
            continue
        part, frontier = [], [start]
        seen.add(start)
        while frontier:
            q = frontier.pop()
            part.append(q)
            for x in np.flatnonzero(weights[q]):
                if int(x) not in seen:
                    seen.add(int(x))
                    frontier.append(int(x))
        parts.append(sorted(part))
    return parts


def _spectral(weights: np.ndarray) -> list[int]:
    """Each connected part sorted by its Fiedler vector (ties by the next eigenvector)."""
    order: list[int] = []
    for part in _components(weights):
        if len(part) < 3:
            order.extend(part)
            continue
        sub = weights[np.ix_(part, part)]
        laplacian = np.diag(sub.sum(axis=1)) - sub
        _, vectors = np.linalg.eigh(laplacian)
        fiedler = np.round(vectors[:, 1] / np.abs(vectors[:, 1]).max(), 6)
        keys = np.lexsort((vectors[:, 2], fiedler))
        order.extend(part[i] for i in keys)
    return order


def _cuthill_mckee(weights: np.ndarray) -> list[int]:
    """Reverse Cuthill-McKee of each part, from a far end of it."""
    degree = (weights > 0).sum(axis=1)
    order: list[int] = []
    for part in _components(weights):
        start = min(part, key=lambda q: degree[q])
        for _ in range(2):  # walk to a far node: a pseudo-peripheral start
            levels = _bfs(weights, start, degree)
            start = levels[-1]
        order.extend(reversed(_bfs(weights, start, degree)))
    return order


def _bfs(weights: np.ndarray, start: int, degree: np.ndarray) -> list[int]:
    visited, queue = {start}, [start]
    for q in queue:
        nxt = sorted(
            (int(x) for x in np.flatnonzero(weights[q]) if x not in visited),
            key=lambda x: degree[x],
        )
        visited.update(nxt)
        queue.extend(nxt)
    return queue
