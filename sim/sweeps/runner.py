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

import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.experiment.executors import Executor, Task, available_cores, make_executor
from sim.experiment.precision import (
    DEFAULT_MAX_LOOKS,
    DEFAULT_TARGETS,
    TargetOutcome,
    assess,
    check_target_names,
    look_schedule,
)
from sim.scenario.io import write_json_atomic
from sim.scenario.spec import Scenario
from sim.scenario.workload import check_workload
from sim.stats.metrics import METRICS
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
    "SweepPlan", "SweepPrecision", "SweepProgress", "SweepResult", "SweepSpec", "check_folder", "plan_sweep",
    "read_sweep_file", "run_sweep", "summary_rows", "sweep", "tidy_rows", "write_tables",
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
class SweepPrecision:
    """How a precision-driven sweep ended: the looks (replications per point) taken, why it stopped,
    and every point's target outcomes at the last completed look."""

    target: float
    max_time_s: float | None
    looks: tuple[int, ...]
    stopped_by: str  # "precision", "time" or "max_looks"
    points: tuple[tuple[TargetOutcome, ...], ...]  # per point, per target

    @property
    def met(self) -> bool:
        return all(o.met for point in self.points for o in point)

    def to_dict(self) -> dict[str, object]:
        return {"target": self.target, "max_time_s": self.max_time_s, "met": self.met,
                "looks": list(self.looks), "stopped_by": self.stopped_by,
                "points": [{"point": p, "met": all(o.met for o in outcomes),
                            "targets": [o.to_dict() for o in outcomes]}
                           for p, outcomes in enumerate(self.points)]}


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its plan, every task's metrics, and where they were written."""

    plan: SweepPlan  # a precision-driven sweep's: with the replications of its last completed look
    stored: dict[Key, dict[str, float]]  # in (point, replication) order
    resumed: int
    wall_s: float
    files: tuple[Path, ...] = ()
    executor: str = ""
    precision: SweepPrecision | None = None
    ran: int = 0  # tasks run (not resumed) this time, the abandoned look's included

    def table(self) -> tuple[list[str], list[dict]]:
        return tidy_rows(self.plan, self.stored)

    def summary(self) -> tuple[list[str], list[dict]]:
        return summary_rows(self.plan, self.stored, self.plan.reference)


