"""Incident windows: the customer model run only where the infrastructure is not healthy.

Customers react to the infrastructure but never change it (:mod:`sim.rare.infrastructure`), so a
replication's per-horizon customer metrics are estimated from one infrastructure path plus short
customer runs:

1. Simulate the infrastructure alone over [0, T) from all-up (the full model's path, draw for
   draw) and take the incidents [a_i, b_i): some replica down (its failure, its zone, an injected
   outage).
2. For each incident run the customer model on [a_i − c − w, b_i + d) with that path *scripted*
   (:class:`sim.model.system.CheckoutSystem` with ``script``: the same down/up changes, so
   failover, health checks and availability are the model's own), merging windows that overlap.
   Customers arriving in the *counted region* [a_i − c, b_i + d) ∩ [warmup, T) are counted from
   the window run; c looks back far enough to include the customers already in a checkout when
   the incident starts (a crash fails them too), w warms the customer state up to its healthy
   steady state, and d lets every customer the incident touched finish before the region ends.
3. Every other customer arrived while the system was healthy and is counted with healthy rates:
   per replication, one healthy-only segment per bin (the whole measured window for steady
   traffic; each hour for a time-varying rate) of length ``healthy_fraction`` × the bin, at a
   uniformly drawn offset inside it, warmed up by c + w. Its counts are scaled to the bin's
   healthy time by expected arrivals, Λ(healthy part of the bin) / Λ(segment) with
   Λ = ∫ λ(t) dt of the real rate curve. A replication is then one infrastructure path, its
   windows and its own healthy segments: replications stay independent and identically
   distributed, so the healthy part's uncertainty is inside the usual interval over replications.

The lengths c, w and d are derived from the scenario's patience, service times, attempts and
backoff caps, async max delay, breaker and status-page times (:mod:`sim.rare.window_times`).

A window *closes* when, at its end, every customer who arrived in [a − c, b) has left and the
1-minute success rate is back to 99% (a metastable retry storm keeps failing the customers who
arrive after the incident). If not, its counted region is extended by d at a time (up to the
horizon) as long as it stays clear of the next window's warm-up; otherwise the whole replication
falls back to a full run of the model (``fallback`` in the result). Each window and each healthy
segment draws its customers from streams keyed by (replication, window or segment index), so
runs are reproducible and independent of each other.

Metrics: the additive ones (attempted, completed, deferred and lost checkouts, attempts, extra
delay, lost revenue, calls per tier, duplicate charges) are sums; ratios (lost fraction, retry load
factor, mean extra delay, calls per checkout, throughput) are formed from those sums; latency
quantiles and mean come from the weighted sum of the runs' latency histograms; availability,
outage count and mean recovery time come straight from the infrastructure path (with the sums
behind the pooled per-incident means). Service
recovery comes from the runs' own success-rate clocks (10 s buckets counted from each run's start,
not from time 0, so a recovery time may differ from a full run's by up to a bucket).
``mean_in_system`` is not estimated (NaN): it needs the in-system area of the whole run.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, replace

import numpy as np
import simpy

from sim.model.system import DRAIN_LIMIT_S, CheckoutSystem
from sim.model.timers import Timer
from sim.random.streams import Streams, name_key
from sim.rare.infrastructure import InfrastructureTrace, simulate_infrastructure
from sim.rare.window_times import WindowTimes, tier_down_intervals, window_times
from sim.scenario.spec import Scenario
from sim.stats.metrics import Recorder
from sim.stats.quantiles import LogHistogram

HOUR_S = 3600.0
_WINDOW_KEY = 0x57494E44  # spawn-key tags: window customers' and healthy segments' streams
_HEALTHY_KEY = 0x4845414C
_DRAIN_STEP_S = 5.0
_INCIDENT = 2  # recorder tag: a counted customer who arrived before the incident ended


class KeyedStreams(Streams):
    """Customer streams of one window or healthy segment: keyed by (replication, tag, index)."""

    def __init__(self, seed: int, replication: int, key: tuple[int, ...]) -> None:
        super().__init__(seed, replication)
        self.key = key

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(self.replication, *self.key, *name_key(name)))


class _WindowRecorder(Recorder):
    """Counts customers arriving in [start, end); tracks those who arrived before ``incident_end_s``."""

    def __init__(self, start_s: float, end_s: float, incident_end_s: float, names: tuple[str, ...]) -> None:
        super().__init__(start_s, end_s, names)
        self.incident_end_s = incident_end_s
        self.incident_in_system = 0
        self.probes: list[list[int]] = []  # run_window's ``probe`` readings

    @property
    def settled(self) -> bool:
        """Every customer of the incident has left and the 1-minute success rate is back to 99%
        (a metastable retry storm keeps failing the customers who arrive after the incident)."""
        return self.incident_in_system == 0 and self._incident_start is None

    def arrival(self, now: float) -> bool:
        measured = super().arrival(now)
        if measured and now < self.incident_end_s:
            self.incident_in_system += 1
            return _INCIDENT  # type: ignore[return-value]  (truthy: the model only tests it)
        return measured

    def completed_checkout(self, now, arrived, attempt_started, attempt, measured) -> None:
        if measured == _INCIDENT:
            self.incident_in_system -= 1
        super().completed_checkout(now, arrived, attempt_started, attempt, measured)

    def async_completed(self, now, arrived, accepted_at, attempt_started, late, measured) -> None:
        if measured == _INCIDENT:
            self.incident_in_system -= 1
        super().async_completed(now, arrived, accepted_at, attempt_started, late, measured)

    def lost_checkout(self, now: float, measured: bool) -> None:
        if measured == _INCIDENT:
            self.incident_in_system -= 1
        super().lost_checkout(now, measured)


@dataclass
class _Counts:
    """Weighted sums of the additive customer counts of several runs."""

    attempted: float = 0.0
    completed: float = 0.0
    deferred: float = 0.0
    lost: float = 0.0
    attempts: float = 0.0
    extra_delay: float = 0.0
    latency_total: float = 0.0
    latency: np.ndarray | None = None
    latency_min: float = math.inf
    latency_max: float = -math.inf
    service_recovery_total: float = 0.0
    service_recovery_count: float = 0.0
    customers: int = 0
    calls: tuple[float, ...] = ()  # calls that reached each path tier
    duplicate_charges: float = 0.0
    charging: bool = False

    def add(self, rec: Recorder, weight: float) -> None:
        self.customers += rec.customers
        self.calls = tuple(a + weight * b for a, b in itertools.zip_longest(self.calls, rec.path_calls,
                                                                              fillvalue=0.0))
        self.duplicate_charges += weight * rec.duplicate_charges
        self.charging = self.charging or rec.charging
        self.attempted += weight * rec.attempted
        self.completed += weight * rec.completed
        self.deferred += weight * rec.deferred
        self.lost += weight * rec.lost
        self.attempts += weight * rec.attempts
        self.extra_delay += weight * rec.extra_delay_total
        self.service_recovery_total += weight * rec._service_recovery_total
        self.service_recovery_count += weight * rec._service_recovery_n
        hist = rec.latency
        hist.flush()
        if hist.count == 0 or weight == 0.0:
            return
        counts = weight * hist.counts.astype(float)
        if self.latency is None:
            self.latency = counts
        else:
            n = max(self.latency.size, counts.size)
            old = self.latency
            self.latency = np.pad(old, (0, n - old.size)) + np.pad(counts, (0, n - counts.size))
        self.latency_total += weight * hist.total
        self.latency_min = min(self.latency_min, hist.minimum)
        self.latency_max = max(self.latency_max, hist.maximum)

    def histogram(self) -> LogHistogram:
        hist = LogHistogram()
        if self.latency is not None:
            hist.counts = self.latency
            hist.n_bins = self.latency.size
            hist.count = float(self.latency.sum())  # type: ignore[assignment]
            hist.total = self.latency_total
            hist.minimum, hist.maximum = self.latency_min, self.latency_max
        return hist


@dataclass(frozen=True)
class WindowReplication:
    """One replication estimated from its incident windows (or a full run when one did not close)."""

    replication: int
    seed: int
    metrics: dict[str, float]
    customers: int  # customers simulated (windows and healthy segments, or the full run)
    windows: int
    window_time_s: float  # simulated time of the window runs
    fallback: bool  # True: a window did not close and the replication was run in full
    wall_s: float
    cpu_s: float


class WindowEstimator:
    """The incident-window estimator of the per-horizon metrics of ``scenario``."""

    def __init__(self, scenario: Scenario, times: WindowTimes | None = None, healthy_fraction: float = 0.1):
        if not 0.0 < healthy_fraction <= 1.0:
            raise ValueError(f"healthy_fraction must lie in (0, 1], got {healthy_fraction}")
        self.scenario = scenario
        self.times = times or window_times(scenario)
        self.healthy_fraction = healthy_fraction
        self.names = tuple(scenario.path) + tuple(scenario.dependencies)
        # the model runs with failures scripted and no horizon of its own: the windows decide
        self._run_scenario = replace(scenario, warmup_s=0.0, horizon_s=1e18, outages=())
        traffic = scenario.traffic
        self._rate = traffic.arrival_rate_per_s
        self._varying = traffic.time_varying
        edges = [t for sp in traffic.spikes for t in (sp.start_s, sp.start_s + sp.duration_s)]
        if traffic.ramp is not None:
            edges += [traffic.ramp.start_s, traffic.ramp.start_s + traffic.ramp.duration_s]
        self._edges = sorted(edges)

    def expected_arrivals(self, start_s: float, end_s: float) -> float:
        """Λ([start, end)) = ∫ λ(t) dt of the scenario's arrival-rate curve, exactly: between the
        hour boundaries, spike and ramp edges the multiplier is constant or linear, so the
        midpoint rule on each piece is exact."""
        if end_s <= start_s:
            return 0.0
        if not self._varying:
            return self._rate * (end_s - start_s)
        hours = range(math.floor(start_s / HOUR_S) + 1, math.ceil(end_s / HOUR_S))
        cuts = sorted({start_s, end_s, *(h * HOUR_S for h in hours),
                       *(t for t in self._edges if start_s < t < end_s)})
        m = self.scenario.traffic.multiplier
        return self._rate * sum(m(0.5 * (a + b)) * (b - a) for a, b in itertools.pairwise(cuts))

    # -- one model run ---------------------------------------------------------------------
    def run_window(self, streams: Streams, start_s: float, count: tuple[float, float], incident_end_s: float,
                   script: list, limit_s: float, probe: tuple | None = None) -> _WindowRecorder | None:
        """Run from ``start_s`` (healthy, empty), count arrivals in ``count``; None: did not close."""
        sc = self.scenario
        rec = _WindowRecorder(count[0], count[1], incident_end_s, self.names)
        env = simpy.Environment(initial_time=start_s)
        system = CheckoutSystem(env, self._run_scenario, streams, rec, script)
        if probe is not None:  # (times, replicas): outstanding requests, read before a change at a time
            targets = [system.tiers[name].replicas[i] for name, i in probe[1]]
            for t in probe[0]:
                Timer(env, t - start_s, lambda _t: rec.probes.append([r.outstanding for r in targets]))
        # as in a full run, nobody arrives after the horizon (a window may be extended up to it)
        Timer(env, max(0.0, sc.horizon_s - start_s), lambda _t: system.arrivals.stop())
        env.run(until=count[1])
        while script and not rec.settled and rec.horizon_s < sc.horizon_s:  # the storm outlived the drain
            end = min(rec.horizon_s + self.times.drain_s, sc.horizon_s)
            if end > limit_s:
                return None
            rec.horizon_s = end
            env.run(until=end)
        stop = max(env.now, sc.horizon_s) + DRAIN_LIMIT_S
        while rec.measured_in_system and env.now < stop:
            env.run(until=env.now + _DRAIN_STEP_S)
        rec.unfinished_lost(env.now)  # still busy a day after the horizon: lost, as in a full run
        return rec

    # -- one replication ----------------------------------------------------------------------
    def windows(self, trace: InfrastructureTrace) -> list[tuple[float, float, float, float]]:
        """Merged windows (start, counted start, incident end, counted end) of an infrastructure path."""
        sc, t = self.scenario, self.times
        merged: list[list[float]] = []
        for a, b in trace.incidents:
            if b + t.drain_s <= sc.warmup_s:
                continue  # over, and its customers gone, before the measured window
            start = max(0.0, a - t.lookback_s - t.warmup_s)
            if merged and start < merged[-1][3]:
                merged[-1][2], merged[-1][3] = b, b + t.drain_s
            else:
                merged.append([start, max(0.0, a - t.lookback_s), b, b + t.drain_s])
        return [(s, max(c0, sc.warmup_s), b, min(c1, sc.horizon_s)) for s, c0, b, c1 in merged]

    def replication(self, seed: int, replication: int) -> WindowReplication:
        """Estimate replication ``replication`` (its infrastructure path is the full run's)."""
        wall0, cpu0 = time.perf_counter(), time.process_time()
        sc = self.scenario
        trace = simulate_infrastructure(sc, seed, replication, record=True)
        names = [tier.name for tier in sc.tiers]
        windows = self.windows(trace)
        counts = _Counts()
        counted: list[tuple[float, float]] = []
        window_time = 0.0
        for k, (start, c0, b, c1) in enumerate(windows):
            limit = windows[k + 1][0] if k + 1 < len(windows) else math.inf
            script = [(at, names[ti], i, down) for at, ti, i, down in trace.changes if start <= at <= b]
            streams = KeyedStreams(seed, replication, (_WINDOW_KEY, k))
            rec = self.run_window(streams, start, (c0, c1), b, script, limit)
            if rec is None:
                return self._full(seed, replication, len(windows), wall0, cpu0)
            counts.add(rec, 1.0)
            counted.append((c0, max(c0, rec.horizon_s)))
            window_time += rec.horizon_s - start
        self._healthy(seed, replication, counted, counts)
        metrics = self._metrics(counts, trace)
        return WindowReplication(
            replication, seed, metrics, counts.customers, len(windows), window_time, False,
            time.perf_counter() - wall0, time.process_time() - cpu0,
        )

    def _healthy(
        self, seed: int, replication: int, counted: list[tuple[float, float]], counts: _Counts
    ) -> None:
        """Add the healthy time's customers: one scaled healthy segment per bin."""
        sc, t = self.scenario, self.times
        lo, hi = sc.warmup_s, sc.horizon_s
        if not self._varying:
            edges = [lo, hi]
        else:
            edges = [lo, *[h * HOUR_S for h in range(int(lo // HOUR_S) + 1, math.ceil(hi / HOUR_S))], hi]
        offsets = KeyedStreams(seed, replication, (_HEALTHY_KEY,)).uniform("segment-offsets")
        for j, (b0, b1) in enumerate(itertools.pairwise(edges)):
            u = offsets()  # drawn for every bin, so bin j's offset does not depend on the others
            healthy = self.expected_arrivals(b0, b1) - sum(
                self.expected_arrivals(max(b0, c0), min(b1, c1)) for c0, c1 in counted
            )
            if healthy <= 1e-9 * max(1.0, self.expected_arrivals(b0, b1)):
                continue
            length = self.healthy_fraction * (b1 - b0)
            seg0 = b0 + u * (b1 - b0 - length)
            expected = self.expected_arrivals(seg0, seg0 + length)
            if expected <= 0.0:
                continue  # no traffic at all in this bin
            streams = KeyedStreams(seed, replication, (_HEALTHY_KEY, j))
            start = max(0.0, seg0 - t.lookback_s - t.warmup_s)
            rec = self.run_window(streams, start, (seg0, seg0 + length), seg0, [], math.inf)
            assert rec is not None  # no incident customers: a healthy run always closes
            counts.add(rec, healthy / expected)

    def _metrics(self, counts: _Counts, trace: InfrastructureTrace) -> dict[str, float]:
        sc = self.scenario
        lo, hi = sc.warmup_s, sc.horizon_s
        measured_s = hi - lo
        nan = math.nan
        hist = counts.histogram()
        started = [(a, b) for a, b in trace.path_down if lo <= a < hi]
        cost_per_hour = sum(t.replicas * t.replica_cost_per_hour for t in sc.tiers)
        out = {
            "attempted_checkouts": counts.attempted,
            "completed_checkouts": counts.completed,
            "deferred_checkouts": counts.deferred,
            "lost_checkouts": counts.lost,
            "lost_fraction": counts.lost / counts.attempted if counts.attempted else nan,
            "mean_extra_delay_s": counts.extra_delay / counts.deferred if counts.deferred else nan,
            "availability": 1.0 - trace.path_down_time_s(lo, hi) / measured_s,
            "outage_count": float(len(started)),
            "mean_recovery_time_s": sum(b - a for a, b in started) / len(started) if started else nan,
            "mean_service_recovery_time_s": (
                counts.service_recovery_total / counts.service_recovery_count
                if counts.service_recovery_count else nan
            ),
            "latency_p50_s": hist.quantile(0.50),
            "latency_p95_s": hist.quantile(0.95),
            "latency_p99_s": hist.quantile(0.99),
            "latency_mean_s": hist.mean,
            "retry_load_factor": counts.attempts / counts.attempted if counts.attempted else nan,
            "throughput_per_s": counts.completed / measured_s,
            "mean_in_system": nan,
            "lost_revenue": counts.lost * sc.costs.order_value,
            "infrastructure_cost": cost_per_hour * measured_s / 3600.0,
            "outage_time_total_s": sum(b - a for a, b in started),
            "outages_recovered": float(len(started)),
            "service_recovery_total_s": counts.service_recovery_total,
            "service_recovery_count": counts.service_recovery_count,
        }
        for name, down in tier_down_intervals(sc, trace).items():
            if name in self.names:
                time_down = sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in down)
                out[f"availability_{name}"] = 1.0 - time_down / measured_s
        for name, calls in zip(sc.path, counts.calls, strict=False):  # additive, as the counts above
            out[f"calls_per_checkout_{name}"] = calls / counts.attempted if counts.attempted else nan
        if counts.charging:
            out["duplicate_charges"] = counts.duplicate_charges
            out["duplicate_charge_value"] = counts.duplicate_charges * sc.costs.order_value
        return out

    def _full(
        self, seed: int, replication: int, windows: int, wall0: float, cpu0: float
    ) -> WindowReplication:
        """The fall-back: the whole replication with the full model."""
        sc = self.scenario
        env = simpy.Environment()
        rec = Recorder(sc.warmup_s, sc.horizon_s, self.names)
        system = CheckoutSystem(env, sc, Streams(seed, replication), rec)
        env.run(until=system.stopped)
        rec.unfinished_lost(env.now)
        cost_per_hour = sum(t.replicas * t.replica_cost_per_hour for t in sc.tiers)
        metrics = rec.results(sc.costs.order_value, cost_per_hour)
        return WindowReplication(replication, seed, metrics, rec.customers, windows, sc.horizon_s, True,
                                 time.perf_counter() - wall0, time.process_time() - cpu0)


def window_replications(
    scenario: Scenario, seed: int, replications: int, times: WindowTimes | None = None,
    healthy_fraction: float = 0.1,
) -> list[WindowReplication]:
    """Replications 0..replications-1 of ``scenario`` by incident windows (independent, i.i.d.)."""
    estimator = WindowEstimator(scenario, times, healthy_fraction)
    return [estimator.replication(seed, r) for r in range(replications)]
