"""Parameter sweeps: the points of a design × replications, on any executor, resumable.

This module runs sweeps; the design, the plan and the output folder live in
:mod:`sim.sweeps.design`, :mod:`sim.sweeps.plan` and :mod:`sim.sweeps.store`.

A design sets dotted scenario keys (the keys of ``sim run --set``) to values: a grid (the
cartesian product of listed values and evenly spaced ranges), a space-filling sample (Latin
hypercube or Sobol, through :mod:`scipy.stats.qmc`), or a grid crossed with a sample. Every
(point, replication) is one task, and replication i of every point runs with the same seed and
streams (common random numbers), so differences between points are paired.

The whole design is checked before any work: every point's scenario is validated like a file.
With an output folder, each finished task is appended to ``results.jsonl`` (flushed and fsynced)
as it arrives, and running the same sweep again runs only what is missing. A folder belongs to
one sweep, named by a content hash of its points' resolved scenarios, the replications and the
seed, so a changed design or scenario never mixes with stored results.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.experiment.executors import Executor, available_cores, make_executor
from sim.scenario.spec import Scenario
from sim.scenario.workload import check_workload
from sim.sweeps.design import SAMPLERS, DesignError, SweepSpec, read_sweep_file
from sim.sweeps.plan import Key, SweepPlan, plan_sweep
from sim.sweeps.store import (
    MANIFEST,
    RESULTS_CSV,
    RESULTS_LOG,
    SUMMARY_CSV,
    ResultStore,
    check_folder,
    summary_rows,
    tidy_rows,
    write_tables,
)

# the sweep API in one place: design (sweep_design), plan (sweep_plan), folder (sweep_store), running (here)
__all__ = [
    "MANIFEST", "RESULTS_CSV", "RESULTS_LOG", "SAMPLERS", "SUMMARY_CSV", "DesignError", "ResultStore",
    "SweepPlan", "SweepProgress", "SweepResult", "SweepSpec", "check_folder", "plan_sweep", "read_sweep_file",
    "run_sweep", "summary_rows", "sweep", "tidy_rows", "write_tables",
]


@dataclass(frozen=True)
class SweepProgress:
    """Where a running sweep is; ``resumed`` tasks were stored before this run started."""

    done: int
    total: int
    points_done: int
    points: int
    resumed: int
    elapsed_s: float

    @property
    def eta_s(self) -> float | None:
        ran = self.done - self.resumed
        return None if ran <= 0 else self.elapsed_s / ran * (self.total - self.done)


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its plan, every task's metrics, and where they were written."""

    plan: SweepPlan
    stored: dict[Key, dict[str, float]]  # in (point, replication) order
    resumed: int
    wall_s: float
    files: tuple[Path, ...] = ()
    executor: str = ""

    def table(self) -> tuple[list[str], list[dict]]:
        return tidy_rows(self.plan, self.stored)

    def summary(self) -> tuple[list[str], list[dict]]:
        return summary_rows(self.plan, self.stored, self.plan.reference)


