"""Stress testing: the arrival rate at which an architecture stops meeting its objective.

Capacity depends on how many replicas are up, so the breaking point is found in two
conditions, never mixed: *healthy* (no replica, zone or injected outage while probing) and
*one replica down* (one replica of a path tier held down for the whole probe, for each path
tier with more than one replica). For each replication (its own random streams), the steady
arrival rate is raised until the objective fails, then bisected to a relative precision. The
breaking points of independent replications give a mean and a Student-t confidence interval.
Arrivals of one replication scale with the rate on the same stream (common random numbers), so
a replication's objective changes smoothly with the rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace

from sim.experiment import run_replication
from sim.experiment.executors import available_cores, process_context
from sim.scenario.spec import OutageSpec, Scenario
from sim.scenario.workload import check_workload
from sim.stats.intervals import Summary, summarize
from sim.stats.metrics import METRICS
from sim.stats.objective import Condition
from sim.stats.objective import parse_objective as _parse

DEFAULT_OBJECTIVES = ("lost_fraction<0.001", "latency_p95_s<2")
HEALTHY = "healthy"


def parse_objective(texts: Sequence[str]) -> tuple[Condition, ...]:
    """Parse ``["lost_fraction<0.001", "latency_p95_s<2"]``; ValueError names what is allowed.

    Any metric of a replication may be named, per-tier ``availability_<tier>`` included.
    """
    conditions = _parse(texts)
    for c in conditions:
        if c.metric not in METRICS and not c.metric.startswith("availability_"):
            raise ValueError(f"{str(c)!r}: unknown metric {c.metric!r}; metrics: {', '.join(METRICS)}")
    return conditions


@dataclass(frozen=True)
class Probe:
    """One simulated rate, whether the objective held, and which of its conditions failed."""

    arrival_rate_per_s: float
    met: bool
    failed: tuple[str, ...] = ()  # the conditions that did not hold, e.g. "latency_p95_s < 2"
    values: dict[str, float] = field(default_factory=dict)  # each objective metric at this rate

    def to_dict(self) -> dict:
        return {"arrival_rate_per_s": self.arrival_rate_per_s, "met": self.met, "failed": list(self.failed),
                "values": {k: _json_number(v) for k, v in self.values.items()}}


@dataclass(frozen=True)
class BreakingPoints:
    """Breaking points of every replication under one condition (healthy or one replica down)."""

    condition: str  # HEALTHY or the name of the tier with one replica held down
    breaking_points: tuple[float, ...]
    summary: Summary
    probes: tuple[tuple[Probe, ...], ...]
    censored: tuple[bool, ...]  # the objective still held at the highest rate tried
    never_met: tuple[bool, ...]  # the objective failed even at the lowest rate tried

    @property
    def lowest_probed_per_s(self) -> float:
        return min(p.arrival_rate_per_s for probes in self.probes for p in probes)

    def to_dict(self) -> dict:
        return {
            "breaking_point_per_s": self.summary.to_dict(),
            "per_replication": [
                {"breaking_point_per_s": b, "censored": c, "never_met": n,
                 "probes": [p.to_dict() for p in probes]}
                for b, c, n, probes in zip(self.breaking_points, self.censored, self.never_met, self.probes,
                                           strict=True)
            ],
        }


@dataclass(frozen=True)
class StressResult:
    """The healthy breaking point and, per path tier, the breaking point with one replica down."""

    scenario: Scenario
    objective: tuple[Condition, ...]
    healthy: BreakingPoints
    one_replica_down: tuple[BreakingPoints, ...] = ()

    # The healthy condition's fields, as before the conditions were told apart.
    @property
    def breaking_points(self) -> tuple[float, ...]:
        return self.healthy.breaking_points

    @property
    def summary(self) -> Summary:
        return self.healthy.summary

    @property
    def probes(self) -> tuple[tuple[Probe, ...], ...]:
        return self.healthy.probes

    @property
    def censored(self) -> tuple[bool, ...]:
        return self.healthy.censored

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario.name,
            "objective": [str(c) for c in self.objective],
            "condition": "healthy: no failures, zone or injected outages while probing",
            **self.healthy.to_dict(),
            "one_replica_down": {
                b.condition: {"condition": f"one replica of {b.condition} down for the whole probe",
                              **b.to_dict()}
                for b in self.one_replica_down
            },
        }


def steady(scenario: Scenario, arrival_rate_per_s: float) -> Scenario:
    """The scenario at a constant arrival rate (no daily curve, spikes or ramp)."""
    traffic = replace(
        scenario.traffic, arrival_rate_per_s=arrival_rate_per_s, daily_profile=(), spikes=(), ramp=None
    )
    return replace(scenario, traffic=traffic)


def healthy(scenario: Scenario) -> Scenario:
    """The scenario with failures held off: no replica or zone fails and no outage is injected."""
    return replace(
        scenario,
        tiers=tuple(replace(t, mtbf=None) for t in scenario.tiers),
        zones=tuple(replace(z, mtbf=None) for z in scenario.zones),
        outages=(),
    )


def one_replica_down(scenario: Scenario, tier: str) -> Scenario:
    """Healthy, except that one replica of ``tier`` is down from the start to the end of the run."""
    whole_run_s = scenario.warmup_s + scenario.horizon_s + 86_400.0  # past the drain after the horizon
    outage = OutageSpec(tier=tier, zone=None, start_s=0.0, duration_s=whole_run_s, replicas=1)
    return replace(healthy(scenario), outages=(outage,))


def degradable_tiers(scenario: Scenario) -> tuple[str, ...]:
    """Path tiers with more than one replica (with one, "one down" is a full outage)."""
    return tuple(t.name for t in scenario.path_tiers if t.replicas > 1)


def breaking_point(
    scenario: Scenario,
    objective: Sequence[Condition],
    seed: int,
    replication: int,
    precision: float = 0.02,
    max_factor: float = 1024.0,
) -> tuple[float, tuple[Probe, ...], bool]:
    """Highest rate meeting ``objective`` for one replication, to a relative ``precision``.

    ``scenario`` is probed as given (see :func:`healthy` and :func:`one_replica_down`). Returns the
    rate, every probe, and whether the objective still held at the highest rate tried. A rate of
    0 means it failed even at the lowest rate tried (``start / max_factor``).
    """
    probes: list[Probe] = []

    def meets(rate: float) -> bool:
        metrics = run_replication(steady(scenario, rate), seed, replication).metrics
        failed = tuple(str(c) for c in objective if not c.met(metrics))
        values = {c.metric: float(metrics.get(c.metric, math.nan)) for c in objective}
        probes.append(Probe(rate, not failed, failed, values))
        return not failed

    start = scenario.traffic.arrival_rate_per_s
    low, high = start, start
    if meets(start):
        while True:  # grow until the objective fails
            high = low * 2.0
            if high > start * max_factor:
                return low, tuple(probes), True
            if not meets(high):
                break
            low = high
    else:
        while True:  # shrink until it holds
            low = high / 2.0
            if low < start / max_factor:
                return 0.0, tuple(probes), False
            if meets(low):
                break
            high = low
    while (high - low) / low > precision:
        middle = (low + high) / 2.0
        if meets(middle):
            low = middle
        else:
            high = middle
    return low, tuple(probes), False


def stress(
    scenario: Scenario,
    objective: Sequence[Condition],
    replications: int,
    seed: int,
    workers: int | None = None,
    precision: float = 0.02,
    one_down: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> StressResult:
    """Breaking points, healthy and (with ``one_down``) with one replica of each path tier down.

    Every (condition, replication) pair is one task, run in parallel processes; ``progress`` is
    called with (tasks done, tasks) as they finish. Each condition's mean has a 95% CI.
    """
    # the first probe's work (WorkloadError if too much): steady traffic, failures held off
    check_workload(healthy(steady(scenario, scenario.traffic.arrival_rate_per_s)))
    conditions = [(HEALTHY, healthy(scenario))]
    if one_down:
        conditions += [(name, one_replica_down(scenario, name)) for name in degradable_tiers(scenario)]
    tasks = [(probed, tuple(objective), seed, i, precision)
             for _, probed in conditions for i in range(replications)]
    workers = max(1, min(workers or available_cores(), len(tasks)))
    found: list = [None] * len(tasks)
    if progress is not None:
        progress(0, len(tasks))
    if workers == 1:
        for k, task in enumerate(tasks):
            found[k] = breaking_point(*task)
            if progress is not None:
                progress(k + 1, len(tasks))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=process_context()) as pool:
            futures = {pool.submit(_breaking_point, task): k for k, task in enumerate(tasks)}
            pending = set(futures)
            while pending:  # wake every second, so that a progress line keeps its clock running
                finished, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in finished:
                    found[futures[future]] = future.result()
                if progress is not None:
                    progress(len(futures) - len(pending), len(tasks))
    results = []
    for c, (name, _) in enumerate(conditions):
        mine = found[c * replications:(c + 1) * replications]
        points = tuple(f[0] for f in mine)
        results.append(BreakingPoints(
            condition=name,
            breaking_points=points,
            summary=summarize(points, bounds=(0.0, math.inf)),
            probes=tuple(f[1] for f in mine),
            censored=tuple(f[2] for f in mine),
            never_met=tuple(f[0] == 0.0 for f in mine),
        ))
    return StressResult(scenario, tuple(objective), results[0], tuple(results[1:]))


def _breaking_point(args: tuple) -> tuple[float, tuple[Probe, ...], bool]:
    return breaking_point(*args)


def _json_number(x: float) -> float | None:
    return None if math.isnan(x) else x
