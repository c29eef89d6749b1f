"""The rare-event estimator of one replication: a batch of importance-sampled regenerative cycles.

Replication ``r`` is one call of :meth:`sim.rare.cycles.CycleEstimator.estimate` with
``replication=r``: a fixed number of biased incidents (path-down stratum), of original-law
incidents (path-up stratum) and a fixed healthy-only customer time, every stream keyed by
(seed, r, stratum, index). Batches are therefore independent and identically distributed, and
each one is an unbiased estimate of the per-horizon means (below), so the experiment's
Student-t interval over replications, its precision procedure, workers, paired comparisons
(replication ``r`` of two scenarios uses the same keys) and sweeps apply unchanged. A batch
with no path-down window is no exception: its estimate of the path-down share is the exact
λ·(expected down time) of the control variate, plus zero sampled excess, and the spread over
batches says how uncertain that is.

**Per horizon, from all-up.** A run of length T (measured window [lo, T)) started all-up has the
expected path-down time, path outages, their total length and incidents N (first failures from
all-up) of :func:`sim.rare.transient.horizon_measures` — exact, not sampled. Every incident starts
from all-up, so its customer excess over healthy has the same law whenever it starts, and a
count's per-horizon mean is

    healthy rate × (T − lo) + N × E[excess per incident]  (+ λ × expected down time, for lost
    checkouts: the control variate's known part),

exact but for the incidents cut by the window's ends (an incident still running at T has its
customers after T counted in its excess; one that started before lo is not counted): a relative
error on the excess of order (E[I] + c + w + d)/(T − lo), I the incident length and c, w, d the
window times — about 1% of the excess on the 3-day baseline — plus the windows' own approximation
(:mod:`sim.rare.cycles`). The healthy part starts warmed up where a full run starts empty: a
difference of about the customers in a checkout at once, against a horizon's worth of them.

Availability (path and per tier), outage count, and the outage time and count behind
``mean_recovery_time_s`` are the exact transient expectations: every batch reports the same
value, and its interval has zero width because there is nothing left to estimate. Ratios of
counts (lost fraction, attempts per checkout, mean extra delay, throughput) are formed per batch
from the batch's count estimates: consistent, with a bias of order 1/(batch size) that is far
below the batch-to-batch spread. Latency quantiles and mean, time in system and service recovery
are not estimated (NaN): the weighted excess is defined for additive counts only.

**Batch size.** A batch is sized for a customer budget (:data:`CUSTOMER_BUDGET`, a few seconds
of the customer model on one core) with fixed numbers, never from the clock, so a replication is
the same on every machine and in every process. Healthy time H = budget/(4λ) within [60 s,
20,000 s], one segment. The incidents are split between the strata by Neyman allocation with
costs (Cochran, *Sampling Techniques*, 1977, §5.5): n_h ∝ σ_h/√c_h, σ_h the standard deviation of
an incident's lost-checkout term in stratum h and c_h the customers its windows simulate per
incident, both from a *pilot* batch of :data:`PILOT_INCIDENTS` incidents per stratum run once per
(scenario, seed) with its own streams (replication key :data:`PILOT_REPLICATION`, never a
replication index). The pilot only decides the sizes: every batch is then an unbiased estimate
whatever they are, so a noisy pilot costs efficiency, never correctness. Each stratum gets at
least 2 incidents and at most 1,000; the window budget is budget − λ·(H + c + w), raised to twice
the cost of the smallest batch (2 + 2 incidents) when incidents are long at a high arrival rate.
When the pilot sees no spread (no loss in either stratum) the split is even. :func:`rare_replications`
and :class:`RareBatches` take a :class:`BatchSize` to override all of this.

**Crash control.** The pilot also fits the coefficient β of the path-up stratum's crash control
(:mod:`sim.rare.controls`): β = Cov(e, X)/Var(X) over its path-up incidents, and the allocation
uses the standard deviation of e − β·X that it leaves. β is fixed before any batch runs, from
streams no batch uses, so every batch stays unbiased; the pilot runs even when a size is given.
The control's known part adds β²·Var(m̂) ∝ 1/H from the healthy segment, so the window budget is
not spent past the point where an incident would remove less variance per customer than healthy
time does: stratum h gets at most σ_h·H·√λ/(|β|·σ_m·√c_h) incidents, σ_m² = Var(m̂)·H from the
pilot (equal marginal variance per customer, σ_h²/(n_h²·c_h) = β²·σ_m²/(H²·λ)); H keeps its rule.

Measured (seed 1, CPU seconds of one core, lost checkouts): the baseline at redundancy 3 gets
3 + 7 incidents a batch, 0.8 s each, ±12% per batch (10 batches: ±9.5%); at redundancy 2,
±1% after 10 batches; a 3+3 path at U ≈ 1e-4, λ = 20/s, 2 + 16 incidents, 0.7 s, ±17% per batch;
a 4+4 path at U ≈ 1e-11, λ = 200/s, where nearly every lost checkout is a request in flight on a
single failing replica: without the crash control 2 + 14 incidents, 6.5 s, ±8% per batch (±6%
after 10 batches, 72 s; the pilot 6.4 s per process); with it (β = 1: such an incident loses
exactly the X requests) the path-up stratum has no spread left, and with the strata capped 2 + 2
incidents, 2.3 s (5 + 2 and 5.1 s uncapped): the benchmark's run stops at its first look, ±0.6%
after 10 batches, 32 CPU-s with the two workers' pilots (benchmarks/README.md: 15.9 s on 2 cores,
937× crude). The baseline and 3+3 batches are the same sizes with and without the cap.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from sim.random.distributions import is_never
from sim.rare.cycles import CycleCustomerEstimates, CycleEstimator, cycle_window_times
from sim.rare.markov import markov_problems
from sim.rare.transient import HorizonMeasures, horizon_measures
from sim.scenario.spec import Scenario
from sim.stats.metrics import METRICS

#: customers simulated per batch by the default size rule (a few seconds on one core)
CUSTOMER_BUDGET = 100_000
HEALTHY_SEGMENTS = 1
#: the pilot's incidents per stratum, and its stream key (2^62: never a replication index)
PILOT_INCIDENTS = 6
PILOT_REPLICATION = 2**62
_MIN_HEALTHY_S, _MAX_HEALTHY_S = 60.0, 20_000.0
_MIN_STRATUM, _MAX_STRATUM = 2, 1000
#: what the rare estimator does not estimate, with the reason (reported as null)
NOT_ESTIMATED: dict[str, str] = {
    **{name: "not estimated by rare-event cycles: quantiles and means of latency need every customer's "
             "latency, not a weighted excess over healthy (use method windows or crude)"
       for name in ("latency_p50_s", "latency_p95_s", "latency_p99_s", "latency_mean_s")},
    "mean_in_system": "not estimated by rare-event cycles: it needs the in-system area of the whole run "
                      "(use method crude)",
    **{name: "not estimated by rare-event cycles: service recovery is timed per run, not a weighted "
             "count (use method windows or crude)"
       for name in ("mean_service_recovery_time_s", "service_recovery_total_s", "service_recovery_count")},
}
#: metrics that are exact expectations (not sampled): the same in every batch
EXACT = ("availability", "outage_count", "outage_time_total_s", "outages_recovered", "mean_recovery_time_s",
         "infrastructure_cost")


@dataclass(frozen=True)
class BatchSize:
    """The fixed size of one rare-event replication."""

    cycles: int  # biased incidents (path-down stratum)
    plain_cycles: int  # original-law incidents (path-up stratum)
    healthy_s: float  # healthy-only customer time, in HEALTHY_SEGMENTS segments

    def __post_init__(self) -> None:
        if self.cycles < 2 or self.plain_cycles < 2 or not self.healthy_s > 0:
            raise ValueError(f"a batch needs at least 2 incidents per stratum and healthy time > 0: {self}")


def rare_problems(scenario: Scenario) -> list[str]:
    """Why the rare-event cycles cannot estimate ``scenario`` (empty when they can), one phrase each."""
    problems = list(markov_problems(scenario))
    if scenario.traffic.closed:
        problems.append("a closed population has no fixed arrival rate")
    if any(not is_never(z.mtbf) for z in scenario.zones):
        problems.append("zone outages are not scripted replica by replica")
    if scenario.traffic.time_varying:
        problems.append("the arrival rate varies in time (daily curve, spike or ramp)")
    if not any(not is_never(t.mtbf) for t in scenario.tiers) and not problems:
        problems.append("nothing ever fails")
    return problems


def batch_size(scenario: Scenario, mean_incident_s: float, pilot: CycleCustomerEstimates | None = None,
               control: float = 0.0) -> BatchSize:
    """The default batch of ``scenario`` (rule in the module docstring): E[I] = ``mean_incident_s``,
    the strata's spread and cost from ``pilot`` (None: an even split), ``control`` the crash
    control's β (its healthy part caps the strata)."""
    rate = max(scenario.traffic.arrival_rate_per_s, 1e-9)
    t = cycle_window_times(scenario)
    healthy = min(max(CUSTOMER_BUDGET / (4.0 * rate), _MIN_HEALTHY_S), _MAX_HEALTHY_S)
    left = CUSTOMER_BUDGET - rate * (healthy + HEALTHY_SEGMENTS * (t.lookback_s + t.warmup_s))
    per_window = rate * (mean_incident_s + t.lookback_s + t.warmup_s + t.drain_s)
    sd: tuple[float, ...] = (0.0, 0.0)
    cost: tuple[float, ...] = (per_window, per_window)
    if pilot is not None:
        sd = tuple(0.0 if math.isnan(x) else x for x in pilot.strata_lost_sd)
        cost = tuple(c if c > 0 else per_window for c in pilot.strata_customers_per_incident)
    left = max(left, 2.0 * _MIN_STRATUM * sum(cost))
    weights = [s / math.sqrt(c) for s, c in zip(sd, cost, strict=True)]
    if sum(weights) <= 0.0:
        weights = [1.0 / math.sqrt(c) for c in cost]  # no spread seen: even customers per stratum
    scale = left / sum(w * c for w, c in zip(weights, cost, strict=True))
    counts = [w * scale for w in weights]
    known_var_s = math.nan if pilot is None else pilot.crash_known_var_s
    if control and known_var_s > 0.0:  # no incident buys less variance per customer than healthy time
        marginal = control**2 * known_var_s / (healthy**2 * rate)
        counts = [min(n, s / math.sqrt(c * marginal)) for n, s, c in zip(counts, sd, cost, strict=True)]
    rare, plain = (int(min(max(n, _MIN_STRATUM), _MAX_STRATUM)) for n in counts)
    return BatchSize(rare, plain, healthy)


