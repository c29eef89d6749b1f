"""``sim sweep --select``: pick the best point of a sweep by KN++, resumable through the sweep folder."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

from sim.cli.options import InputError, write_error
from sim.cli.progress import Progress
from sim.cli.selection import _feasible
from sim.experiment.executors import ExecutorError
from sim.experiment.selection import HIGHER_IS_BETTER
from sim.scenario import describe
from sim.sweeps.plan import SweepPlan
from sim.sweeps.select import (
    CONFIDENCE,
    SelectionOptionError,
    SelectionProgress,
    check_selection_options,
    point_name,
    select_in_sweep,
)


def _show(progress: Progress, p: SelectionProgress, last: list[SelectionProgress]) -> None:
    """KN++'s stage, the points in contention and the replications run (no total: KN++ decides it)."""
    last[:] = [p]
    progress.update(p.ran, None, detail=f"stage {p.stage}: {p.contenders} points in contention"
                    + (f", {p.resumed} stored before" if p.resumed else ""))


def run_sweep_selection(plan: SweepPlan, folder: Path, executor: str | None, workers: int | None, *,
                        select: bool, delta: float | None, select_metric: str, max_breach: float | None,
                        n0: int, max_replications: int) -> None:
    """Print the sweep, check the options, keep the points meeting ``max_breach``, run KN++ through
    ``folder`` and print its decision (the table, the statement, what ran and what was reused)."""
    try:
        check_selection_options(delta, select_metric)
    except SelectionOptionError as err:
        raise InputError(str(err)) from None
    if n0 > max_replications:
        raise InputError(f"--n0 {n0}: must be at most --max-replications ({max_replications})")
    click.echo(re.sub(r", \d+ replications", "", describe(plan.base), count=1))  # KN++ decides them
    methods = sorted(set(plan.methods)) if plan.methods else ["crude"]
    click.echo(f"sweep {plan.name}: {len(plan.points)} points, replications decided by KN++ (at most "
               f"{plan.replications} per point), seed {plan.seed}"
               + (f", method {' and '.join(methods)}" if methods != ["crude"] else "") + f" → {folder}")
    candidates = list(range(len(plan.points)))
    names = [point_name(plan, p) for p in candidates]
    if max_breach is not None:
        click.echo(f"SLO constraint: availability breach probability per window ≤ {max_breach:g}")
        candidates = _feasible(names, plan.scenarios, max_breach, click.echo)
    if len(candidates) >= 2:
        way = "maximised" if select_metric in HIGHER_IS_BETTER else "minimised"
        click.echo(f"selecting by KN++ on {select_metric} ({way}), indifference zone δ = {delta:g}, first "
                   f"stage {n0} replications, at most {plan.replications}, {CONFIDENCE:.0%} confidence, "
                   "common random numbers")
    line = Progress("selecting", "replications run",
                    plan=f"KN++ over {len(candidates)} points, at most {plan.replications} replications "
                         "each (it stops when one is left: no estimate of the time)")
    last: list[SelectionProgress] = []
    wall0 = time.perf_counter()
    try:
        with line:
            result = select_in_sweep(plan, folder, select_metric, delta, n0, candidates, executor, workers,
                                     progress=lambda p: _show(line, p, last),
                                     constrained=max_breach is not None)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        stored = sum((p.ran + p.resumed for p in last), 0)
        click.echo(f"interrupted: {stored} replications are stored in {folder}; run the same command again "
                   "to resume (the same decision follows)", err=True)
        raise SystemExit(130) from None
    except (SelectionOptionError, ExecutorError) as err:
        raise InputError(str(err)) from None
    except OSError as err:
        raise write_error("--out", folder, err) from None
    rows = [("point", "replications", "mean", "status"), *result.rows()]
    if len(rows) > 1:
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        for r in rows:
            click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    click.echo(result.statement())
    click.echo(f"\n{result.ran} replications run in {time.perf_counter() - wall0:.1f} s"
               + (f", {result.resumed} resumed" if result.resumed else ""))
    click.echo(f"wrote {', '.join(p.name for p in result.files)} in {folder}")
