"""Finance: choose ``budget`` of ``num_assets`` assets (mean-variance) with QAOA on the cloud.

Maximise ``mu . x - risk * x^T Sigma x`` subject to ``sum(x) = budget``, written as
the QUBO ``-mu . x + risk * x^T Sigma x + penalty * (sum(x) - budget)^2`` and solved
with QAOA through ``SamplerV2`` and COBYLA; checked against the brute-force optimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from openqpu.apps.common import Progress, new_figure
from openqpu.apps.qubo import Qubo, bits_key, counts_probability, solve_qaoa, top_outcomes
from openqpu.qiskit import OpenQPUBackend


@dataclass
class Market:
    """Expected returns ``mu`` (shape (n,)) and their covariance ``sigma`` (shape (n, n))."""

    mu: np.ndarray
    sigma: np.ndarray


def seeded_market(num_assets: int, *, seed: int = 7) -> Market:
    """A one-factor market model: returns share a market factor plus their own noise.

    Annual expected returns lie in 2-16 %, market betas in 0.5-1.5 around a 15 %
    market volatility, idiosyncratic volatilities in 10-30 %.
    """
    rng = np.random.default_rng(seed)
    betas = rng.uniform(0.5, 1.5, num_assets)
    own = rng.uniform(0.10, 0.30, num_assets)
    mu = 0.02 + 0.08 * betas + rng.uniform(-0.02, 0.06, num_assets)
    sigma = 0.15**2 * np.outer(betas, betas) + np.diag(own**2)
    return Market(mu, sigma)


def portfolio_qubo(market: Market, budget: int, risk: float) -> Qubo:
    """The QUBO of the problem; the penalty exceeds any gain from leaving the budget."""
    n = len(market.mu)
    gain = np.abs(market.mu).sum() + risk * np.abs(market.sigma).sum()
    penalty = float(gain)
    matrix = risk * market.sigma - np.diag(market.mu)
    matrix = matrix + penalty * (np.ones((n, n)) - 2 * budget * np.eye(n))
    return Qubo(matrix, penalty * budget**2)


def objective(market: Market, bits: ArrayLike, risk: float) -> np.ndarray:
    """``mu . x - risk * x^T Sigma x`` per bit vector (rows of ``bits``)."""
    x = np.asarray(bits, dtype=float)
    return x @ market.mu - risk * np.einsum("bi,ij,bj->b", x, market.sigma, x)


def run(
    backend: OpenQPUBackend,
    *,
    num_assets: int = 8,
    budget: int = 4,
    risk: float = 0.5,
    layers: int = 1,
    shots: int = 1000,
    maxiter: int = 30,
    seed: int = 7,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Pick ``budget`` assets with QAOA and compare with the brute-force optimum.

    Returns:
        A JSON-ready summary: the market, the QAOA portfolio and the optimum,
        their objectives, the approximation ratio (QAOA / optimum), the
        probability of the optimum and of a portfolio of the right size in the
        final distribution, the objective history and the top outcomes.

    Raises:
        ValueError: ``num_assets`` over 16 (no brute force) or a budget out of range.
    """
    if not 2 <= num_assets <= 16:
        raise ValueError(f"num_assets: expected 2 to 16 (brute force), got {num_assets}")
    if not 1 <= budget < num_assets:
        raise ValueError(f"budget: expected 1 to {num_assets - 1}, got {budget}")
    market = seeded_market(num_assets, seed=seed)
    qubo = portfolio_qubo(market, budget, risk)
    every = qubo.all_bits()
    feasible = every[every.sum(axis=1) == budget]
    values = objective(market, feasible, risk)
    optimum = feasible[int(np.argmax(values))]
    best_value = float(values.max())

    qaoa = solve_qaoa(
        qubo, backend, layers=layers, shots=shots, maxiter=maxiter, seed=seed, progress=progress
    )
    found = np.array(qaoa.best_bits)
    found_value = float(objective(market, found[None], risk)[0])
    is_optimum = bool(np.isclose(found_value, best_value) and found.sum() == budget)

    def optimal(bits: list[int]) -> bool:
        return bool(
            sum(bits) == budget and np.isclose(objective(market, [bits], risk)[0], best_value)
        )

    return {
        "app": "finance",
        "device": backend.name,
        "num_assets": num_assets,
        "budget": budget,
        "risk": risk,
        "layers": layers,
        "shots": shots,
        "seed": seed,
        "expected_returns": market.mu.round(5).tolist(),
        "volatilities": np.sqrt(np.diag(market.sigma)).round(5).tolist(),
        "optimum": {"bits": bits_key(optimum), "assets": np.flatnonzero(optimum).tolist(),
                    "objective": best_value},
        "qaoa": {"bits": bits_key(found), "assets": np.flatnonzero(found).tolist(),
                 "objective": found_value, "parameters": qaoa.parameters},
        "is_optimum": is_optimum,
        "approximation_ratio": found_value / best_value,
        "probability_optimum": counts_probability(qaoa.final_counts, optimal),
        "probability_feasible": counts_probability(qaoa.final_counts, lambda b: sum(b) == budget),
        "feasible_portfolios": len(feasible),
        "num_jobs": qaoa.num_jobs,
        "history": qaoa.history,
        "top_outcomes": top_outcomes(qaoa.final_counts),
    }  # fmt: skip


def plot(summary: dict[str, Any]) -> Any:
    """Convergence (CVaR objective per call) and the final distribution's top portfolios."""
    figure, (left, right) = new_figure()
    left.plot(summary["history"], marker=".")
    left.set(xlabel="COBYLA call", ylabel="CVaR of QUBO energy", title="QAOA convergence")
    top = summary["top_outcomes"]
    colours = ["tab:green" if t["bits"] == summary["optimum"]["bits"] else "tab:blue" for t in top]
    right.bar(range(len(top)), [t["probability"] for t in top], color=colours)
    right.set_xticks(range(len(top)), [t["bits"] for t in top], rotation=90, fontsize=7)
    right.set(ylabel="probability", title=f"portfolios (green: optimum, ratio "
              f"{summary['approximation_ratio']:.3f})")  # fmt: skip
    return figure
