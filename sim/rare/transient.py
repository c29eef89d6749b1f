"""Exact expectations over a horizon started all-up: the infrastructure chain's transient occupancy.

The per-horizon metrics mean "the average over independent runs of length ``horizon`` started with
every replica up". For a Markov infrastructure the path's part of them is a linear functional of the
expected occupancy x = ∫_lo^hi p(t) dt, p(t) the chain's state distribution at t from all-up:

- expected path-down time ∫ P(path down at t) dt = Σ_{down} x_s (availability = 1 − that / (hi − lo));
  the same per tier;
- expected incidents (first failures from all-up) starting in [lo, hi): x_0·q₀;
- expected path outages starting in [lo, hi): Σ_{up u} x_u Σ_{down d} Q(u, d);
- their expected total length, each counted whole: Σ_u x_u Σ_d Q(u, d)·h_d, with h_d the mean
  time to leave the down states from d ((−Q_DD)·h = 1).

x is computed by uniformization (Jensen 1953; Grassmann 1977): with Λ ≥ every state's exit rate
and P = I + Q/Λ, p(t) = Σ_k Poisson(k; Λt)·e₀Pᵏ, so ∫_0^t p = (1/Λ)·Σ_k P(N_Λt > k)·e₀Pᵏ. Every
term is non-negative — no cancellation — so a state probability of 1e-15 keeps its relative
accuracy (as in the GTH stationary solve). The series stops when the Poisson tail is below 1e-20
(ν + 12√ν + 50 terms) or, earlier, when e₀Pᵏ has converged (every component's relative change
below 1e-13): the rest of the series is then that vector times Σ_{j≥k} P(N > j) = E[(N − k)⁺]
(steady-state detection, Sericola 1999). Memory is the chain's size, whatever the horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim.rare.markov import InfrastructureChain

_CONVERGED = 1e-13  # relative change of every state probability per step: stationary
_CHUNK = 2048


@dataclass(frozen=True)
class HorizonMeasures:
    """Exact expectations over [lo, hi) for the chain started all-up at time 0."""

    measured_s: float  # hi − lo
    path_down_s: float  # expected time the path is down
    tier_down_s: dict[str, float]  # expected time each tier is down (fewer than min_healthy up)
    incidents: float  # expected incidents (first failure from all-up) starting in [lo, hi)
    outages: float  # expected path outages (up → down) starting in [lo, hi)
    outage_time_s: float  # expected total length of those outages, each counted whole
    steps: int  # uniformization steps taken

    @property
    def availability(self) -> float:
        return 1.0 - self.path_down_s / self.measured_s if self.measured_s > 0 else math.nan


def generator(chain: InfrastructureChain) -> tuple[list, np.ndarray]:
    """The chain's states (all-up first, breadth-first) and its generator matrix Q."""
    states = list(chain.states())
    index = {s: k for k, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for s in states:
        for tr in chain.transitions(s):
            q[index[s], index[tr.target]] += tr.rate_per_s
    np.fill_diagonal(q, -q.sum(axis=1))
    return states, q


def occupancy(q: np.ndarray, lo_s: float, hi_s: float) -> tuple[np.ndarray, int]:
    """∫_lo^hi p(t) dt from the first state (uniformization, see the module docstring), and the steps."""
    m = q.shape[0]
    rate = float(-q.diagonal().min())
    out = np.zeros(m)
    if rate <= 0.0 or hi_s <= lo_s:
        out[0] = max(0.0, hi_s - lo_s)
        return out, 0
    step = np.eye(m) + q / rate
    nu_lo, nu_hi = rate * lo_s, rate * hi_s
    last = int(nu_hi + 12.0 * math.sqrt(nu_hi) + 50.0)  # P(N > last) < 1e-20
    p = np.zeros(m)
    p[0] = 1.0
    k = 0
    while k <= last:
        ks = np.arange(k, min(k + _CHUNK, last + 1))
        weights = (stats.poisson.sf(ks, nu_hi) - stats.poisson.sf(ks, nu_lo)) / rate
        for w in weights:
            out += w * p
            nxt = p @ step
            k += 1
            with np.errstate(divide="ignore", invalid="ignore"):
                change = np.abs(nxt - p) / nxt
            p = nxt
            if float(np.nanmax(change)) < _CONVERGED and bool((p > 0.0).all()):
                out += p * (_excess(nu_hi, k) - _excess(nu_lo, k)) / rate
                return out, k
    return out, k


def _excess(nu: float, k: int) -> float:
    """E[(N − k)⁺] for N ~ Poisson(ν): Σ_{j≥k} P(N > j) = ν·P(N ≥ k) − k·P(N > k)."""
    if nu <= 0.0:
        return 0.0
    return max(0.0, nu * float(stats.poisson.sf(k - 1, nu)) - k * float(stats.poisson.sf(k, nu)))


def horizon_measures(chain: InfrastructureChain, lo_s: float, hi_s: float) -> HorizonMeasures:
    """The exact expectations of :class:`HorizonMeasures` over [lo, hi), started all-up at 0."""
    states, q = generator(chain)
    x, steps = occupancy(q, lo_s, hi_s)
    down = np.array([chain.path_down(s) for s in states])
    tier_down = {}
    for t, tier in enumerate(chain.tiers):
        mask = np.array([tier.replicas - chain.tier_down_count(t, s) < tier.min_healthy for s in states])
        tier_down[tier.name] = float(x[mask].sum())
    up = ~down
    into_down = q[np.ix_(up, down)]
    h = np.zeros(int(down.sum()))
    if down.any():
        h = np.linalg.solve(-q[np.ix_(down, down)], np.ones(int(down.sum())))
    return HorizonMeasures(
        measured_s=hi_s - lo_s,
        path_down_s=float(x[down].sum()),
        tier_down_s=tier_down,
        incidents=float(x[0] * -q[0, 0]),
        outages=float(x[up] @ into_down.sum(axis=1)),
        outage_time_s=float(x[up] @ (into_down @ h)),
        steps=steps,
    )
