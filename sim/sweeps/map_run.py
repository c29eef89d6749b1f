"""Running a metastability map and classifying its replications (the map itself: :mod:`sim.sweeps.map`).

Each (point, replication) runs with its incident timeline, and its metrics gain
``trigger_recovery_s`` (:func:`sim.sweeps.map.trigger_recovery_s`); a replication is *stuck* when
that exceeds the map's stuck limit. Results go to a sweep folder like any sweep's (a manifest, an
append-only log, results.csv and summary.csv), so an interrupted map resumes, and any executor
runs it. Per point, the probability of getting stuck comes with an exact (Clopper–Pearson) 95%
interval over the replications; per trigger, the boundary is where that probability first
reaches one half as the base load grows.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scipy import stats

from sim.experiment.executors import Executor, Task, available_cores, make_executor
from sim.scenario.io import write_text_atomic
from sim.scenario.workload import check_workload
from sim.sweeps.map import MapPlan, trigger_recovery_s
from sim.sweeps.plan import Key, display_value
from sim.sweeps.runner import SweepProgress
from sim.sweeps.store import ResultStore, write_tables

MAP_CSV, BOUNDARY_CSV = "map.csv", "boundary.csv"
CONFIDENCE = 0.95
STUCK_MAJORITY = 0.5  # the boundary: the first load whose estimated probability of getting stuck reaches this


@dataclass(frozen=True)
class MapPoint:
    """One cell of the map: a trigger at a base load, over its replications."""

    point: int
    magnitude: float
    duration_s: float
    load: float
    replications: int
    stuck: int
    p_stuck: float
    ci_low: float  # Clopper–Pearson 95% interval of the probability of getting stuck
    ci_high: float
    recovery_median_s: float  # of the replications that recovered (NaN: none did)
    recovery_max_s: float

    def row(self) -> dict[str, object]:
        return {"point": self.point, "magnitude": self.magnitude, "duration_s": self.duration_s,
                "load": self.load, "replications": self.replications, "stuck": self.stuck,
                "p_stuck": self.p_stuck, "p_stuck_ci_low": self.ci_low, "p_stuck_ci_high": self.ci_high,
                "recovery_median_s": self.recovery_median_s, "recovery_max_s": self.recovery_max_s}


@dataclass(frozen=True)
class Boundary:
    """Per trigger: the highest load it recovered from (majority) and the lowest load it got stuck at."""

    magnitude: float
    duration_s: float
    recovers_up_to: float  # NaN: stuck even at the lowest load
    stuck_from: float  # NaN: recovered at every load
    p_stuck: float  # at ``stuck_from``
    ci_low: float
    ci_high: float

    def row(self) -> dict[str, object]:
        return {"magnitude": self.magnitude, "duration_s": self.duration_s,
                "recovers_up_to_load": self.recovers_up_to, "stuck_from_load": self.stuck_from,
                "p_stuck": self.p_stuck, "p_stuck_ci_low": self.ci_low, "p_stuck_ci_high": self.ci_high}


@dataclass(frozen=True)
class MapResult:
    """A finished map: its plan, every replication's metrics, the cells and the boundary."""

    plan: MapPlan
    stored: dict[Key, dict[str, float]]
    points: tuple[MapPoint, ...]
    boundary: tuple[Boundary, ...]
    resumed: int
    wall_s: float
    files: tuple[Path, ...] = ()
    executor: str = ""


