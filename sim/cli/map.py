"""``sim map``: a metastability map — triggers × base load, each cell recovered or stuck."""

from __future__ import annotations

import math
from pathlib import Path

import click

from sim.cli.options import InputError, check_output_folder, reports_input_errors, write_error
from sim.cli.sweep import sweep_progress
from sim.experiment.executors import DASK_LOCAL, ExecutorError
from sim.report.map_report import write_map_report
from sim.scenario import parse_toml_value
from sim.scenario.durations import format_duration, parse_duration
from sim.sweeps.design import split_list
from sim.sweeps.map import DEFAULT_STUCK_AFTER_S, TRIGGERS, MapPlan, MapSpec, plan_map
from sim.sweeps.map_run import MapResult, run_map
from sim.sweeps.store import check_folder


def _numbers(flag: str, text: str | None) -> list[float] | None:
    """Comma-separated numbers, or LO:HI:STEPS (evenly spaced, ends included)."""
    if text is None:
        return None
    if text.count(":") == 2:
        parts = text.split(":")
        try:
            lo, hi, steps = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise InputError(f"{flag} {text!r}: expected LO:HI:STEPS such as 0.3:0.9:7") from None
        if steps < 2 or not lo < hi:
            raise InputError(f"{flag} {text!r}: expected LO below HI and STEPS >= 2")
        return [round(lo + (hi - lo) * i / (steps - 1), 12) for i in range(steps)]
    values = []
    for item in split_list(text):
        value = parse_toml_value(item) if item else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{flag} {item!r}: expected numbers separated by commas, such as 0.4,0.6,0.8")
        values.append(float(value))
    return values


def _durations(flag: str, text: str | None, many: bool = True) -> list[float] | None:
    if text is None:
        return None
    values = []
    for item in split_list(text) if many else [text]:
        try:
            seconds = parse_duration(item)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds >= 0):
            example = "1m,5m,10m" if many else "10m"
            raise InputError(f"{flag} {item!r}: expected a duration such as {example}")
        values.append(seconds)
    return values


def _boundary_table(result: MapResult) -> str:
    plan: MapPlan = result.plan
    lines = [("trigger", "recovers up to load", "stuck from load", "P(stuck) [95% CI]")]
    for b in result.boundary:
        stuck = "–" if math.isnan(b.stuck_from) else f"{b.stuck_from:.0%}"
        p = "–" if math.isnan(b.p_stuck) else f"{b.p_stuck:.0%} [{b.ci_low:.0%}, {b.ci_high:.0%}]"
        lines.append((plan.trigger_label(b.magnitude, b.duration_s),
                      "–" if math.isnan(b.recovers_up_to) else f"{b.recovers_up_to:.0%}", stuck, p))
    widths = [max(len(row[i]) for row in lines) for i in range(4)]
    text = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


@click.command("map")
@click.argument("scenario", metavar="SCENARIO")
@click.option("--trigger", type=click.Choice(TRIGGERS), default=None,
              help="What overloads the system: replicas of a tier down, or a traffic spike (default: the "
                   "scenario's own outage or spike, else outage).")
@click.option("--tier", default=None, metavar="NAME",
              help="Outage: the tier that loses replicas (default: the scenario's outage tier, else the "
                   "path's bottleneck).")
@click.option("--magnitude", default=None, metavar="M1,M2,...",
              help="Outage: replicas down; spike: rate multipliers (default: the scenario's own, else 1 "
                   "replica or ×1.5,2).")
@click.option("--duration", default=None, metavar="D1,D2,...",
              help="How long the trigger lasts (default: 1m,5m,10m).")
@click.option("--load", default=None, metavar="L1,L2,... | LO:HI:STEPS",
              help="Base load as a fraction of the path's capacity (default: 0.4,0.5,0.6,0.7,0.8).")
@click.option("--start", default=None, metavar="T",
              help="When the trigger starts (default: the scenario's own trigger's start, else 10m).")