def run_sweep(plan: SweepPlan, executor: Executor | str | None = None, workers: int | None = None,
              out: str | Path | None = None, progress: Callable[[SweepProgress], None] | None = None,
              log: Callable[[str], None] | None = None, parquet: bool | None = None) -> SweepResult:
    """Run the tasks not yet stored in ``out`` and write the tables there (without ``out``: in memory).

    ``executor``: an :class:`~sim.experiment.executors.Executor` (left open), or a name for
    :func:`~sim.experiment.executors.make_executor` (started only if there is work, closed at the end).
    """
    if isinstance(executor, Executor) and workers is not None:
        raise ValueError("workers= applies to an executor given by name; this one has its own workers")
    for p, point_scenario in enumerate(plan.scenarios):  # refuse a point that would never finish
        if plan.point_method(p) == "crude":  # other estimators simulate a fraction of the customers
            check_workload(point_scenario, f"point {p}")
    wall0 = time.perf_counter()
    store = ResultStore(out, plan) if out is not None else None
    stored: dict[Key, dict[str, float]] = store.stored if store is not None else {}
    resumed = len(stored)
    per_point = [0] * len(plan.points)
    for p, _ in stored:
        per_point[p] += 1
    points_done = sum(n == plan.replications for n in per_point)

    def report() -> None:
        if progress is not None:
            progress(SweepProgress(len(stored), plan.total, points_done, len(plan.points), resumed,
                                   time.perf_counter() - wall0))

    described = ""
    try:
        if store is not None and store.skipped and log:
            for line in store.skipped[:3]:
                log(f"warning: {line}")
            if len(store.skipped) > 3:
                log(f"warning: {len(store.skipped) - 3} more lines of {RESULTS_LOG} skipped")
        if resumed and log:
            log(f"resuming: {resumed} of {plan.total} tasks already stored in {out}")
        if resumed < plan.total:
            owned = not isinstance(executor, Executor)
            if executor in (None, "processes"):  # never more worker processes than tasks to run
                workers = max(1, min(available_cores() if workers is None else workers, plan.total - resumed))
            runner = make_executor(executor, workers) if owned else executor  # type: ignore[arg-type]
            try:
                described = runner.describe()
                if log:
                    log(f"running {plan.total - resumed} tasks on {described}")
                    link = getattr(runner, "dashboard_link", None)
                    if link:
                        log(f"Dask dashboard: {link}")
                report()
                for key, result in runner.run(plan.tasks(skip=stored)):
                    if store is not None:
                        fresh = store.append(key, result.metrics, {"customers": result.customers,
                                                                   "cpu_s": result.cpu_s})
                    else:  # dedupe here too: a task may be reported twice if its worker died
                        fresh = key not in stored
                        stored.setdefault(key, dict(result.metrics))
                    if fresh:
                        per_point[key[0]] += 1
                        points_done += per_point[key[0]] == plan.replications
                        report()
            finally:
                if owned:
                    runner.close()
        files: tuple[Path, ...] = ()
        if store is not None:
            files = (*write_tables(store.folder, plan, stored, parquet), store.folder / MANIFEST)
    finally:
        if store is not None:
            store.close()
    in_order = dict(sorted(stored.items()))  # by (point, replication), not by when tasks finished
    return SweepResult(plan, in_order, resumed, time.perf_counter() - wall0, files, described)


def sweep(scenario: Scenario | str | Path | None = None, grid: Mapping[str, Sequence[object]] | None = None,
          ranges: Mapping[str, Sequence[object]] | None = None,
          lhs: Mapping[str, Sequence[object]] | None = None, samples: int | None = None,
          replications: int | None = None, seed: int | None = None,
          executor: Executor | str | None = None, out: str | Path | None = None, reference: object = None,
          *, sampler: str = "lhs", workers: int | None = None,
          overrides: Sequence[str] | Mapping[str, object] = (), parquet: bool | None = None,
          method: str = "crude") -> Any:
    """Sweep ``scenario`` (a Scenario, a file, a built-in name; None: baseline) over a design.

    ``grid={"tiers.payment.replicas": [1, 2, 3]}``, ``ranges={"tiers.payment.mttr": ("5m", "60m", 12)}``
    (LO, HI, STEPS: evenly spaced, ends included) and ``lhs={"traffic.arrival_rate": (1, 5)}``
    with ``samples=K`` (``sampler="lhs"`` or ``"sobol"``) combine into points (the cartesian
    product, crossed with the K samples). ``executor``: None or "processes" (all cores, or
    ``workers``), "serial", "dask" (a new LocalCluster), a Dask scheduler address or an
    :class:`~sim.experiment.executors.Executor`. With ``out``, results are stored there and a re-run resumes.
    ``reference`` (a point id or {key: value}) adds paired differences to ``summary.csv``.
    ``method``: the estimator of every replication, as for :func:`sim.run` (crude, windows, rare, auto);
    the folder's content hash includes it, so results of two estimators never mix.

    Returns the tidy table, one row per (point, replication): a pandas DataFrame if pandas is
    installed, else a list of dicts.
    """
    spec = SweepSpec(scenario=scenario, grid=dict(grid or {}), ranges=dict(ranges or {}),
                     lhs=dict(lhs or {}), samples=samples, sampler=sampler, replications=replications,
                     seed=seed, reference=reference,
                     origins={**{k: "grid" for k in grid or {}}, **{k: "ranges" for k in ranges or {}},
                              **{k: "lhs" for k in lhs or {}}})
    duplicated = [k for k in spec.keys if spec.keys.count(k) > 1]
    if duplicated:
        raise DesignError("sweep", duplicated[0], "swept twice (in two of grid, ranges and lhs)")
    plan = plan_sweep(spec, overrides, method=method)
    result = run_sweep(plan, executor, workers, out, parquet=parquet)
    columns, rows = result.table()
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows, columns=columns)
