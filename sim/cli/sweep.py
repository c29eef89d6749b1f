"""``sim sweep``: a design of points × replications, on all cores or a Dask cluster, resumable."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import click

from sim.cli.format import availability, number
from sim.cli.method import method_option, run_request
from sim.cli.options import (
    InputError,
    check_output_folder,
    collect_overrides,
    reports_input_errors,
    scenario_overrides,
    write_error,
)
from sim.cli.progress import Progress
from sim.cli.selection import select_options
from sim.cli.sweep_select import run_sweep_selection
from sim.experiment.executors import DASK_LOCAL, ExecutorError, available_cores
from sim.experiment.methods import MethodError
from sim.experiment.precision import DEFAULT_MAX_LOOKS, achieved, percent
from sim.scenario import describe
from sim.sweeps.runner import (
    SAMPLERS,
    SweepPlan,
    SweepProgress,
    SweepResult,
    SweepSpec,
    check_folder,
    plan_sweep,
    read_sweep_file,
    run_sweep,
)
from sim.sweeps.select import SelectionOptionError, selection_spec

TABLE_ROWS = 30  # points shown in the terminal; summary.csv has them all


def sweep_progress(total: int, workers: int | None, dask: str | None, limit_s: float | None = None,
                   what: str = "sweep") -> tuple[Progress, Callable[[SweepProgress], None]]:
    """The progress of a sweep (tasks, points finished) and its callback for :func:`run_sweep`; ``total``
    tasks, of which resumed ones are not timed. An existing Dask cluster's workers are not known here:
    no estimate from the first task then (the ETA comes from the tasks done)."""
    local = dask in (None, DASK_LOCAL, "local")
    at_once = min(workers or available_cores(), total) if local else 1
    where = f"{at_once} at once" if local else f"on the Dask cluster {dask}"
    progress = Progress(what, "tasks", parallel=at_once, limit_s=limit_s, plan=f"{total} tasks, {where}",
                        announce_s=None if local else math.inf,
                        bound="" if limit_s is None else f"at most {limit_s:g} s in all")

    def show(p: SweepProgress) -> None:
        progress.update(p.done, p.total, detail=f"{p.points_done}/{p.points} points", skipped=p.resumed)

    return progress, show


def _table(result: SweepResult) -> str:
    """Lost checkouts and availability per point (the rest is in summary.csv)."""
    plan: SweepPlan = result.plan
    _, rows = result.summary()
    ref = plan.reference
    header = ["point", *plan.keys, "lost_checkouts", "95% CI", "availability"]
    if ref is not None:
        header += [f"Δ lost vs point {ref}", "95% CI"]
    lines = [header]
    for row in rows[:TABLE_ROWS]:
        cells = [str(row["point"]), *(_cell(row[k]) for k in plan.keys),
                 number(row["lost_checkouts_mean"]),
                 _interval(row["lost_checkouts_ci_low"], row["lost_checkouts_ci_high"]),
                 availability(row["availability_mean"])]
        if ref is not None:
            cells += [number(row["lost_checkouts_diff_mean"]),
                      _interval(row["lost_checkouts_diff_ci_low"], row["lost_checkouts_diff_ci_high"])]
        lines.append(cells)
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    text = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    if len(rows) > TABLE_ROWS:
        text.append(f"... {len(rows) - TABLE_ROWS} more points in summary.csv")
    return "\n".join(text)


def _precision_lines(result: SweepResult) -> list[str]:
    """Whether every point met the target, the looks, and the points that did not (worst first)."""
    outcome = result.precision
    why = {"precision": "every point met every target", "time": "time limit spent",
           "max_looks": "the last of the looks"}[outcome.stopped_by]
    looks = ", ".join(str(n) for n in outcome.looks)
    lines = [f"precision: {'target met' if outcome.met else 'TARGET NOT MET'} at every point"
             if outcome.met else "precision: TARGET NOT MET",
             f"  {result.plan.replications} replications per point (looks at {looks}); stopped: {why}"]
    missed = [(p, o) for p, point in enumerate(outcome.points) for o in point if not o.met]
    for p, o in missed[:10]:
        lines.append(f"  point {p}: {o.metric} {achieved(o)}, target ±{percent(o.target)}")
    if len(missed) > 10:
        lines.append(f"  ... {len(missed) - 10} more in manifest.json (precision)")
    return lines


def _cell(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _interval(low: float, high: float) -> str:
    return "–" if math.isnan(low) else f"[{number(low)}, {number(high)}]"


@click.command("sweep")
@click.argument("scenario", required=False, metavar="[SCENARIO]")
@click.option("--grid", multiple=True, metavar="KEY=V1,V2,...",
              help="Sweep a dotted scenario key over these values (repeatable: the cartesian product), "
                   "e.g. --grid tiers.payment.replicas=1,2,3.")
@click.option("--range", "ranges", multiple=True, metavar="KEY=LO:HI:STEPS",
              help="STEPS evenly spaced values from LO to HI (numbers or durations; integer keys "
                   "rounded), e.g. --range tiers.payment.mttr=5m:60m:12.")
@click.option("--lhs", multiple=True, metavar="KEY=LO:HI",
              help="Sample this key in [LO, HI] with a space-filling design of --samples points "
                   "(repeatable; crossed with the grid).")
@click.option("--samples", type=click.IntRange(min=1), default=None, metavar="K",
              help="Points drawn for the --lhs keys.")
@click.option("--sampler", type=click.Choice(SAMPLERS), default=None,
              help="Design of the --lhs keys: Latin hypercube (default) or scrambled Sobol (K a power of 2).")
@click.option("--file", "sweep_file", default=None, metavar="SWEEP.toml",
              help="Read the sweep (base scenario, [grid], [range], [lhs], [set], settings) from a TOML "
                   "file; options given here add to it.")
@click.option("--replications", type=click.IntRange(min=2), default=None, metavar="R",
              help="Replications per point, at least 2: points are compared by their confidence intervals "
                   "(default: the file's, else the scenario's).")
@click.option("--seed", type=click.IntRange(min=0), default=None, metavar="S",
              help="Root seed; replication i of every point uses the same streams (default: the scenario's).")
@click.option("--horizon", default=None, metavar="H", help="Simulated time per replication, e.g. 6h.")
@scenario_overrides
@click.option("--out", default=None, metavar="DIR",
              help="Output folder (default: results/<scenario>-<hash>, so the same command resumes).")
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="W",
              help="Local worker processes (default: all cores); with --dask local, the cluster's workers.")
@click.option("--dask", default=None, metavar="ADDRESS",
              help='Run on Dask: "local" starts a LocalCluster, or a scheduler address such as '
                   "tcp://host:8786.")
@click.option("--reference", default=None, metavar="POINT",
              help="Add each point's paired difference to this point (an id, or KEY=VALUE,...) to "
                   "summary.csv.")
@method_option
@click.option("--precision", default=None, metavar="P",
              help="Run every point until the 95% interval of every target metric is within ±P of its mean, "
                   "e.g. 10% (--replications: the first look; every point the same replications). Default: "
                   "none, a fixed-size sweep.")
@click.option("--max-time", default=None, metavar="DURATION",
              help="Wall-clock limit of a --precision sweep, e.g. 2m; the same command resumes and "
                   "continues.")
@click.option("--target", "targets", multiple=True, metavar="METRIC",
              help="A metric whose interval must reach --precision at every point (repeatable; default: "
                   "lost_checkouts and unavailability).")
@select_options
@reports_input_errors
def sweep_command(scenario, grid, ranges, lhs, samples, sampler, sweep_file, replications, seed, horizon,
                  overrides, redundancy, out, workers, dask, reference, method, precision, max_time,
                  targets, **selection) -> None:
    """Run SCENARIO (default: baseline) at every point of a design, R replications each, and write
    results.csv (one row per point × replication), summary.csv (mean and 95% CI per point) and
    manifest.json. Finished tasks are stored as they arrive: the same command resumes. The folder's
    name (a content hash) includes --method unless it is crude, so estimators never share a folder.

    A sweep is fixed-size unless --precision P is given: then R is the first look and every point
    runs to the target (common random numbers kept: every point the same replications), or until
    --max-time; the method defaults to auto then, to crude otherwise.

    With --select the points are the systems of KN++ (see `sim compare --select`): it draws the
    replications it needs through the folder (--max-replications is the sweep's replications and
    part of its hash; --delta, --metric, --n0 and --max-breach are recorded in manifest.json), so the
    same command resumes an interrupted selection and reaches the same decision."""
    if dask not in (None, "local") and workers is not None:
        raise InputError("--workers applies to --dask local only: an existing Dask cluster has its own "
                         "workers")
    spec = read_sweep_file(sweep_file) if sweep_file else SweepSpec()
    given = SweepSpec.from_options(grid, ranges, lhs, scenario=scenario, samples=samples, sampler=sampler,
                                   replications=replications, seed=seed, reference=reference)
    merged = spec.merged(given)
    if selection["select"]:
        if replications is not None or precision is not None:
            raise InputError(f"{'--replications' if replications is not None else '--precision'}: KN++ "
                             "decides the replications with --select; bound them with --max-replications")
        try:
            merged = selection_spec(merged, selection["max_replications"])
        except SelectionOptionError as err:
            raise InputError(str(err)) from None
    elif selection["delta"] is not None or selection["max_breach"] is not None:
        raise InputError(f"{'--delta' if selection['delta'] is not None else '--max-breach'}: applies only "
                         "with --select (pick the best point by KN++)")
    if precision is None and (max_time is not None or targets):  # a sweep is fixed-size unless asked
        raise InputError(f"{'--max-time' if max_time is not None else '--target'}: applies only to a "
                         "precision-driven sweep; add --precision P (a sweep is fixed-size by default)")
    request = run_request(precision or "off", max_time, targets, merged.replications, method)
    method = request.method
    wanted = None if not request.driven else {**request.precision, "max_looks": DEFAULT_MAX_LOOKS}
    try:
        plan = plan_sweep(merged, collect_overrides(overrides, None, horizon, None), redundancy, method,
                          wanted)
    except MethodError as err:
        raise InputError(f"--method {method}: {str(err).removeprefix(f'method {method}: ')}") from None
    folder = Path(out) if out is not None else Path("results") / plan.name
    check_output_folder("--out", str(folder))
    check_folder(folder, plan)
    if selection["select"]:
        run_sweep_selection(plan, folder, DASK_LOCAL if dask == "local" else dask, workers, **selection)
        return
    click.echo(describe(plan.base))
    methods = sorted(set(plan.methods)) if plan.methods else ["crude"]
    if request.driven:
        click.echo(f"sweep {plan.name}: {len(plan.points)} points, replications from {plan.replications} "
                   f"per point (precision-driven: {request.describe()}), seed {plan.seed}, "
                   f"method {' and '.join(methods)} → {folder}")
    else:
        click.echo(f"sweep {plan.name}: {len(plan.points)} points × {plan.replications} replications = "
                   f"{plan.total} tasks, seed {plan.seed}"
                   + (f", method {' and '.join(methods)}" if methods != ["crude"] else "") + f" → {folder}")
    bar, show = sweep_progress(plan.total, workers, dask, request.precision.get("max_time"))
    bar.start(plan.total)
    try:
        result = run_sweep(plan, DASK_LOCAL if dask == "local" else dask, workers, folder, progress=show,
                           log=bar.echo,
                           max_time=request.precision.get("max_time"))
    except KeyboardInterrupt:
        bar.finish(stopped=True)
        click.echo(f"interrupted: {bar.done} of {plan.total} tasks are stored in {folder}; run the same "
                   "command again to resume", err=True)
        raise SystemExit(130) from None
    except ExecutorError as err:
        bar.finish(stopped=True)
        raise InputError(str(err)) from None
    except OSError as err:  # the folder became unwritable, or the disk filled up, while running
        bar.finish(stopped=True)
        raise write_error("--out", folder, err) from None
    bar.finish()
    click.echo(_table(result))
    if result.precision is not None:
        click.echo("\n" + "\n".join(_precision_lines(result)))
    ran = result.ran
    click.echo(f"\n{ran} tasks run in {result.wall_s:.1f} s" + (f" on {result.executor}" if ran else "")
               + (f", {result.resumed} resumed" if result.resumed else ""))
    click.echo(f"wrote {', '.join(p.name for p in result.files)} in {folder}")