@click.option("--stuck-after", default=None, metavar="T",
              help=f"Stuck: service not back this long after the trigger ended (default: "
                   f"{format_duration(DEFAULT_STUCK_AFTER_S)}).")
@click.option("--replications", type=click.IntRange(min=2), default=None, metavar="R",
              help="Replications per cell (default: the scenario's).")
@click.option("--seed", type=click.IntRange(min=0), default=None, metavar="S",
              help="Root seed (default: the scenario's); every cell uses the same streams.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a scenario key, e.g. --set customer.backoff_policy=exponential-full-jitter.")
@click.option("--out", default=None, metavar="DIR",
              help="Output folder (default: results/map-<scenario>-<hash>, so the same command resumes).")
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="W",
              help="Local worker processes (default: all cores); with --dask local, the cluster's workers.")
@click.option("--dask", default=None, metavar="ADDRESS",
              help='Run on Dask: "local" starts a LocalCluster, or a scheduler address.')
@reports_input_errors
def map_command(scenario, trigger, tier, magnitude, duration, load, start, stuck_after, replications, seed,
                overrides, out, workers, dask) -> None:
    """Sweep a trigger (replicas down, or a traffic spike: magnitude × duration) against the base load
    and classify every replication of SCENARIO as recovered or stuck (service not back within
    --stuck-after of the trigger's end). Writes map.csv (per cell: stuck count, probability of getting
    stuck with its exact 95% interval, recovery times), boundary.csv, the sweep tables, and
    report.html / report.md with figures/map.png. Finished replications are stored as they arrive:
    the same command resumes."""
    if dask not in (None, "local") and workers is not None:
        raise InputError("--workers applies to --dask local only: an existing Dask cluster has its own "
                         "workers")
    stuck = _durations("--stuck-after", stuck_after, many=False)
    starts = _durations("--start", start, many=False)
    spec = MapSpec(scenario=scenario, trigger=trigger, tier=tier,
                   magnitudes=_numbers("--magnitude", magnitude),
                   durations_s=_durations("--duration", duration),
                   loads=_numbers("--load", load),
                   start_s=starts[0] if starts else None,
                   stuck_after_s=stuck[0] if stuck else DEFAULT_STUCK_AFTER_S,
                   replications=replications, seed=seed, overrides=tuple(overrides))
    plan = plan_map(spec)
    folder = Path(out) if out is not None else Path("results") / f"map-{plan.sweep.name}"
    check_output_folder("--out", str(folder))
    check_folder(folder, plan.sweep)
    sweep = plan.sweep
    click.echo(f"map of {sweep.base.name}: {len(plan.magnitudes) * len(plan.durations_s)} triggers × "
               f"{len(plan.loads)} loads × {sweep.replications} replications = {sweep.total} tasks, "
               f"seed {sweep.seed} → {folder}")
    click.echo(plan.load_text())
    bar, show = sweep_progress(sweep.total, workers, dask, what="map")
    bar.start(sweep.total)
    try:
        result = run_map(plan, DASK_LOCAL if dask == "local" else dask, workers, folder, progress=show,
                         log=bar.echo)
        bar.finish()
        report = write_map_report(result, folder)
    except KeyboardInterrupt:
        bar.finish(stopped=True)
        click.echo(f"interrupted: finished tasks are stored in {folder}; run the same command again to "
                   "resume", err=True)
        raise SystemExit(130) from None
    except ExecutorError as err:
        bar.finish(stopped=True)
        raise InputError(str(err)) from None
    except OSError as err:
        bar.finish(stopped=True)
        raise write_error("--out", folder, err) from None
    click.echo(_boundary_table(result))
    ran = sweep.total - result.resumed
    click.echo(f"\n{ran} tasks run in {result.wall_s:.1f} s" + (f" on {result.executor}" if ran else "")
               + (f", {result.resumed} resumed" if result.resumed else ""))
    names = [p.name for p in result.files] + [report.html.name, report.markdown.name, "figures/map.png"]
    click.echo(f"wrote {', '.join(names)} in {folder}")