def run_sweep(plan: SweepPlan, executor: Executor | str | None = None, workers: int | None = None,
              out: str | Path | None = None, progress: Callable[[SweepProgress], None] | None = None,
              log: Callable[[str], None] | None = None, parquet: bool | None = None,
              max_time: float | None = None, clock: Callable[[], float] = time.monotonic) -> SweepResult:
    """Run the tasks not yet stored in ``out`` and write the tables there (without ``out``: in memory).

    ``executor``: an :class:`~sim.experiment.executors.Executor` (left open), or a name for
    :func:`~sim.experiment.executors.make_executor` (started only if there is work, closed at the end).

    A precision-driven plan (``plan.precision``) runs the procedure of :mod:`sim.experiment.precision`
    on every point at once: looks at ``replications · 2^k`` replications per point (every point the
    same replications, so common random numbers and paired differences hold), stopping at the first
    look where every point meets every target, when ``max_time`` seconds (wall clock) are spent (no
    new task is launched; the unfinished look is left out of the tables, its finished tasks stay
    stored for a re-run, which resumes), or after ``max_looks`` looks. The tables hold the last
    completed look.
    """
    if isinstance(executor, Executor) and workers is not None:
        raise ValueError("workers= applies to an executor given by name; this one has its own workers")
    if max_time is not None and plan.precision is None:
        raise ValueError("max_time applies to a precision-driven sweep (plan_sweep(..., precision=...))")
    for p, point_scenario in enumerate(plan.scenarios):  # refuse a point that would never finish
        if plan.point_method(p) == "crude":  # other estimators simulate a fraction of the customers
            check_workload(point_scenario, f"point {p}")
    wall0, start = time.perf_counter(), clock()
    deadline = math.inf if max_time is None else start + max_time
    looks = (plan.replications,) if plan.precision is None else \
        look_schedule(plan.replications, plan.precision["max_looks"])
    widest = dataclasses.replace(plan, replications=looks[-1])  # every stored line a later look may use
    store = ResultStore(out, widest) if out is not None else None
    stored: dict[Key, dict[str, float]] = store.stored if store is not None else {}
    resumed = len(stored)
    described = ""
    done: list[int] = []
    outcomes: tuple[tuple[TargetOutcome, ...], ...] = ()
    stopped_by = "max_looks"
    runner: Executor | None = None
    owned = not isinstance(executor, Executor)
    try:
        if store is not None and store.skipped and log:
            for line in store.skipped[:3]:
                log(f"warning: {line}")
            if len(store.skipped) > 3:
                log(f"warning: {len(store.skipped) - 3} more lines of {RESULTS_LOG} skipped")
        if resumed and log:
            log(f"resuming: {resumed} of {plan.total} tasks already stored in {out}" if plan.precision is None
                else f"resuming: {resumed} tasks already stored in {out}")
        for k, size in enumerate(looks):
            look = dataclasses.replace(plan, replications=size)
            missing = sum((p, r) not in stored for p in range(len(plan.points)) for r in range(size))

            def expired(k: int = k) -> bool:
                return k > 0 and clock() >= deadline  # the first look is a minimum: it always completes

            if missing:
                if runner is None:
                    if executor in (None, "processes"):  # never more worker processes than tasks to run
                        workers = max(1, min(available_cores() if workers is None else workers, missing))
                    runner = make_executor(executor, workers) if owned else executor  # type: ignore[arg-type]
                    described = runner.describe()
                    link = getattr(runner, "dashboard_link", None)
                    if log and link:
                        log(f"Dask dashboard: {link}")
                if log:
                    log(f"running {missing} tasks on {described}"
                        + (f" (look {k + 1}: {size} replications per point)" if plan.precision else ""))
                _run_look(look, runner, store, stored, expired, progress, resumed, wall0)
            if any((p, r) not in stored for p in range(len(plan.points)) for r in range(size)):
                stopped_by = "time"  # the look did not complete in time: the last completed one stands
                break
            done.append(size)
            if plan.precision is None:
                break
            outcomes = tuple(assess([stored[(p, r)] for r in range(size)], plan.precision["targets"],
                                    plan.precision["precision"]) for p in range(len(plan.points)))
            if all(o.met for point in outcomes for o in point):
                stopped_by = "precision"
                break
            if clock() >= deadline:
                stopped_by = "time"
                break
        final = dataclasses.replace(plan, replications=done[-1])
        kept = {key: v for key, v in sorted(stored.items()) if key[1] < final.replications}
        files: tuple[Path, ...] = ()
        outcome = None if plan.precision is None else SweepPrecision(
            plan.precision["precision"], max_time, tuple(done), stopped_by, outcomes)
        if store is not None:
            files = (*write_tables(store.folder, final, kept, parquet), store.folder / MANIFEST)
            write_json_atomic(store.folder / MANIFEST, {
                **final.manifest(), **({"precision": outcome.to_dict()} if outcome else {})})
    finally:
        if runner is not None and owned:
            runner.close()
        if store is not None:
            store.close()
    return SweepResult(final, kept, resumed, time.perf_counter() - wall0, files, described, outcome,
                       len(stored) - resumed)


