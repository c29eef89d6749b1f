"""``sim sweep --select``: pick the best point of a sweep by KN++, resumable through the sweep folder."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import click

from sim.cli.options import InputError, write_error
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


class SelectionLine:
    """Replications run and the stage on one stderr line; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.last: SelectionProgress | None = None
        self._drawn = 0.0

    def __call__(self, p: SelectionProgress) -> None:
        self.last = p
        now = time.monotonic()
        if not self.enabled or now - self._drawn < 0.1:
            return
        self._drawn = now
        click.echo(f"\rstage {p.stage}: {p.contenders} points in contention, {p.ran} replications run"
                   + (f", {p.resumed} stored before" if p.resumed else "") + " ", err=True, nl=False)

    def finish(self) -> None:
        if self.enabled and self._drawn:
            click.echo(err=True)


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
    line = SelectionLine(sys.stderr.isatty())
    wall0 = time.perf_counter()
    try:
        result = select_in_sweep(plan, folder, select_metric, delta, n0, candidates, executor, workers,
                                 progress=line, constrained=max_breach is not None)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        line.finish()
        p = line.last
        stored = (p.ran + p.resumed) if p else 0
        click.echo(f"interrupted: {stored} replications are stored in {folder}; run the same command again "
                   "to resume (the same decision follows)", err=True)
        raise SystemExit(130) from None
    except SelectionOptionError as err:
        line.finish()
        raise InputError(str(err)) from None
    except ExecutorError as err:
        line.finish()
        raise InputError(str(err)) from None
    except OSError as err:
        line.finish()
        raise write_error("--out", folder, err) from None
    line.finish()
    rows = [("point", "replications", "mean", "status"), *result.rows()]
    if len(rows) > 1:
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        for r in rows:
            click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    click.echo(result.statement())
    click.echo(f"\n{result.ran} replications run in {time.perf_counter() - wall0:.1f} s"
               + (f", {result.resumed} resumed" if result.resumed else ""))
    click.echo(f"wrote {', '.join(p.name for p in result.files)} in {folder}")
