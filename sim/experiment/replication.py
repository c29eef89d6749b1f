"""One replication: the one place that builds a SimPy environment and the random streams of a
replication, and runs it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import simpy

from sim.model.system import CheckoutSystem
from sim.random.streams import Streams
from sim.scenario.spec import Scenario
from sim.stats.metrics import Recorder
from sim.stats.timeline import TimelineRecorder


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
    recorder.unfinished_lost(env.now)  # still in a checkout a day after the horizon: lost
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
