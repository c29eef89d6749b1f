"""Pick the best point of a sweep: KN++ (:mod:`sim.experiment.selection`) drawing its replications
through the sweep's folder, so an interrupted selection resumes and reaches the same decision.

The sweep's points are the systems. Replication j of every point runs with the sweep's seed and
replication index j (common random numbers), exactly the task a plain sweep runs, and each result is
appended to ``results.jsonl`` as it completes. KN++ is deterministic given the values, and a stored
replication's values are those it would have again, so running the same command after an
interruption reads the stored replications, runs only what is still missing, and makes the same
decision bit for bit.

The folder: a selection's plan is the sweep's plan with ``replications`` set to the most
replications of one point (``--max-replications``), so its content hash (and default folder) is that
of a plain sweep of that many replications: every line in the folder is the result of one
(point, replication) whatever the selection options. The options that only decide which
replications KN++ draws (the metric, δ, the first stage, the SLO constraint) are not hashed: they
are recorded, with the decision, in the manifest's ``selection`` section, and a rerun with other
options reuses every stored replication. The tables (results.csv, summary.csv) hold the
replications KN++ used, up to each point's elimination (a batch may store a few more, which stay in
``results.jsonl`` for a later run).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.experiment.executors import Executor, Task, available_cores, make_executor
from sim.experiment.selection import HIGHER_IS_BETTER, Selection, kn_plus_plus
from sim.scenario.io import write_json_atomic
from sim.stats.metrics import METRICS
from sim.sweeps.design import SweepSpec
from sim.sweeps.plan import Key, SweepPlan, display_value
from sim.sweeps.store import MANIFEST, ResultStore, write_tables

CONFIDENCE = 0.95


class SelectionOptionError(ValueError):
    """A selection option that cannot be used; the message names the option."""


@dataclass(frozen=True)
class SelectionProgress:
    """Where a running selection is: replications run this time and stored before it, the stage
    being drawn and the points still in contention."""

    ran: int
    resumed: int
    stage: int
    contenders: int


@dataclass(frozen=True)
class SweepSelection:
    """A selection over a sweep's points: KN++'s decision (None when fewer than two points were
    candidates), the candidate points, and the replications run and reused."""

    plan: SweepPlan
    candidates: tuple[int, ...]  # point ids KN++ chose among (all, or those meeting the SLO constraint)
    selection: Selection | None
    resumed: int
    ran: int
    files: tuple[Path, ...] = ()
    constrained: bool = False  # candidates were limited by an SLO constraint

    @property
    def best_point(self) -> int | None:
        """The point named best (or the only candidate), None if there is none."""
        if self.selection is not None:
            return self.candidates[self.selection.best]
        return self.candidates[0] if len(self.candidates) == 1 else None

    def statement(self) -> str:
        """The decision in one sentence."""
        if self.selection is None:
            if not self.candidates:
                return "no point meets the SLO constraint: nothing to select"
            return f"{self.point_name(self.candidates[0])} is the only point that meets the SLO constraint"
        text = self.selection.statement()
        if self.constrained and self.selection.stopped == "selected":
            text += ", among the points meeting the SLO constraint"
        return text

    def point_name(self, point: int) -> str:
        return point_name(self.plan, point)

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(point, replications, mean, status) per candidate, as printed and reported."""
        sel = self.selection
        out = []
        if sel is None:
            return out
        for i, p in enumerate(self.candidates):
            status = ("best" if i == sel.best and sel.stopped == "selected" else "in contention"
                      if i in sel.survivors else f"eliminated at stage {sel.eliminated_at[i]}")
            out.append((self.point_name(p), str(sel.observations[i]), f"{sel.means[i]:.6g}", status))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``selection`` section."""
        sel = self.selection
        section: dict[str, Any] = {"statement": self.statement(), "candidates": list(self.candidates),
                                   "constrained": self.constrained, "best_point": self.best_point}
        if sel is not None:
            section.update(
                procedure="KN++", metric=sel.metric, maximize=sel.maximize, delta=sel.delta,
                confidence=sel.confidence, n0=sel.n0, stopped=sel.stopped,
                points=[{"point": p, "name": self.point_name(p), "replications": sel.observations[i],
                         "mean": sel.means[i], "eliminated_at": sel.eliminated_at[i],
                         "in_contention": i in sel.survivors}
                        for i, p in enumerate(self.candidates)])
        return section


def point_name(plan: SweepPlan, point: int) -> str:
    """``point 3 (tiers.payment.replicas=2)``: a point as a selection names it."""
    values = ", ".join(f"{k}={display_value(v)}" for k, v in plan.points[point].items())
    return f"point {point}" + (f" ({values})" if values else "")


def selection_spec(spec: SweepSpec, max_replications: int) -> SweepSpec:
    """The sweep whose folder holds a selection bounded by ``max_replications`` per point: the same
    sweep as a plain one of that many replications (see the module docstring); a sweep file's own
    replications, a setting of plain sweeps, give way to the bound."""
    if isinstance(max_replications, bool) or not isinstance(max_replications, int) or max_replications < 2:
        raise SelectionOptionError(f"--max-replications {max_replications!r}: expected an integer >= 2")
    return dataclasses.replace(spec, replications=max_replications)


def check_selection_options(delta: float | None, metric: str) -> None:
    """Refuse a missing or non-positive indifference zone and an unknown metric."""
    if delta is None or not delta > 0 or not math.isfinite(delta):
        raise SelectionOptionError("--select needs --delta D > 0: the smallest difference in --metric "
                                   "worth telling apart")
    if metric not in METRICS:
        raise SelectionOptionError(f"--metric {metric}: unknown metric; metrics: {', '.join(METRICS)}")


def select_in_sweep(plan: SweepPlan, out: str | Path, metric: str, delta: float, n0: int = 10,
                    candidates: Sequence[int] | None = None, executor: Executor | str | None = None,
                    workers: int | None = None,
                    progress: Callable[[SelectionProgress], None] | None = None,
                    parquet: bool | None = None, constrained: bool = False) -> SweepSelection:
    """Run KN++ over ``candidates`` (default: every point of ``plan``) with the replications stored
    in, or appended to, the sweep folder ``out``; write the tables and the manifest with its
    ``selection`` section. ``plan.replications`` bounds the replications of one point (see
    :func:`selection_spec`). Raises :class:`SelectionOptionError` for a bad option or a metric some
    replication has no value of."""
    check_selection_options(delta, metric)
    if plan.precision is not None:
        raise SelectionOptionError("--select: KN++ decides the replications; it does not combine with "
                                   "--precision")
    if n0 < 2 or n0 > plan.replications:
        raise SelectionOptionError(f"--n0 {n0}: must be from 2 to --max-replications ({plan.replications})")
    points = tuple(range(len(plan.points))) if candidates is None else tuple(candidates)
    if isinstance(executor, Executor) and workers is not None:
        raise ValueError("workers= applies to an executor given by name; this one has its own workers")
    store = ResultStore(out, plan)
    resumed = len(store.stored)
    ran = 0
    runner: Executor | None = None
    owned = not isinstance(executor, Executor)
    sel: Selection | None = None
    try:
        if owned:
            if executor in (None, "processes"):  # one batch: at most one replication per candidate at once
                workers = max(1, min(available_cores() if workers is None else workers, len(points) * n0))
            runner = make_executor(executor, workers)  # type: ignore[arg-type]
        else:
            runner = executor  # type: ignore[assignment]

        def sample(systems: Sequence[int], first: int, count: int) -> dict[int, list[float]]:
            nonlocal ran
            wanted = [(points[i], j) for i in systems for j in range(first, first + count)]
            missing = [key for key in wanted if key not in store.stored]
            if progress is not None:
                progress(SelectionProgress(ran, resumed, first + count, len(systems)))
            if missing:
                tasks = [Task((p, j), plan.scenarios[p], plan.seed, j, method=plan.point_method(p))
                         for p, j in missing]  # the tasks of a plain sweep
                source = runner.run(tasks)
                try:
                    for key, result in source:
                        if store.append(key, result.metrics, {"customers": result.customers,
                                                              "cpu_s": result.cpu_s}):
                            ran += 1
                            if progress is not None:
                                progress(SelectionProgress(ran, resumed, first + count, len(systems)))
                finally:
                    source.close()
            return {i: [float(store.stored[(points[i], j)].get(metric, math.nan))
                        for j in range(first, first + count)] for i in systems}

        if len(points) >= 2:
            try:
                sel = kn_plus_plus([point_name(plan, p) for p in points], sample, delta, metric,
                                   metric in HIGHER_IS_BETTER, CONFIDENCE, n0, max(1, runner.workers),
                                   plan.replications)
            except ValueError as err:
                raise SelectionOptionError(f"--metric {metric}: {err}") from None
        used = {} if sel is None else {p: sel.observations[i] for i, p in enumerate(points)}
        kept: dict[Key, dict[str, float]] = {key: v for key, v in sorted(store.stored.items())
                                             if key[1] < used.get(key[0], 0)}
        result = SweepSelection(plan, points, sel, resumed, ran, (), constrained)
        files = (*write_tables(store.folder, plan, kept, parquet), store.folder / MANIFEST)
        write_json_atomic(store.folder / MANIFEST, {**plan.manifest(), "selection": result.to_dict()})
    finally:
        if runner is not None and owned:
            runner.close()
        store.close()
    return dataclasses.replace(result, files=files)