@dataclass(frozen=True)
class RareReplication:
    """One batch's per-horizon metrics (same names as a full run's), customers simulated, times."""

    replication: int
    seed: int
    metrics: dict[str, float]
    customers: int
    down_windows: int
    plain_windows: int
    wall_s: float
    cpu_s: float


class RareBatches:
    """Replications of ``scenario`` by rare-event cycles, one batch each: ``size`` overrides the rule,
    whose pilot uses ``seed`` (the run's seed, so a run's batches depend on nothing else)."""

    def __init__(self, scenario: Scenario, size: BatchSize | None = None, seed: int = 0) -> None:
        problems = rare_problems(scenario)
        if problems:
            raise ValueError("rare-event cycles cannot estimate this scenario: " + "; ".join(problems))
        self.scenario = scenario
        self.cycles = CycleEstimator(scenario, healthy_segments=HEALTHY_SEGMENTS)
        first = batch_size(scenario, self.cycles.mean_incident_s)
        self.cycles.healthy_s = first.healthy_s
        pilot = self.cycles.estimate(seed, PILOT_INCIDENTS, PILOT_INCIDENTS, replication=PILOT_REPLICATION)
        self.control, controlled_sd = crash_control(pilot)
        if size is None:
            pilot = replace(pilot, strata_lost_sd=(pilot.strata_lost_sd[0], controlled_sd))
            size = batch_size(scenario, self.cycles.mean_incident_s, pilot, self.control)
        self.size = size
        self.cycles.healthy_s = size.healthy_s
        self.horizon: HorizonMeasures = horizon_measures(self.cycles.chain, scenario.warmup_s,
                                                         scenario.horizon_s)
        self.names = tuple(scenario.path) + tuple(scenario.dependencies)

    def replication(self, seed: int, replication: int) -> RareReplication:
        """Replication ``replication``: one batch, its streams keyed by the index."""
        wall0, cpu0 = time.perf_counter(), time.process_time()
        est = self.cycles.estimate(seed, self.size.cycles, self.size.plain_cycles, replication=replication,
                                   control=self.control)
        assert est.healthy_per_s is not None and est.excess_per_incident is not None
        metrics = self.metrics(est.healthy_per_s, est.excess_per_incident)
        return RareReplication(replication, seed, metrics, est.customers, est.down_windows, est.plain_windows,
                               time.perf_counter() - wall0, time.process_time() - cpu0)

    def metrics(self, healthy_per_s: dict[str, float],
                excess_per_incident: dict[str, float]) -> dict[str, float]:
        """Per-horizon metrics from the healthy rates and the mean excess per incident (module docstring)."""
        sc, hm = self.scenario, self.horizon
        measured = hm.measured_s
        counts = {m: healthy_per_s[m] * measured + hm.incidents * excess_per_incident[m]
                  for m in healthy_per_s}
        counts["lost_checkouts"] += sc.traffic.arrival_rate_per_s * hm.path_down_s
        nan = math.nan
        attempted, lost = counts["attempted_checkouts"], counts["lost_checkouts"]
        deferred = counts["deferred_checkouts"]
        cost_per_hour = sum(t.replicas * t.replica_cost_per_hour for t in sc.tiers)
        out = {
            "attempted_checkouts": attempted,
            "completed_checkouts": counts["completed_checkouts"],
            "deferred_checkouts": deferred,
            "lost_checkouts": lost,
            "lost_fraction": lost / attempted if attempted > 0 else nan,
            "mean_extra_delay_s": counts["extra_delay_s"] / deferred if deferred > 0 else nan,
            "availability": hm.availability,
            "outage_count": hm.outages,
            "mean_recovery_time_s": hm.outage_time_s / hm.outages if hm.outages > 0 else nan,
            "retry_load_factor": counts["attempts"] / attempted if attempted > 0 else nan,
            "throughput_per_s": counts["completed_checkouts"] / measured,
            "lost_revenue": lost * sc.costs.order_value,
            "infrastructure_cost": cost_per_hour * measured / 3600.0,
            "outage_time_total_s": hm.outage_time_s,
            "outages_recovered": hm.outages,
        }
        out.update({name: nan for name in NOT_ESTIMATED})
        ordered = {name: out[name] for name in METRICS}  # a full run's order
        for name in self.names:
            if name in hm.tier_down_s:
                ordered[f"availability_{name}"] = 1.0 - hm.tier_down_s[name] / measured
        return ordered


def crash_control(pilot: CycleCustomerEstimates) -> tuple[float, float]:
    """The crash control's coefficient β = Cov(e, X)/Var(X) from the pilot's path-up incidents (0
    when X does not vary), and the standard deviation of e − β·X it leaves (for the allocation)."""
    var_e, cov, var_x = pilot.crash_moments
    beta = cov / var_x if var_x > 0.0 and math.isfinite(cov) else 0.0
    left = var_e - 2.0 * beta * cov + beta**2 * var_x
    return beta, math.sqrt(max(left, 0.0)) if math.isfinite(left) else math.nan


def rare_replications(scenario: Scenario, seed: int, replications: int,
                      size: BatchSize | None = None) -> list[RareReplication]:
    """Replications 0..replications−1 of ``scenario`` by rare-event cycles (i.i.d. batches)."""
    batches = RareBatches(scenario, size, seed)
    return [batches.replication(seed, r) for r in range(replications)]