def _run_look(look: SweepPlan, runner: Executor, store: ResultStore | None,
              stored: dict[Key, dict[str, float]], expired: Callable[[], bool],
              progress: Callable[[SweepProgress], None] | None, resumed: int, wall0: float) -> None:
    """Run the tasks of ``look`` not yet stored, storing each as it finishes; stop launching (and
    return) once ``expired()``."""
    per_point = [sum((p, r) in stored for r in range(look.replications)) for p in range(len(look.points))]

    def report() -> None:
        if progress is not None:
            progress(SweepProgress(sum(per_point), look.total, sum(n == look.replications for n in per_point),
                                   len(look.points), resumed, time.perf_counter() - wall0))

    def tasks() -> Iterator[Task]:
        for task in look.tasks(skip=stored):
            if expired():
                return
            yield task

    report()
    source = runner.run(tasks())
    try:
        for key, result in source:
            if store is not None:
                extra = {"customers": result.customers, "cpu_s": result.cpu_s}
                fresh = store.append(key, result.metrics, extra)
            else:  # dedupe here too: a task may be reported twice if its worker died
                fresh = key not in stored
                stored.setdefault(key, dict(result.metrics))
            if fresh and key[1] < look.replications:
                per_point[key[0]] += 1
                report()
            if expired() and sum(per_point) < look.total:
                break
    finally:
        source.close()


def sweep(scenario: Scenario | str | Path | None = None, grid: Mapping[str, Sequence[object]] | None = None,
          ranges: Mapping[str, Sequence[object]] | None = None,
          lhs: Mapping[str, Sequence[object]] | None = None, samples: int | None = None,
          replications: int | None = None, seed: int | None = None,
          executor: Executor | str | None = None, out: str | Path | None = None, reference: object = None,
          *, sampler: str = "lhs", workers: int | None = None,
          overrides: Sequence[str] | Mapping[str, object] = (), parquet: bool | None = None,
          method: str | None = None, precision: float | None = None, max_time: float | None = None,
          targets: Sequence[str] | None = None, max_looks: int = DEFAULT_MAX_LOOKS) -> Any:
    """Sweep ``scenario`` (a Scenario, a file, a built-in name; None: baseline) over a design.

    ``grid={"tiers.payment.replicas": [1, 2, 3]}``, ``ranges={"tiers.payment.mttr": ("5m", "60m", 12)}``
    (LO, HI, STEPS: evenly spaced, ends included) and ``lhs={"traffic.arrival_rate": (1, 5)}``
    with ``samples=K`` (``sampler="lhs"`` or ``"sobol"``) combine into points (the cartesian
    product, crossed with the K samples). ``executor``: None or "processes" (all cores, or
    ``workers``), "serial", "dask" (a new LocalCluster), a Dask scheduler address or an
    :class:`~sim.experiment.executors.Executor`. With ``out``, results are stored there and a re-run resumes.
    ``reference`` (a point id or {key: value}) adds paired differences to ``summary.csv``.
    ``method``: the estimator of every replication, as for :func:`sim.run` (crude, windows, rare, auto);
    the folder's content hash includes it, so results of two estimators never mix. Default: crude for
    a fixed-size sweep, auto for a precision-driven one.

    ``precision`` (a fraction, e.g. 0.1) makes the sweep precision-driven (see :func:`run_sweep`):
    ``replications`` is the first look, every point runs until the 95% interval of each metric in
    ``targets`` (default ``lost_checkouts`` and ``unavailability``) is within ±precision of its mean,
    or ``max_time`` seconds are spent; the table holds the last completed look.

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
    wanted = None
    if precision is not None:
        targets = DEFAULT_TARGETS if targets is None else tuple(targets)
        check_target_names(targets, list(METRICS))
        wanted = {"precision": precision, "targets": targets, "max_looks": max_looks}
    elif max_time is not None or targets is not None:
        raise ValueError("max_time and targets apply to a precision-driven sweep: give precision as well")
    if method is None:
        method = "crude" if precision is None else "auto"
    plan = plan_sweep(spec, overrides, method=method, precision=wanted)
    result = run_sweep(plan, executor, workers, out, parquet=parquet, max_time=max_time)
    columns, rows = result.table()
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows, columns=columns)
