"""Experiments: independent replications of one scenario, run by an executor and summarised."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sim import __version__
from sim.experiment.executors import map_replications
from sim.experiment.replication import ReplicationResult
from sim.scenario.convert import scenario_to_dict
from sim.scenario.spec import Scenario
from sim.scenario.workload import check_workload
from sim.stats.intervals import Summary, summarize
from sim.stats.metrics import metric_bounds


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
    check_workload(scenario)  # refuses (WorkloadError) a run that would take too many events
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
