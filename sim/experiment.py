"""Experiments: the one place that builds a SimPy environment and the random streams of a
replication, runs it, and summarises independent replications."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import simpy

from sim import __version__
from sim.metrics import Recorder, metric_bounds
from sim.model.system import CheckoutSystem
from sim.spec import Scenario
from sim.stats import Summary, summarize
from sim.streams import Streams
from sim.timeline import TimelineRecorder


@dataclass(frozen=True)
class ReplicationResult:
    """The metrics of one replication, with what is needed to reproduce it."""

    replication: int
    seed: int
    metrics: dict[str, float]
    customers: int
    wall_s: float
    cpu_s: float
    timeline: dict | None = None


def run_replication(
    scenario: Scenario, seed: int, replication: int, timeline: bool = False
) -> ReplicationResult:
    """Simulate replication ``replication`` of ``scenario``; the same arguments give the same result.

    With ``timeline=True`` the result also carries a bucketed incident timeline (for plots).
    """
    wall0, cpu0 = time.perf_counter(), time.process_time()
    env = simpy.Environment()
    names = tuple(scenario.path) + tuple(scenario.dependencies)
    if timeline:
        replicas = {t.name: t.replicas for t in scenario.tiers}
        recorder: Recorder = TimelineRecorder(scenario.warmup_s, scenario.horizon_s, names, replicas)
    else:
        recorder = Recorder(scenario.warmup_s, scenario.horizon_s, names)
    system = CheckoutSystem(env, scenario, Streams(seed, replication), recorder)
    env.run(until=system.stopped)
    unfinished = recorder.in_system
    for _ in range(unfinished):  # still in a checkout a day after the horizon: count as lost
        recorder.lost_checkout(env.now, True)
    cost_per_hour = sum(t.replicas * t.replica_cost_per_hour for t in scenario.tiers)
    metrics = recorder.results(scenario.costs.order_value, cost_per_hour)
    return ReplicationResult(
        replication=replication,
        seed=seed,
        metrics=metrics,
        customers=recorder.customers,
        wall_s=time.perf_counter() - wall0,
        cpu_s=time.process_time() - cpu0,
        timeline=recorder.timeline() if isinstance(recorder, TimelineRecorder) else None,
    )


@dataclass(frozen=True)
class RunResult:
    """Independent replications of one scenario, summarised with 95% confidence intervals."""

    scenario: Scenario
    seed: int
    replications: int
    metrics: dict[str, Summary]
    per_replication: tuple[dict[str, float], ...]
    wall_s: float
    customers: int
    cpu_s: float
    version: str = __version__
    workers: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def customers_per_s(self) -> float:
        return self.customers / self.wall_s if self.wall_s > 0 else math.nan

    def to_dict(self) -> dict:
        """The JSON form written by ``sim run --json``."""
        from sim.scenario import scenario_to_dict

        return {
            "scenario": scenario_to_dict(self.scenario),
            "seed": self.seed,
            "replications": self.replications,
            "version": self.version,
            "metrics": {name: s.to_dict() for name, s in self.metrics.items()},
            "per_replication": [dict(r) for r in self.per_replication],
            "runtime": {
                "wall_s": self.wall_s,
                "cpu_s": self.cpu_s,
                "customers": self.customers,
                "customers_per_s": self.customers_per_s,
                "workers": self.workers,
            },
        }


def summarize_replications(results: Sequence[ReplicationResult]) -> dict[str, Summary]:
    """Mean and 95% CI of every metric over the replications."""
    names = list(results[0].metrics) if results else []
    return {name: summarize([r.metrics[name] for r in results], bounds=metric_bounds(name)) for name in names}


def run(
    scenario: Scenario, replications: int | None = None, seed: int | None = None, workers: int | None = None
) -> RunResult:
    """Run independent replications (in parallel processes) and summarise them.

    Results depend only on the scenario, the seed and the number of replications, never on
    the number of workers.
    """
    from sim.executors import map_replications

    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    wall0 = time.perf_counter()
    results, used = map_replications(scenario, seed, range(replications), workers)
    wall = time.perf_counter() - wall0
    return RunResult(
        scenario=scenario,
        seed=seed,
        replications=replications,
        metrics=summarize_replications(results),
        per_replication=tuple({"replication": r.replication, **r.metrics} for r in results),
        wall_s=wall,
        customers=sum(r.customers for r in results),
        cpu_s=sum(r.cpu_s for r in results),
        workers=used,
    )
