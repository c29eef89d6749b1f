"""Regenerative estimation on the infrastructure chain, crude and with balanced failure biasing.

**Cycles.** The chain of :mod:`sim.rare.markov` regenerates each time it enters the all-up
state, so its path splits into i.i.d. cycles, and every long-run measure is a ratio of cycle
means (regenerative method; Crane & Iglehart 1975; Goyal, Shahabuddin, Heidelberger, Nicola &
Glynn, "A unified framework for simulating Markovian models of highly dependable systems", IEEE
Trans. Computers 41, 1992):

    unavailability U = E[D]/E[τ],  outage frequency f = E[N]/E[τ],  mean outage = E[D]/E[N],

with τ the cycle length, D the path-down time and N the number of path outages in a cycle.
Holding times are replaced by their conditional means 1/q(x) ("discrete-time conversion",
Hordijk, Iglehart & Schassberger 1976), which removes their variance and keeps the estimators
unbiased, since E[holding time | jump chain] = 1/q(x).

**Balanced failure biasing** (Shahabuddin, "Importance sampling for the simulation of highly
reliable Markovian systems", Management Science 40, 1994; survey: Nicola, Shahabuddin &
Nakayama, "Techniques for fast simulation of models of highly dependable systems", IEEE Trans.
Reliability 50, 2001). Only the jump chain is changed: in the all-up state nothing changes (only
failures can happen); in any other state the next jump is a failure with probability p, spread
*uniformly* over the possible failure transitions (a failure of a replica of tier t in zone
group g, or a zone outage), and a repair with probability 1 − p, in proportion to the repair
rates. Failures that are rare in the original chain, in any component, become as likely as the
others, so the paths to a path outage are sampled with probability bounded away from 0 however
small the failure rates are, which is what bounds the relative error (Shahabuddin 1994, Thm 1).
Once the path has gone down in a cycle the rest of the cycle runs under the original law (the
biasing has done its job, and biased failures would push the chain towards every replica failed,
making the way back to all-up, against the bias, exponentially long in the number of replicas;
measured: 20,000 cycles on the 3+3 path took 18 s with biasing throughout, 0.06 s without).

**Unbiasedness.** Write P for the original jump probabilities and P' for the biased ones. P' > 0
wherever P > 0 (0 < p < 1), so for a function g of the path up to jump k, E_P[g] = E_{P'}[g·L_k]
with the likelihood ratio L_k = Π_{i≤k} P(x_{i−1}, x_i)/P'(x_{i−1}, x_i); this holds as well
when P' depends on the path so far (biasing off after the path went down). The cycle ends at a
stopping time T (the first return to all-up) that is finite a.s. under both laws, so
E_P[Σ_{k<T} h(x_k)] = Σ_k E_P[h(x_k)·1{k<T}] = Σ_k E_{P'}[h(x_k)·1{k<T}·L_k] (each term is a
function of the path up to k): every cycle total is estimated without bias by Σ_{k<T} h(x_k)·L_k
under P' (Glynn & Iglehart, "Importance sampling for stochastic simulations", Management Science
35, 1989). The ratio estimators are then consistent and asymptotically normal (delta method,
:mod:`sim.rare.estimates`). Regeneration is what keeps the likelihood ratio from degenerating
over a long horizon (Heidelberger, Shahabuddin & Nicola, ACM TOMACS 4, 1994).

**The biasing probability** p = 0.8 by default. Work to a given precision (variance per cycle ×
CPU per cycle) measured at 20,000 cycles, relative to p = 0.5: on the 4+4 path at U = 5e-11
(one crew per tier) 0.64 (p = 0.6), 0.45 (0.7), 0.34 (0.8), 0.22 (0.9); on a 2+2 path at
U = 6e-3 0.79, 0.73, 0.58, 0.54. Paths to an outage need up to four failures in a row, so a larger
p reaches the down states more often. p = 0.9 is a little better still on these symmetric paths,
but leaves only 10% of the jumps for the repairs that end an excursion, which makes likelihood
ratios heavier where a state offers many failure transitions (zones, several tiers); 0.8 keeps
most of the gain. p = 0.5 is Shahabuddin's original choice for systems where one or two failures
bring the path down.

**When a law is not exponential** (lognormal or Weibull repairs, deterministic times, injected
outages at fixed times, daily effects) the chain does not exist and this module refuses the
scenario (:func:`sim.rare.markov.markov_problems` says why); the fall-back is crude simulation of
the infrastructure alone (:mod:`sim.rare.crude` over :mod:`sim.rare.infrastructure`), which is
still cheap because it has no customers; rare path outages under such laws would need splitting
on the number of failed replicas on the tightest cut (fixed effort: Garvels & Kroese, WSC 1998;
RESTART: Villén-Altamirano), which needs only to clone the infrastructure state, or hazard-rate
scaling for generalized semi-Markov processes (Nicola, Shahabuddin, Heidelberger & Glynn, FTCS
1993). Neither is implemented here.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from sim.random.streams import Streams
from sim.rare.estimates import CONFIDENCE, Estimate, poisson_upper_bound, ratio_estimate, zero_event_estimate
from sim.rare.markov import InfrastructureChain, State, longest_mean_outage_s

BIASING_PROBABILITY = 0.8
HOUR_S = 3600.0
_UNIFORM_BLOCK = 4096


@dataclass(frozen=True)
class CycleEstimates:
    """Long-run measures of the path from ``cycles`` regenerative cycles, with their intervals."""

    method: str  # "balanced-failure-biasing" or "crude-regenerative"
    cycles: int
    unavailability: Estimate
    outage_frequency_per_hour: Estimate
    mean_outage_s: Estimate
    cycles_with_outage: int  # cycles whose path actually went down (not weighted)
    effective_sample_size: float  # (Σ w_i D_i)² / Σ (w_i D_i)² over cycles, D_i the cycle's down time
    max_weight_share: float  # the largest cycle's share of Σ w_i D_i
    variance_per_cycle: float  # Var(D − U·τ)/E[τ]² of this method's cycles (nan when no outage)
    crude_variance_per_cycle: float  # the same for crude cycles, estimated from these cycles
    cpu_s: float

    @property
    def cpu_per_cycle_s(self) -> float:
        return self.cpu_s / self.cycles


class CompiledChain:
    """The chain's states numbered as they are first visited, each with its jump probabilities."""

    def __init__(self, chain: InfrastructureChain, biasing: float | None) -> None:
        self.chain = chain
        self.biasing = biasing
        self.index: dict[State, int] = {}
        self.hold: list[float] = []
        self.down: list[bool] = []
        self.targets: list[list[State]] = []
        self.target_index: list[list[int]] = []
        self.cumulative: list[list[float]] = []  # biased jump probabilities, cumulated
        self.original: list[list[float]] = []  # original ones, cumulated (after the path went down)
        self.ratio: list[list[float]] = []
        self.state(chain.all_up)

    def state(self, s: State) -> int:
        k = self.index.get(s)
        if k is not None:
            return k
        k = self.index[s] = len(self.hold)
        trs = self.chain.transitions(s)
        q = sum(tr.rate_per_s for tr in trs)
        original = [tr.rate_per_s / q for tr in trs]
        biased = original
        failures = sum(tr.failure for tr in trs)
        repair_rate = sum(tr.rate_per_s for tr in trs if not tr.failure)
        if self.biasing is not None and k > 0 and failures and repair_rate > 0.0:
            p = self.biasing
            biased = [p / failures if tr.failure else (1.0 - p) * tr.rate_per_s / repair_rate for tr in trs]
        cumulative = np.cumsum(biased).tolist()
        cumulative[-1] = math.inf  # a uniform draw always lands somewhere
        plain = np.cumsum(original).tolist()
        plain[-1] = math.inf
        self.original.append(plain)
        self.hold.append(1.0 / q)
        self.down.append(self.chain.path_down(s))
        self.targets.append([tr.target for tr in trs])
        self.target_index.append([-1] * len(trs))
        self.cumulative.append(cumulative)
        self.ratio.append([o / b for o, b in zip(original, biased, strict=True)])
        return k

    def jump(self, k: int, u: float, biased: bool) -> tuple[int, float]:
        """The next state from ``k`` for the uniform ``u``, and the jump's likelihood ratio."""
        j = bisect_right(self.cumulative[k] if biased else self.original[k], u)
        nxt = self.target_index[k][j]
        if nxt < 0:
            nxt = self.target_index[k][j] = self.state(self.targets[k][j])
        return nxt, self.ratio[k][j] if biased else 1.0


