"""The work a replication will take, estimated before it runs, and the bound that refuses too much.

A scenario can be valid and still describe an astronomical amount of simulation: a spike that
multiplies the arrival rate by 1e308, replicas that fail every microsecond, a horizon of a
thousand years. Such a run would not fail, it would never end. :func:`estimate_workload` counts
the events one replication is expected to process, from the distributions' means (arrivals
including the daily profile, spikes and ramp — for a closed population at most clients / mean
think time per second, its ``arrival_rate_per_s``; thinning candidates; every attempt a customer
may make; failures and repairs; the success-rate clock), and :func:`check_workload` refuses a
scenario above the bound with a one-line error that gives the estimate and how to run anyway.

The bound is ``DEFAULT_MAX_EVENTS`` events per replication (a few minutes of simulation on one
core), or the value of the environment variable ``OUTAGESIM_MAX_EVENTS`` ("inf": no bound).
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass

from sim.random.distributions import Distribution, is_never
from sim.scenario.errors import ScenarioError
from sim.scenario.spec import Scenario, TrafficSpec

DEFAULT_MAX_EVENTS = 2e8  # events per replication: minutes of simulation, not years
MAX_EVENTS_ENV = "OUTAGESIM_MAX_EVENTS"
DRAIN_LIMIT_S = 86400.0  # the model's longest drain after the horizon (sim.model.system.DRAIN_LIMIT_S)
SUCCESS_TICK_S = 10.0  # the model's success-rate clock (sim.stats.metrics.SUCCESS_BUCKET_S)
DAY_S = 86400.0


class WorkloadError(ScenarioError):
    """A scenario whose replications would take too many events to run (or an unreadable bound)."""


@dataclass(frozen=True)
class Workload:
    """Expected counts for one replication; ``events`` is what the bound applies to."""

    arrivals: float  # customers expected to arrive (daily profile, spikes and ramp included)
    candidates: float  # arrival candidates drawn by thinning (= arrivals for a flat rate)
    attempts: float  # upper bound: every customer makes every attempt it is allowed
    failure_events: float  # failures and repairs of replicas and zones
    clock_events: float  # success-rate ticks and drain checks

    @property
    def events(self) -> float:
        return self.candidates + self.attempts + self.failure_events + self.clock_events

    def describe(self) -> str:
        return (f"~{self.events:.3g} events per replication ({self.arrivals:.3g} arrivals, "
                f"{self.attempts:.3g} attempt events, {self.failure_events:.3g} failure and repair events)")


def _integral_of_spikes_and_ramp(traffic: TrafficSpec, horizon_s: float) -> tuple[float, float]:
    """∫ spikes·ramp dt over [0, horizon) and its largest value, exactly (both are piecewise simple)."""
    edges = {0.0, horizon_s}
    for s in traffic.spikes:
        edges.update((s.start_s, s.start_s + s.duration_s))
    ramp = traffic.ramp
    if ramp is not None:
        edges.update((ramp.start_s, ramp.start_s + ramp.duration_s))
    points = sorted(t for t in edges if 0.0 <= t <= horizon_s)
    # a running sum of log multipliers over the sorted spike edges: O(n log n) for n spikes
    changes: dict[float, float] = {}
    for s in traffic.spikes:
        log_m = math.log(s.multiplier)
        changes[s.start_s] = changes.get(s.start_s, 0.0) + log_m
        end = s.start_s + s.duration_s
        changes[end] = changes.get(end, 0.0) - log_m
    log_spike, area, peak = 0.0, 0.0, 0.0
    pending = sorted(changes.items())
    i = 0
    for a, b in itertools.pairwise(points):
        while i < len(pending) and pending[i][0] <= a:
            log_spike += pending[i][1]
            i += 1
        spike = math.exp(min(log_spike, 709.0)) if log_spike < 709.0 else math.inf
        ramp_mean, ramp_peak = _ramp_over(traffic, a, b)
        area += spike * ramp_mean * (b - a)
        peak = max(peak, spike * ramp_peak)
    return area, peak


def _ramp_over(traffic: TrafficSpec, a: float, b: float) -> tuple[float, float]:
    """Mean and largest ramp factor over [a, b) (linear inside the ramp, constant outside it)."""
    ramp = traffic.ramp
    if ramp is None or b <= ramp.start_s:
        return 1.0, 1.0

    def factor(t: float) -> float:
        frac = min(1.0, (t - ramp.start_s) / ramp.duration_s) if ramp.duration_s else 1.0
        return 1.0 + (ramp.to_multiplier - 1.0) * max(0.0, frac)

    lo, hi = factor(a), factor(b)
    return (lo + hi) / 2.0, max(lo, hi)


def expected_arrivals(traffic: TrafficSpec, horizon_s: float) -> tuple[float, float]:
    """Expected arrivals in [0, horizon) and the thinning candidates drawn for them.

    The daily profile enters with its daily mean (its peak for horizons under two days, an upper
    bound); candidates are drawn at the peak rate throughout.
    """
    profile = traffic.daily_profile
    if profile:
        daily_mean = sum(profile) / 24.0 * (1.0 + DAY_S / horizon_s)  # a partial day counted whole
        profile_factor = max(profile) if horizon_s < 2 * DAY_S else min(daily_mean, max(profile))
    else:
        profile_factor = 1.0
    area, _ = _integral_of_spikes_and_ramp(traffic, horizon_s)
    rate = traffic.arrival_rate_per_s
    arrivals = rate * profile_factor * area
    peak = traffic.max_multiplier() if traffic.time_varying else 1.0
    candidates = rate * peak * horizon_s
    return _finite_or_inf(arrivals), _finite_or_inf(max(candidates, arrivals))


def _finite_or_inf(x: float) -> float:
    return math.inf if math.isnan(x) or x > 1e300 else x


def _cycles(mtbf: Distribution | None, mttr: Distribution, span_s: float) -> float:
    """Failure-repair cycles in ``span_s``: each takes a mean MTBF plus a mean MTTR."""
    if is_never(mtbf):
        return 0.0
    cycle = mtbf.mean + mttr.mean  # type: ignore[union-attr]  # is_never checked None
    return math.inf if cycle <= 0 else span_s / cycle + 1.0


def estimate_workload(scenario: Scenario) -> Workload:
    """The events one replication of ``scenario`` is expected to process (see the module docstring)."""
    horizon = scenario.horizon_s
    repairs = [t.mttr.mean for t in scenario.tiers] + [z.mttr.mean for z in scenario.zones]
    longest_repair = max(repairs, default=0.0)
    span = horizon + min(DRAIN_LIMIT_S, 60.0 + longest_repair)  # the horizon and a drain
    arrivals, candidates = expected_arrivals(scenario.traffic, horizon)
    # an attempt is a patience timer and, per tier, an arrival and a service completion; a retry
    # adds its backoff timer; a tier with hop retries takes up to `attempts` calls per attempt,
    # each with its timeout and backoff timers
    per_attempt = 2.0 + sum(3.0 * t.retry.attempts if t.retry else 2.0 for t in scenario.path_tiers)
    tries = float(scenario.customer.max_attempts)
    comm = scenario.communication
    if comm is not None and comm.status_page and comm.return_probability > 0:
        # an informed customer comes back with a fresh budget, again and again (geometric), but no
        # more often than once per mean return time
        p = comm.return_probability
        returns = p / (1.0 - p) if p < 1.0 else math.inf
        if comm.return_after.mean > 0:
            returns = min(returns, span / comm.return_after.mean)
        tries *= 1.0 + returns
    attempts = _finite_or_inf(arrivals * tries * per_attempt)
    failures = 0.0
    for t in scenario.tiers:
        failures += 2.0 * t.replicas * _cycles(t.mtbf, t.mttr, span)
    for z in scenario.zones:
        failures += 2.0 * _cycles(z.mtbf, z.mttr, span)
    clock = span / SUCCESS_TICK_S + min(DRAIN_LIMIT_S, span)
    return Workload(arrivals, candidates, attempts, _finite_or_inf(failures), clock)


def max_events() -> float:
    """The bound in force: ``OUTAGESIM_MAX_EVENTS`` if set (a number, or "inf"), else the default."""
    text = os.environ.get(MAX_EVENTS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_EVENTS
    try:
        bound = float(text)
    except ValueError:
        bound = math.nan
    if not bound > 0:  # also NaN
        raise WorkloadError(MAX_EVENTS_ENV, "", f"{text[:40]!r}: must be a number of events > 0, or inf")
    return bound


def check_workload(scenario: Scenario, what: str = "") -> Workload:
    """Raise :class:`WorkloadError` if one replication of ``scenario`` would exceed the bound.

    ``what`` names the variant in the message (e.g. a sweep point); returns the estimate.
    """
    work = estimate_workload(scenario)
    bound = max_events()
    if not work.events <= bound:
        label = f"{what}: " if what else ""
        raise WorkloadError(
            scenario.source, "", f"{label}too much work: {work.describe()}, above the limit of {bound:.3g}; "
            f"shorten the horizon or lower the rates, or set {MAX_EVENTS_ENV}=N (or inf) to run anyway")
    return work