def _csv(rows: list[dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(rows[0]))
    for row in rows:
        writer.writerow([display_value(v) for v in row.values()])
    return buffer.getvalue()


def stuck_interval(stuck: int, n: int) -> tuple[float, float]:
    """The exact (Clopper–Pearson) 95% interval of a probability from ``stuck`` of ``n``."""
    if n == 0:
        return math.nan, math.nan
    ci = stats.binomtest(stuck, n).proportion_ci(confidence_level=CONFIDENCE, method="exact")
    return float(ci.low), float(ci.high)


def summarize_map(plan: MapPlan,
                  stored: dict[Key, dict[str, float]]) -> tuple[list[MapPoint], list[Boundary]]:
    """The cells (one per point) and the boundary (one per trigger) from the stored replications."""
    cells = []
    for p in range(len(plan.sweep.points)):
        times = [stored[(p, r)]["trigger_recovery_s"] for r in range(plan.sweep.replications)
                 if (p, r) in stored]
        stuck = sum(t > plan.stuck_after_s for t in times)
        recovered = sorted(t for t in times if t <= plan.stuck_after_s)
        low, high = stuck_interval(stuck, len(times))
        magnitude, duration, load = plan.point_axes(p)
        median = float(stats.scoreatpercentile(recovered, 50)) if recovered else math.nan
        cells.append(MapPoint(p, magnitude, duration, load, len(times), stuck,
                              stuck / len(times) if times else math.nan, low, high, median,
                              recovered[-1] if recovered else math.nan))
    boundary = []
    per_trigger = len(plan.loads)
    for first in range(0, len(cells), per_trigger):
        row = cells[first:first + per_trigger]
        at = next((c for c in row if c.p_stuck >= STUCK_MAJORITY), None)
        below = [c for c in row if at is None or c.load < at.load]
        boundary.append(Boundary(row[0].magnitude, row[0].duration_s, below[-1].load if below else math.nan,
                                 at.load if at else math.nan, at.p_stuck if at else math.nan,
                                 at.ci_low if at else math.nan, at.ci_high if at else math.nan))
    return cells, boundary


def run_map(plan: MapPlan, executor: Executor | str | None = None, workers: int | None = None,
            out: str | Path | None = None, progress: Callable[[SweepProgress], None] | None = None,
            log: Callable[[str], None] | None = None) -> MapResult:
    """Run the replications not yet stored in ``out`` (without ``out``: in memory) and classify them.

    ``executor``: an :class:`~sim.experiment.executors.Executor` (left open) or a name for
    :func:`~sim.experiment.executors.make_executor` (started only if there is work, closed at the end).
    """
    sweep = plan.sweep
    for p, scenario in enumerate(sweep.scenarios):  # refuse a point that would never finish
        check_workload(scenario, f"point {p}")
    wall0 = time.perf_counter()
    store = ResultStore(out, sweep) if out is not None else None
    stored: dict[Key, dict[str, float]] = store.stored if store is not None else {}
    resumed = len(stored)
    per_point = [0] * len(sweep.points)
    for p, _ in stored:
        per_point[p] += 1
    described, files = "", ()
    try:
        if store is not None and store.skipped and log:
            for line in store.skipped[:3]:
                log(f"warning: {line}")
        if resumed and log:
            log(f"resuming: {resumed} of {sweep.total} tasks already stored in {out}")
        if resumed < sweep.total:
            owned = not isinstance(executor, Executor)
            if executor in (None, "processes"):
                wanted = available_cores() if workers is None else workers
                workers = max(1, min(wanted, sweep.total - resumed))
            runner = make_executor(executor, workers) if owned else executor  # type: ignore[arg-type]
            try:
                described = runner.describe()
                if log:
                    log(f"running {sweep.total - resumed} tasks on {described}")
                tasks = (Task((p, r), s, sweep.seed, r, timeline=True)
                         for p, s in enumerate(sweep.scenarios) for r in range(sweep.replications)
                         if (p, r) not in stored)
                for key, result in runner.run(tasks):
                    metrics = dict(result.metrics)
                    incidents = (result.timeline or {}).get("service_incidents", [])
                    metrics["trigger_recovery_s"] = trigger_recovery_s(incidents, plan.trigger_end_s(key[0]),
                                                                       plan.stuck_after_s)
                    if store is not None:
                        store.append(key, metrics, {"customers": result.customers, "cpu_s": result.cpu_s})
                    else:
                        stored.setdefault(key, metrics)
                    per_point[key[0]] += 1
                    if progress is not None:
                        points_done = sum(n == sweep.replications for n in per_point)
                        progress(SweepProgress(len(stored), sweep.total, points_done, len(sweep.points),
                                               resumed, time.perf_counter() - wall0))
            finally:
                if owned:
                    runner.close()
        cells, boundary = summarize_map(plan, stored)
        if store is not None:
            folder = store.folder
            files = (*write_tables(folder, sweep, stored),
                     write_text_atomic(folder / MAP_CSV, _csv([c.row() for c in cells])),
                     write_text_atomic(folder / BOUNDARY_CSV, _csv([b.row() for b in boundary])))
    finally:
        if store is not None:
            store.close()
    return MapResult(plan, dict(sorted(stored.items())), tuple(cells), tuple(boundary), resumed,
                     time.perf_counter() - wall0, files, described)
