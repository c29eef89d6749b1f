"""Exact SLO figures for a Markov infrastructure: the distribution of downtime in a window.

An availability SLO over a window W is breached when the path's downtime D_W in the window
exceeds the error budget b = (1 − objective)·W. When every failure and repair law is exponential
the infrastructure is a CTMC (:mod:`sim.rare.markov`), and P(D_W > b) follows exactly by
uniformization (randomization; de Souza e Silva & Gail, "Calculating availability and
performability measures of repairable computer systems using randomization", JACM 36(1), 1989):

- with Λ ≥ every exit rate, the chain is a DTMC X_0, X_1, ... with transition matrix
  P = I + Q/Λ whose jumps happen at the points of a Poisson process of rate Λ;
- given N = n jumps in [0, W], the jump times are n uniform order statistics, which cut the
  window into n + 1 spacings; if K of the states X_0..X_n are down, D_W/W is the sum of K
  spacings, distributed as the K-th uniform order statistic, so
  P(D_W ≤ x·W | n, K = k) = P(Binomial(n, x) ≥ k) (k ≥ 1; 1 for k = 0);
- hence P(D_W ≤ b) = Σ_n Poisson(n; ΛW) Σ_k P(K_n = k)·P(Bin(n, x) ≥ k), x = b/W, where the law
  of K_n comes from a recursion over (state, down visits so far).

Truncation, bounded and stated: the Poisson sum stops where its tail is below ``TOLERANCE``; the
counts k ≥ k_max, for which P(Bin(N_max, x) ≥ k_max) < ``TOLERANCE``, are lumped as breaching. The
expected downtime E[D_W] = W·Σ_n Poisson(n; ΛW)·E[K_n]/(n + 1) uses the same sum. The window
starts with every replica up, as every replication does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse, special, stats

from sim.rare.markov import InfrastructureChain

TOLERANCE = 1e-12
MAX_STATES = 5000
MAX_WORK = 3e8  # uniformization steps × states × down-visit counts: beyond it the solve takes minutes


@dataclass(frozen=True)
class WindowDowntime:
    """Exact (up to ``error_bound``) SLO figures of one window of a Markov infrastructure."""

    window_s: float
    budget_s: float
    breach_probability: float  # P(D_W > budget)
    expected_downtime_s: float  # E[D_W]
    error_bound: float  # truncation: |computed − exact| of the breach probability is at most this
    states: int

    @property
    def expected_budget_burned(self) -> float:
        """E[D_W]/budget: 1 is the whole budget."""
        return self.expected_downtime_s / self.budget_s


def window_downtime(chain: InfrastructureChain, window_s: float, budget_s: float) -> WindowDowntime:
    """P(downtime in [0, window_s) > budget_s) and E[downtime], starting all up (module docstring)."""
    if not 0.0 < budget_s < window_s:
        raise ValueError(f"need 0 < budget_s < window_s, got {budget_s}, {window_s}")
    states = []
    for s in chain.states():
        states.append(s)
        if len(states) > MAX_STATES:
            raise ValueError(f"the chain has more than {MAX_STATES} states")
    index = {s: k for k, s in enumerate(states)}
    m = len(states)
    rows, cols, rates = [], [], []
    for s in states:
        for tr in chain.transitions(s):
            rows.append(index[s])
            cols.append(index[tr.target])
            rates.append(tr.rate_per_s)
    q = sparse.csr_matrix((rates, (rows, cols)), shape=(m, m))
    exit_rates = np.asarray(q.sum(axis=1)).ravel()
    down = np.array([chain.path_down(s) for s in states])
    if not down.any() or exit_rates.max() == 0.0:
        return WindowDowntime(window_s, budget_s, 0.0, 0.0, 0.0, m)
    lam = float(exit_rates.max())
    step = (q + sparse.diags(lam - exit_rates)) / lam  # P = I + Q/Λ, stored transposed below
    step_t = step.T.tocsr()
    mean_jumps = lam * window_s
    n_max = int(stats.poisson.isf(TOLERANCE, mean_jumps)) + 1
    x = budget_s / window_s
    k_max = int(stats.binom.isf(TOLERANCE, n_max, x)) + 2  # counts ≥ k_max: breaching for any n ≤ n_max
    if n_max * m * (k_max + 1) > MAX_WORK:
        raise ValueError(f"{n_max:,} uniformization steps over {m} states are too many to solve quickly")
    # v[s, k]: P(X_n = s, k of X_0..X_n down), k = 0..k_max (the last column lumps k ≥ k_max)
    v = np.zeros((m, k_max + 1))
    v[0, 1 if down[0] else 0] = 1.0
    poisson = stats.poisson.pmf(np.arange(n_max + 1), mean_jumps)
    ks = np.arange(k_max)
    no_breach = 0.0
    expected_fraction = 0.0
    down_visits = float(down[0])  # E[K_n]
    for n in range(n_max + 1):
        if n > 0:
            v = step_t @ v
            shifted = np.zeros_like(v[down])
            shifted[:, 1:] = v[down][:, :-1]
            shifted[:, -1] += v[down][:, -1]  # the lumped column stays lumped
            v[down] = shifted
            down_visits += float(v[down].sum())
        k_law = v.sum(axis=0)
        given_k = np.ones(k_max)
        given_k[1:] = stats.binom.sf(ks[1:] - 1, n, x)  # P(Bin(n, x) ≥ k)
        no_breach += poisson[n] * float(k_law[:k_max] @ given_k)
        expected_fraction += poisson[n] * down_visits / (n + 1)
    error = 2 * TOLERANCE + float(stats.poisson.sf(n_max, mean_jumps))
    breach = min(1.0, max(0.0, 1.0 - no_breach))
    return WindowDowntime(window_s, budget_s, float(breach), float(expected_fraction * window_s), error, m)


def windows_per_year(window_s: float) -> float:
    """How many windows a year of 365 days holds (per-year figures: a rate per window times this)."""
    return 365.0 * 86400.0 / window_s


def two_state_breach_probability(mtbf_s: float, mttr_s: float, window_s: float, budget_s: float) -> float:
    """P(downtime in [0, W) > b) for one component that starts up, with exponential up and down
    times (Takács 1957), independent of the uniformization above (tests compare the two).

    Measure time on the component's up-clock: failures are a Poisson process of rate 1/MTBF in
    uptime, and each is followed by a whole repair. The uptime reaches u = W − b at real time
    u + S_N, where N ~ Poisson(u/MTBF) counts the failures before it and S_N, the sum of N repair
    times, is Gamma(N, 1/MTTR). The downtime exceeds b iff the uptime at W is below u, i.e. iff
    u + S_N > W, i.e. S_N > b:  P(D_W > b) = Σ_{j≥1} Poisson(j; u/MTBF)·Q(j, b/MTTR), Q the
    regularised upper incomplete gamma function.
    """
    mean_failures = (window_s - budget_s) / mtbf_s
    j_max = int(stats.poisson.isf(TOLERANCE, mean_failures)) + 1
    j = np.arange(1, j_max + 1)
    return float(np.sum(stats.poisson.pmf(j, mean_failures) * special.gammaincc(j, budget_s / mttr_s)))