def _uniforms(rng: np.random.Generator):
    while True:
        yield from rng.random(_UNIFORM_BLOCK).tolist()


def regenerative_estimates(
    chain: InfrastructureChain,
    cycles: int,
    seed: int,
    biasing_probability: float | None = BIASING_PROBABILITY,
    replication: int = 0,
    confidence: float = CONFIDENCE,
) -> CycleEstimates:
    """Estimate the path's unavailability, outage frequency and mean outage from ``cycles`` cycles.

    ``biasing_probability`` None runs crude cycles (the original law, no likelihood ratios); a
    value in (0, 1) runs balanced failure biasing with that probability of a failure. Draws come
    from the stream ``infrastructure-cycles`` of ``Streams(seed, replication)``.
    """
    if cycles < 2:
        raise ValueError(f"need at least 2 cycles, got {cycles}")
    if biasing_probability is not None and not 0.0 < biasing_probability < 1.0:
        raise ValueError(f"biasing_probability must be in (0, 1), got {biasing_probability}")
    cpu0 = time.process_time()
    compiled = CompiledChain(chain, biasing_probability)
    uniform = _uniforms(Streams(seed, replication).generator("infrastructure-cycles")).__next__
    down, hold, jump = compiled.down, compiled.hold, compiled.jump
    if down[0]:
        raise ValueError("the path is down with every replica up (min_healthy above the replica count)")
    # per cycle: weighted cycle length, down time, outages; raw down time and length; final ratio
    weighted = np.empty((cycles, 3))
    raw = np.empty((cycles, 3))
    hit = 0
    for c in range(cycles):
        k, lr = 0, 1.0
        tau_w = tau = hold[0]
        down_w = down_raw = outages_w = 0.0
        was_down = biasing_off = False
        while True:
            k, step_ratio = jump(k, uniform(), not biasing_off)
            lr *= step_ratio
            if k == 0:
                break
            h = hold[k]
            tau_w += lr * h
            tau += h
            if down[k]:
                down_w += lr * h
                down_raw += h
                if not was_down:
                    outages_w += lr
                    was_down = biasing_off = True
            else:
                was_down = False
        hit += down_raw > 0.0
        weighted[c] = (tau_w, down_w, outages_w)
        raw[c] = (tau, down_raw, lr)
    cpu_s = time.process_time() - cpu0
    method = "crude-regenerative" if biasing_probability is None else "balanced-failure-biasing"
    return _summarise(chain, method, weighted, raw, hit, cpu_s, confidence)


