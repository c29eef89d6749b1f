"""Customer metrics per unit time from regenerative cycles, with importance sampling on the path outages.

**Cycles.** The infrastructure chain (:mod:`sim.rare.markov`) regenerates each time it enters
the all-up state. A cycle is an up period (every replica up, exponential with the all-up state's
total rate q₀) followed by an *incident*: from the first failure until every replica is up again.
Customers react to the infrastructure but never change it, so a cycle's customer counts Y (lost,
attempted, completed, deferred checkouts, attempts, extra delay) are a functional of the cycle's
infrastructure path plus the customers' own draws, and by the renewal–reward theorem the long-run
rate of each count is E[Y]/E[τ] with τ the cycle length.

**Accounting.** Each incident [a, b) is run through the customer model with its path scripted
(:class:`sim.rare.windows.WindowEstimator`'s window run: start healthy and empty at a − c − w,
count the customers arriving in [a − c, b + d), extended while a retry storm lasts). That counted
region has length R = (b − a) + c + d (+ extensions); every other customer of the cycle arrived
while the system was healthy, at the healthy rate r (per second, from healthy-only segments). So

    Y = Y_window + r·(τ − R),    rate = E[Y]/E[τ] = r + E[Y_window − r·R]/E[τ],

i.e. the incident's *excess* over healthy, E = Y_window − r·R, is what the cycles estimate; the up
period's length is never sampled (its expectation 1/q₀ enters E[τ] exactly). The approximation is
the windows': an incident's customers are taken as independent of the neighbouring incidents'
(exact when the up periods exceed c + w + d, which fails with probability ≈ q₀·(c + w + d)).
E[τ] = 1/q₀ + E[I] exactly, E[I] the mean incident length from the jump chain (:mod:`sim.rare.jumps`).

**Two strata, both unbiased.** With 1{D} whether the path went down during the incident,
E[E] = E[E·1{D}] + E[E·1{¬D}]:

- E[E·1{D}] (rare): ``cycles`` incidents under balanced failure biasing (:mod:`sim.rare.biasing`:
  holding times unchanged, the jump chain biased until the path goes down, original afterwards),
  each weighted by its likelihood ratio L, which depends on the infrastructure path only and so
  multiplies every customer count: E_P[E·1{D}] = E_P'[L·E·1{D}] (Glynn & Iglehart 1989; the cycle
  ends at a stopping time, see :mod:`sim.rare.biasing`). The customer window is run only for the
  incidents whose path went down (the others contribute 0 to this stratum).
- E[E·1{¬D}] (frequent: single-replica incidents): ``plain_cycles`` incidents under the original
  law, the window run for those whose path stayed up (those that went down contribute 0 here).

Each stratum is a sample mean of i.i.d. terms, so rate = r + (m_D + m_¬D)/E[τ] is unbiased given
r, and r is estimated independently; the variance is Var(m_D) + Var(m_¬D) over E[τ]², plus r's
variance (sample variance over the healthy segments) times (1 − E[R]/E[τ])²; the interval is
normal (delta method with an exact denominator). Balanced failure biasing keeps the relative
error of the rare stratum bounded as failures get rarer (Shahabuddin, Management Science 40,
1994; Goyal, Shahabuddin, Heidelberger, Nicola & Glynn, IEEE Trans. Computers 41, 1992; Nicola,
Shahabuddin & Nakayama, IEEE Trans. Reliability 50, 2001). The effective sample size and the
largest weight's share are reported on the weighted lost checkouts.

**Control variate for lost checkouts.** A customer arriving while the path is down is, for
zero-time requests without retries, exactly a lost one, so λ·D (D the cycle's path-down time)
follows the lost checkouts closely, and E[D]/E[τ] = U is known exactly (the chain's stationary
solve, :func:`sim.rare.markov.stationary`). The rare stratum therefore estimates
E[L·(E_lost − λ·D)] and λ·U is added back: with the coefficient fixed at λ (not fitted) the
estimator stays exactly unbiased, and only what customers add to or take from λ·D (requests in
flight, retries that outlast the outage, the drain) is left to sample. The path-down share in
``path_down_rates_per_s`` uses the same control; the effective sample size and the largest
weight's share describe the sampled term L·(E_lost − λ·D).

**Crash control, path-up stratum.** Without retries nearly every loss there is a request held by
the first failing replica when it crashes, and their Poisson-like count X is the variance left.
Customers never change the infrastructure, the first failure's time and replica r do not depend
on the customer state, which is then the healthy stationary one (the windows' warm-up assumption,
:func:`cycle_window_times`), and the rest of the path is independent of it: so E[X·1{¬D}] =
Σ_r q_r·m_r, q_r = P(the first failure takes r down and the path stays up until all-up), exact
(:mod:`sim.rare.jumps`), and m_r the healthy stationary mean of the requests at r, estimated
without bias from the healthy segments (own streams) by readings at evenly spaced times. The
stratum's lost term e becomes e − β·X and β·Σ q_r·m̂_r is added back: E[e − β·X] + β·Σ q_r·E[m̂_r]
= E[e] for any β fixed before the batch (:mod:`sim.rare.controls`; β = 0 by default, and
:mod:`sim.rare.batches` fits it on its pilot); m̂'s variance (batch means) enters the interval.

**Per horizon and per year.** The steady-state rate × the measured window (horizon − warm-up);
from all-up the true mean differs by the transient, relatively of order E[I]/(measured window):
the regenerative ratio is exact only in the limit (Heidelberger, Shahabuddin & Nicola, ACM TOMACS
4, 1994, on why a whole-horizon likelihood ratio degenerates, the reason for cycles). Per year:
rate × 365 days.

**Scope.** Markov infrastructure only (:func:`sim.rare.markov.markov_problems`); zone outages
are refused (a zone flip is not yet scripted replica by replica); replicas of a tier and zone
group are exchangeable for the customers, so a failure takes the lowest-numbered working one down
and a repair brings back the earliest failed one. Other scenarios fall back to
:mod:`sim.rare.windows` (crude infrastructure paths) or full runs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from sim.random.streams import Streams
from sim.rare.biasing import BIASING_PROBABILITY, CompiledChain
from sim.rare.controls import CrashControl
from sim.rare.estimates import CONFIDENCE, Estimate
from sim.rare.incidents import Incident, sample_incident
from sim.rare.jumps import JumpChain
from sim.rare.markov import InfrastructureChain, State, stationary
from sim.rare.window_times import WindowTimes, window_times
from sim.rare.windows import KeyedStreams, WindowEstimator
from sim.scenario.spec import Scenario

YEAR_S = 365.0 * 86400.0
COUNTS = ("lost_checkouts", "attempted_checkouts", "completed_checkouts", "deferred_checkouts", "attempts",
          "extra_delay_s")
_RARE_KEY, _PLAIN_KEY, _SEGMENT_KEY = 0x52415245, 0x504C4149, 0x53454721
_WINDOW_LIMIT_DRAINS = 50.0  # a window not settled after this many drains: refused (metastable)


@dataclass(frozen=True)
class CycleCustomerEstimates:
    """Customer metrics per second, per horizon and per year, from regenerative cycles."""

    method: str
    rates_per_s: dict[str, Estimate]
    per_horizon: dict[str, Estimate]
    per_year: dict[str, Estimate]
    unavailability: Estimate
    mean_cycle_s: float  # E[τ], exact
    cycles: int  # biased incidents sampled (rare stratum)
    down_windows: int  # of which went down: customer windows run
    plain_cycles: int
    plain_windows: int
    effective_sample_size: float  # (Σ|x|)² / Σ x² of the rare stratum's sampled lost term x
    max_weight_share: float
    customers: int
    wall_s: float
    cpu_s: float
    # for comparisons with crude full runs: the long-run variance per second of lost checkouts,
    # Var(Y_lost − rate·τ)/E[τ] ≈ E[E_lost²]/E[τ] (healthy losses ignored), each cycle's second
    # moment taken under the original law (E_P[g] = E_P'[L·g]), and the full model's wall time
    # per simulated second (from the healthy segments)
    crude_lost_variance_per_s: float = math.nan
    full_model_wall_per_s: float = math.nan
    # the path-down incidents' share of each rate (the weighted stratum alone, excess over healthy)
    path_down_rates_per_s: dict[str, Estimate] | None = None
    crude_path_down_lost_variance_per_s: float = math.nan  # that share's crude variance, as above
    # the pieces of the rates: healthy rate per second, and the mean weighted excess over healthy per
    # incident (both strata; lost checkouts without λ·D, which the rates add back as λ·U)
    healthy_per_s: dict[str, float] | None = None
    excess_per_incident: dict[str, float] | None = None
    # per stratum (path-down, path-up): the standard deviation of an incident's sampled lost-checkout
    # term and the customers its windows simulated per incident (for allocating incidents)
    strata_lost_sd: tuple[float, float] = (math.nan, math.nan)
    strata_customers_per_incident: tuple[float, float] = (math.nan, math.nan)
    # path-up stratum: Var(e), Cov(e, X), Var(X) of e the lost excess, X the first crash's catch
    crash_moments: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    crash_known_var_s: float = math.nan  # Var(Σ q_r·m̂_r) × healthy seconds: its variance per 1/second


class CycleEstimator:
    """The regenerative estimator of ``scenario``'s customer metrics (Markov infrastructure).

    ``estimate(seed, cycles, plain_cycles)`` returns a :class:`CycleCustomerEstimates`; the same
    seed gives the same result in any process (streams keyed by stratum and cycle index).
    """

    def __init__(self, scenario: Scenario, times: WindowTimes | None = None,
                 biasing_probability: float = BIASING_PROBABILITY, healthy_s: float | None = None,
                 healthy_segments: int = 8) -> None:
        if any(rates[0] > 0.0 for rates in InfrastructureChain(scenario).zone_rates):
            raise ValueError("zone outages are not supported by the cycle estimator (use incident windows)")
        if scenario.traffic.time_varying:
            raise ValueError("the cycle estimator needs steady traffic (no daily curve, spike or ramp): "
                             "use incident windows")
        self.scenario = scenario
        self.chain = InfrastructureChain(scenario)
        # window runs on an unbounded clock: the cycle, not the scenario's horizon, decides
        self.windows = WindowEstimator(replace(scenario, warmup_s=0.0, horizon_s=1e15),
                                       times or cycle_window_times(scenario))
        self.times = self.windows.times
        self.biasing_probability = biasing_probability
        rate = self._rate = scenario.traffic.arrival_rate_per_s
        self.healthy_s = healthy_s if healthy_s is not None else max(3600.0, 40_000.0 / max(rate, 1e-9))
        self.healthy_segments = healthy_segments
        self.full_model_wall_per_s = math.nan
        self._replicas = self._replica_groups()
        jumps = JumpChain(self.chain)
        self.mean_incident_s, self.mean_up_s = jumps.mean_incident_and_up()
        self.crash = CrashControl(jumps, self._replicas, [tier.name for tier in scenario.tiers])
        self.unavailability = stationary(self.chain).unavailability  # exact, GTH

    @property
    def mean_cycle_s(self) -> float:
        return self.mean_up_s + self.mean_incident_s

    def _replica_groups(self) -> list[list[list[int]]]:
        """Replica indices of each tier's zone groups, in the chain's group order."""
        zone_index = {name: k for k, name in enumerate(self.chain.zone_names)}
        out = []
        for spec, tier in zip(self.scenario.tiers, self.chain.tiers, strict=True):
            def zone(i: int, spec=spec) -> int:
                return zone_index[spec.zones[i % len(spec.zones)]] if spec.zones else -1
            out.append([[i for i in range(spec.replicas) if zone(i) == z] for z in tier.group_zone])
        return out

    # -- customers --------------------------------------------------------------------------------
    def _window(self, incident: Incident, streams: Streams) -> tuple[dict[str, float], float, int, int]:
        """The incident's customer counts in its counted region, the region's length, customers run,
        and X: the requests at the first failing replica just before it fails."""
        c, w, d = self.times.lookback_s, self.times.warmup_s, self.times.drain_s
        a = c + w
        b = a + incident.length_s
        names = [tier.name for tier in self.scenario.tiers]
        script = [(a + at, names[ti], i, down) for at, ti, i, down in incident.changes]
        limit = b + d + _WINDOW_LIMIT_DRAINS * d
        first = ([a], [(names[incident.changes[0][1]], incident.changes[0][2])])  # X, before the crash
        rec = self.windows.run_window(streams, 0.0, (w, b + d), b, script, limit, first)
        if rec is None:
            raise ValueError(f"an incident window did not settle within {_WINDOW_LIMIT_DRAINS:g} drains of "
                             f"{d:g} s (a metastable retry storm); use method windows or crude")
        return _counts(rec), rec.horizon_s - w, rec.customers, rec.probes[0][0]

    def healthy_rates(self, seed: int, replication: int = 0
                      ) -> tuple[dict[str, float], dict[str, float], int, list[list[int]]]:
        """Healthy rates per second (mean over segments) and their variances, customers run, and the
        first-failing replicas' outstanding requests read at evenly spaced times (the crash control)."""
        c, w = self.times.lookback_s, self.times.warmup_s
        length = self.healthy_s / self.healthy_segments
        samples: dict[str, list[float]] = {m: [] for m in COUNTS}
        customers = 0
        readings: list[list[int]] = []
        wall0 = time.perf_counter()
        probe = (self.crash.snapshot_times(c + w, length), self.crash.replicas)
        for j in range(self.healthy_segments):
            streams = KeyedStreams(seed, replication, (_SEGMENT_KEY, j))
            rec = self.windows.run_window(streams, 0.0, (c + w, c + w + length), c + w, [], math.inf, probe)
            assert rec is not None  # no incident: a healthy run always closes
            customers += rec.customers
            readings += rec.probes
            for m, v in _counts(rec).items():
                samples[m].append(v / length)
        n = self.healthy_segments
        self.full_model_wall_per_s = (time.perf_counter() - wall0) / (n * (length + c + w))
        means = {m: float(np.mean(v)) for m, v in samples.items()}
        variances = {m: float(np.var(v, ddof=1)) / n if n > 1 else 0.0 for m, v in samples.items()}
        return means, variances, customers, readings

    def estimate(self, seed: int, cycles: int, plain_cycles: int, confidence: float = CONFIDENCE,
                 replication: int = 0, control: float = 0.0) -> CycleCustomerEstimates:
        """Estimate from ``cycles`` biased incidents (path-down stratum) and ``plain_cycles`` original
        ones (path-up stratum), plus the healthy segments, with ``control`` the coefficient β of the
        crash control (0: none). Different ``replication`` indices give independent estimates."""
        if cycles < 2 or plain_cycles < 2:
            raise ValueError(f"need at least 2 cycles in each stratum, got {cycles} and {plain_cycles}")
        wall0, cpu0 = time.perf_counter(), time.process_time()
        healthy, healthy_var, customers, readings = self.healthy_rates(seed, replication)
        known, known_var = self.crash.known_part(readings)  # Σ q_r·m̂_r and its variance
        plain_lost, crash_x = np.zeros(plain_cycles), np.zeros(plain_cycles)  # for fitting β
        strata = []
        second_moments = []
        stratum_stats: list[tuple[float, float]] = []
        down_windows = plain_windows = 0
        for key, n, biased in ((_RARE_KEY, cycles, True), (_PLAIN_KEY, plain_cycles, False)):
            compiled = CompiledChain(self.chain, self.biasing_probability if biased else None)
            states: list[State] = list(compiled.index)
            rng = Streams(seed, replication).generator(f"cycles-{key:x}")
            excess = np.zeros((n, len(COUNTS)))
            region = np.zeros(n)
            down = np.zeros(n)
            second_moment = 0.0
            stratum_customers = 0
            for i in range(n):
                inc = sample_incident(compiled, states, rng, biased, self._replicas)
                went_down = inc.down_s > 0.0
                if biased:
                    down[i] = inc.likelihood_ratio * inc.down_s
                if went_down != biased:
                    continue  # belongs to the other stratum: contributes 0 here
                counts, length, ran, x = self._window(inc, KeyedStreams(seed, replication, (key, i)))
                customers += ran
                stratum_customers += ran
                down_windows += biased
                plain_windows += not biased
                lr = inc.likelihood_ratio
                excess[i] = [lr * (counts[m] - healthy[m] * length) for m in COUNTS]
                if biased:  # the control variate of lost checkouts: λ × the cycle's down time
                    excess[i, 0] -= self._rate * lr * inc.down_s
                else:  # the crash control: X, the requests the first failure caught
                    plain_lost[i], crash_x[i] = excess[i, 0], x
                    excess[i, 0] -= control * x
                region[i] = lr * length
                second_moment += lr * (counts["lost_checkouts"] - healthy["lost_checkouts"] * length) ** 2 / n
            strata.append((excess, region, down))
            second_moments.append(second_moment)
            stratum_stats.append((float(excess[:, 0].std(ddof=1)), stratum_customers / n))
        z = float(stats.norm.ppf(0.5 + confidence / 2.0))
        tau = self.mean_cycle_s
        coverage = 1.0 - sum(float(r.mean()) for _, r, _ in strata) / tau
        rates = {}
        for j, m in enumerate(COUNTS):
            value = healthy[m] + sum(float(e[:, j].mean()) for e, _, _ in strata) / tau
            var = sum(float(e[:, j].var(ddof=1)) / len(e) for e, _, _ in strata) / tau**2
            if m == "lost_checkouts":
                value += self._rate * self.unavailability  # E[λ·D]/E[τ] = λ·U, exactly
                value += control * known / tau  # E[X·1{¬D}] = Σ q_r·m_r
                var += control**2 * known_var / tau**2
            var += healthy_var[m] * coverage**2
            rates[m] = _normal(value, var, z)
        excess_down = strata[0][0]
        path_down = {m: _normal(float(excess_down[:, j].mean()) / tau,
                                float(excess_down[:, j].var(ddof=1)) / len(excess_down) / tau**2, z)
                     for j, m in enumerate(COUNTS)}
        lost_down = path_down["lost_checkouts"]
        shift = self._rate * self.unavailability
        path_down["lost_checkouts"] = Estimate(lost_down.value + shift, lost_down.ci_low + shift,
                                               lost_down.ci_high + shift, lost_down.method)
        rates["lost_revenue"] = rates["lost_checkouts"].scaled(self.scenario.costs.order_value) \
            if self.scenario.costs.order_value > 0 else Estimate(0.0, 0.0, 0.0, "cycles-is")
        d = strata[0][2]
        unavailability = _normal(float(d.mean()) / tau, float(d.var(ddof=1)) / len(d) / tau**2, z)
        lost_weighted = strata[0][0][:, 0]
        total = float(np.abs(lost_weighted).sum())
        ess = total**2 / float((lost_weighted**2).sum()) if total > 0 else math.nan
        share = float(np.abs(lost_weighted).max()) / total if total > 0 else math.nan
        measured = self.scenario.horizon_s - self.scenario.warmup_s
        return CycleCustomerEstimates(
            "cycles-balanced-failure-biasing", rates,
            {m: e.scaled(measured) for m, e in rates.items()},
            {m: e.scaled(YEAR_S) for m, e in rates.items()},
            unavailability, tau, cycles, down_windows, plain_cycles, plain_windows, ess, share, customers,
            time.perf_counter() - wall0, time.process_time() - cpu0, sum(second_moments) / tau,
            self.full_model_wall_per_s, path_down, second_moments[0] / tau, dict(healthy),
            {m: sum(float(e[:, j].mean()) for e, _, _ in strata) + (control * known if j == 0 else 0.0)
             for j, m in enumerate(COUNTS)},
            (stratum_stats[0][0], stratum_stats[1][0]), (stratum_stats[0][1], stratum_stats[1][1]),
            tuple(float(v) for v in np.cov(plain_lost, crash_x).ravel()[[0, 1, 3]]),  # type: ignore[arg-type]
            known_var * self.healthy_s,
        )


