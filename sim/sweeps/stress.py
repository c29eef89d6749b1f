"""Stress testing: the arrival rate at which an architecture stops meeting its objective.

For each replication (its own random streams), the steady arrival rate is raised until the
objective fails, then bisected to a relative precision. The breaking points of independent
replications give a mean and a Student-t confidence interval. Arrivals of one replication
scale with the rate on the same stream (common random numbers), so a replication's objective
changes smoothly with the rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from sim.experiment import run_replication
from sim.experiment.executors import available_cores, process_context
from sim.scenario.spec import Scenario
from sim.stats.intervals import Summary, summarize
from sim.stats.metrics import METRICS
from sim.stats.objective import Condition
from sim.stats.objective import parse_objective as _parse

DEFAULT_OBJECTIVES = ("lost_fraction<0.001", "latency_p95_s<2")


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
    """One simulated rate and whether the objective held."""

    arrival_rate_per_s: float
    met: bool


@dataclass(frozen=True)
class StressResult:
    """Breaking-point rates per replication and their summary."""

    scenario: Scenario
    objective: tuple[Condition, ...]
    breaking_points: tuple[float, ...]
    summary: Summary
    probes: tuple[tuple[Probe, ...], ...]
    censored: tuple[bool, ...]  # the objective still held at the highest rate tried

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario.name,
            "objective": [str(c) for c in self.objective],
            "breaking_point_per_s": self.summary.to_dict(),
            "per_replication": [
                {"breaking_point_per_s": b, "censored": c, "probes": [p.__dict__ for p in probes]}
                for b, c, probes in zip(self.breaking_points, self.censored, self.probes, strict=True)
            ],
        }


def steady(scenario: Scenario, arrival_rate_per_s: float) -> Scenario:
    """The scenario at a constant arrival rate (no daily curve, spikes or ramp)."""
    traffic = replace(
        scenario.traffic, arrival_rate_per_s=arrival_rate_per_s, daily_profile=(), spikes=(), ramp=None
    )
    return replace(scenario, traffic=traffic)


def breaking_point(
    scenario: Scenario,
    objective: Sequence[Condition],
    seed: int,
    replication: int,
    precision: float = 0.02,
    max_factor: float = 1024.0,
) -> tuple[float, tuple[Probe, ...], bool]:
    """Highest rate meeting ``objective`` for one replication, to a relative ``precision``."""
    probes: list[Probe] = []

    def meets(rate: float) -> bool:
        metrics = run_replication(steady(scenario, rate), seed, replication).metrics
        ok = all(c.met(metrics) for c in objective)
        probes.append(Probe(rate, ok))
        return ok

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
) -> StressResult:
    """Breaking point of every replication (in parallel processes) and their mean with a 95% CI."""
    workers = max(1, min(workers or available_cores(), replications))
    args = [(scenario, tuple(objective), seed, i, precision) for i in range(replications)]
    if workers == 1:
        found = [breaking_point(*a) for a in args]
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=process_context()) as pool:
            found = list(pool.map(_breaking_point, args))
    points = tuple(f[0] for f in found)
    return StressResult(
        scenario=scenario,
        objective=tuple(objective),
        breaking_points=points,
        summary=summarize(points, bounds=(0.0, math.inf)),
        probes=tuple(f[1] for f in found),
        censored=tuple(f[2] for f in found),
    )


def _breaking_point(args: tuple) -> tuple[float, tuple[Probe, ...], bool]:
    return breaking_point(*args)