def _summarise(
    chain: InfrastructureChain,
    method: str,
    weighted: np.ndarray,
    raw: np.ndarray,
    hit: int,
    cpu_s: float,
    confidence: float,
) -> CycleEstimates:
    tau_w, down_w, outages_w = weighted.T
    n = len(tau_w)
    if hit == 0:  # nothing seen: one-sided bounds from the time simulated
        f_upper = poisson_upper_bound(0, float(raw[:, 0].sum()), confidence)
        nan_estimate = Estimate(math.nan, math.nan, math.nan, "none-observed")
        return CycleEstimates(
            method, n, zero_event_estimate(f_upper * longest_mean_outage_s(chain)),
            zero_event_estimate(f_upper * HOUR_S), nan_estimate, 0, 0.0, math.nan, math.nan, math.nan, cpu_s,
        )
    unavailability, variance = ratio_estimate(down_w, tau_w, confidence)
    frequency, _ = ratio_estimate(outages_w, tau_w, confidence)
    mean_outage, _ = ratio_estimate(down_w, outages_w, confidence)
    total = float(down_w.sum())
    ess = total**2 / float((down_w**2).sum())
    u, tau_mean = unavailability.value, float(tau_w.mean())
    tau, down_raw, lr_end = raw.T
    # E_original[(D − Uτ)²] = E_biased[L·(D − Uτ)²] (the same change of measure, whole cycle)
    crude_variance = float(np.mean(lr_end * (down_raw - u * tau) ** 2)) / tau_mean**2
    return CycleEstimates(
        method, n, unavailability, frequency.scaled(HOUR_S), mean_outage, hit, ess,
        float(down_w.max()) / total, variance, crude_variance, cpu_s,
    )


def work_normalised_variance_ratio(crude: CycleEstimates, biased: CycleEstimates) -> float:
    """How many times less work biasing needs than crude cycles for the same precision of U.

    (variance per cycle × CPU per cycle) of crude over that of biasing (Glynn & Whitt,
    "The asymptotic efficiency of simulation estimators", Operations Research 40, 1992). When the
    crude run saw no outage its variance comes from the biased run's estimate of it.
    """
    crude_variance = crude.variance_per_cycle
    if math.isnan(crude_variance):
        crude_variance = biased.crude_variance_per_cycle
    return (crude_variance * crude.cpu_per_cycle_s) / (biased.variance_per_cycle * biased.cpu_per_cycle_s)
