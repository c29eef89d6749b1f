"""``sim compare --select``: pick the best scenario by KN++, optionally among those meeting an SLO."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import click

from sim.cli.options import InputError
from sim.cli.progress import Progress
from sim.experiment.selection import HIGHER_IS_BETTER, Selection, select_best
from sim.scenario.spec import Scenario
from sim.stats.metrics import METRICS
from sim.theory.slo_budget import SloAssessment, assess_slo


def select_options(fn: Callable) -> Callable:
    """The options of ``--select`` (added to ``sim compare``)."""
    options = [
        click.option("--select", is_flag=True, default=False,
                     help="Pick the best scenario by a fully sequential ranking-and-selection procedure "
                          "(KN++ on common random numbers) instead of a fixed-size comparison; needs "
                          "--delta."),
        click.option("--delta", type=float, default=None, metavar="D",
                     help="With --select: the indifference zone, the smallest difference in --metric worth "
                          "telling apart (in the metric's unit; availability as a fraction, e.g. 0.0001)."),
        click.option("--metric", "select_metric", default="lost_checkouts", show_default=True,
                     metavar="METRIC",
                     help="With --select: the metric to optimise (availability, completed_checkouts and "
                          "throughput_per_s are maximised, every other metric minimised)."),
        click.option("--max-breach", type=click.FloatRange(0, 1), default=None, metavar="P",
                     help="With --select: only scenarios whose [slo] availability breach probability per "
                          "window is at most P (exact when the chain allows, else the 95% upper end)."),
        click.option("--n0", type=click.IntRange(min=2), default=10, show_default=True,
                     help="With --select: replications of every scenario in the first stage."),
        click.option("--max-replications", type=click.IntRange(min=2), default=1000, show_default=True,
                     help="With --select: the most replications of one scenario before stopping undecided."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _feasible(names: Sequence[str], scenarios: Sequence[Scenario], max_breach: float,
              echo: Callable[[str], None]) -> list[int]:
    """Indices of the scenarios whose SLO breach probability is at most ``max_breach``."""
    keep = []
    for i, (name, s) in enumerate(zip(names, scenarios, strict=True)):
        if s.slo is None or s.slo.availability is None:
            raise InputError(f"--max-breach: {name} has no [slo] availability objective; add one (e.g. --set "
                             "slo.availability=0.9995) to every scenario")
        a: SloAssessment = assess_slo(s)
        how = (f"exact {a.breach_probability:.3g}" if a.exact is not None else
               f"{a.breach_probability:.3g}, 95% upper end {a.breach_upper:.3g} over "
               f"{a.infrastructure.breach.n if a.infrastructure else 0} infrastructure windows")
        ok = a.breach_upper <= max_breach
        echo(f"  {name}: P(SLO breach per window) {how}: {'meets' if ok else 'fails'} ≤ {max_breach:g}")
        if ok:
            keep.append(i)
    return keep


def run_selection(names: Sequence[str], scenarios: Sequence[Scenario], workers: int | None,
                  headers: Sequence[str] = (), *, select: bool,
                  delta: float | None, select_metric: str, max_breach: float | None, n0: int,
                  max_replications: int, echo: Callable[[str], None] = click.echo) -> Selection | None:
    """Check the options, print the scenarios' ``headers``, run KN++ over the scenarios and print its
    decision (None when fewer than two scenarios meet the SLO)."""
    if delta is None or not delta > 0 or not math.isfinite(delta):
        raise InputError("--select needs --delta D > 0: the smallest difference in --metric worth telling "
                         "apart")
    if select_metric not in METRICS:
        raise InputError(f"--metric {select_metric}: unknown metric; metrics: {', '.join(METRICS)}")
    for text in headers:  # the replications are KN++'s to decide
        echo(re.sub(r", \d+ replications", "", text, count=1))
    indices = list(range(len(scenarios)))
    if max_breach is not None:
        echo(f"SLO constraint: availability breach probability per window ≤ {max_breach:g}")
        indices = _feasible(names, scenarios, max_breach, echo)
        if not indices:
            echo("no scenario meets the SLO constraint: nothing to select")
            return None
        if len(indices) == 1:
            echo(f"{names[indices[0]]} is the only scenario that meets the SLO constraint")
            return None
    way = "maximised" if select_metric in HIGHER_IS_BETTER else "minimised"
    echo(f"selecting by KN++ on {select_metric} ({way}), indifference zone δ = {delta:g}, first stage "
         f"{n0} replications, at most {max_replications}, 95% confidence, common random numbers")
    chosen = [scenarios[i] for i in indices]
    progress = Progress("selecting", "replications run",
                        plan=f"KN++ over {len(chosen)} scenarios, at most {max_replications} replications "
                             "each (it stops when one is left: no estimate of the time)")
    try:
        with progress:
            sel = select_best(chosen, [names[i] for i in indices], select_metric, delta, chosen[0].seed,
                              workers, n0=n0, max_replications=max_replications, on_batch=_counter(progress))
    except ValueError as err:
        raise InputError(f"--metric {select_metric}: {err}") from None
    rows = [("scenario", "replications", "mean", "status")]
    for i, name in enumerate(sel.names):
        status = ("best" if i == sel.best and sel.stopped == "selected" else
                  "in contention" if i in sel.survivors else f"eliminated at stage {sel.eliminated_at[i]}")
        rows.append((name, str(sel.observations[i]), f"{sel.means[i]:.6g}", status))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    for r in rows:
        echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    echo(sel.statement() + (", among the scenarios meeting the SLO constraint" if max_breach is not None
                            and sel.stopped == "selected" else ""))
    return sel



def _counter(progress: Progress) -> Callable[[Sequence[int], int, int], None]:
    """A batch callback of :func:`select_best` that reports the replications run, KN++'s stage and the
    scenarios in contention."""
    ran = 0

    def counted(systems: Sequence[int], first: int, count: int) -> None:
        nonlocal ran
        ran += len(systems) * count
        progress.update(ran, None, detail=f"stage {first + count}: {len(systems)} scenarios in contention")

    return counted