def cycle_window_times(scenario: Scenario) -> WindowTimes:
    """The incident windows' times for cycles: look-back c and drain d as for incident windows, and a
    warm-up of one look-back, w = max(c, breaker window + open duration, async max delay), instead
    of max(60 s, 3c, breaker). Why one suffices when customers do not interact (no tier reaches its
    concurrency while healthy): a healthy customer stays at most c (one attempt and its service),
    so at a − c a run started empty at a − 2c holds the customers who arrived in [a − 2c, a − c),
    each in the state it would have in a run started long before — the healthy steady state,
    exactly; the breakers' window and the async backlog, which remember longer, have their own
    terms. When healthy customers queue, the two runs couple only once the queue they saw has
    emptied: an approximation whose error is confined to the queue at a − c (small below
    saturation). At λ = 200/s with 100 ms requests this saves 60 of 215 window seconds per incident.
    """
    t = window_times(scenario)
    path = {tier.name: tier for tier in scenario.tiers}
    memory = [t.lookback_s]
    memory += [tier.circuit_breaker.window_s + tier.circuit_breaker.open_duration_s
               for name in scenario.path if (tier := path[name]).circuit_breaker]
    memory += [tier.async_processing.max_delay_s for name in scenario.path
               if (tier := path[name]).async_processing]
    return WindowTimes(t.lookback_s, max(memory), t.drain_s)


def _counts(rec) -> dict[str, float]:
    return {
        "lost_checkouts": float(rec.lost), "attempted_checkouts": float(rec.attempted),
        "completed_checkouts": float(rec.completed), "deferred_checkouts": float(rec.deferred),
        "attempts": float(rec.attempts), "extra_delay_s": float(rec.extra_delay_total),
    }


def _normal(value: float, variance: float, z: float) -> Estimate:
    half = z * math.sqrt(max(variance, 0.0))
    return Estimate(value, value - half, value + half, "cycles-is")


def cycle_replications(scenario: Scenario, seed: int, cycles: int = 2000, plain_cycles: int = 200,
                       confidence: float = CONFIDENCE) -> CycleCustomerEstimates:
    """The regenerative importance-sampling estimate of ``scenario``'s customer metrics.

    ``cycles`` biased incidents estimate the path-down incidents' share, ``plain_cycles`` original
    ones the path-up incidents' share (see the module docstring). Per-horizon figures (measured
    window × the steady-state rate) are in ``per_horizon``, with the same keys as a run's metrics.
    """
    return CycleEstimator(scenario).estimate(seed, cycles, plain_cycles, confidence)
