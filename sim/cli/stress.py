"""``sim stress``: find the load at which an architecture stops meeting its objective."""

from __future__ import annotations

import dataclasses

import click

from sim.cli.options import (
    InputError,
    check_output_file,
    reports_input_errors,
    scenario_overrides,
    write_error,
)
from sim.cli.progress import Progress
from sim.experiment.executors import available_cores
from sim.scenario import describe, load_scenario
from sim.scenario.io import write_json_atomic
from sim.scenario.overrides import FlagOverride
from sim.sweeps.stress import (
    DEFAULT_OBJECTIVES,
    HEALTHY,
    BreakingPoints,
    Probe,
    degradable_tiers,
    parse_objective,
    stress,
)


@click.command("stress")
@click.argument("scenario", required=False, metavar="[SCENARIO]")
@scenario_overrides
@click.option(
    "--objective",
    "objectives",
    multiple=True,
    metavar="METRIC<VALUE",
    help="A condition the architecture must meet (repeatable; all must hold). "
    f"Default: {' and '.join(DEFAULT_OBJECTIVES)}.",
)
@click.option(
    "--replications",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Independent replications, each bisected to its own breaking point; at least 2, for "
    "the interval of the breaking point.",
)
@click.option("--horizon", default="1h", show_default=True, help="Simulated time per probe.")
@click.option(
    "--precision",
    type=click.FloatRange(min=0.001, max=0.5),
    default=0.02,
    show_default=True,
    help="Relative precision of each replication's bisection.",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Root seed (default: the scenario's).")
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: all cores)."
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="PATH",
    help="Write the breaking points and every probe as JSON.",
)
@click.option(
    "--one-down/--healthy-only",
    "one_down",
    default=True,
    show_default=True,
    help="Also find the breaking point with one replica of each path tier held down.",
)
@reports_input_errors
def stress_command(
    scenario, overrides, redundancy, objectives, replications, horizon, precision, seed, workers, json_path,
    one_down,
) -> None:
    """Raise the steady arrival rate of SCENARIO step by step (bisection) until it stops meeting
    the objective; print the breaking point with a 95% confidence interval, healthy (no failures
    while probing) and with one replica of each path tier down.

    Exits 2 when the objective does not hold even at the lowest rate tried."""
    try:
        objective = parse_objective(objectives or DEFAULT_OBJECTIVES)
    except ValueError as err:
        raise InputError(f"--objective {err}") from None
    resolved = load_scenario(scenario, [*overrides, FlagOverride(f"scenario.horizon={horizon}", "--horizon")],
                             redundancy)
    check_output_file("--json", json_path)
    seed = resolved.seed if seed is None else seed
    click.echo(describe(dataclasses.replace(resolved, replications=replications, outages=())))
    tiers = degradable_tiers(resolved) if one_down else ()
    conditions = "healthy" + "".join(f", one {t} replica down" for t in tiers)
    click.echo(f"objective: {' and '.join(str(c) for c in objective)}; steady traffic from "
               f"{resolved.traffic.arrival_rate_per_s:g}/s, {horizon} per probe, {replications} replications "
               f"per condition ({conditions})")
    tasks = replications * (1 + len(tiers))
    at_once = min(workers or available_cores(), tasks)
    bar = Progress("probing", "bisections", parallel=at_once,
                   plan=f"{tasks} bisections ({replications} replications × {1 + len(tiers)} conditions), "
                        f"{at_once} at once")
    with bar:
        result = stress(resolved, objective, replications, seed, workers, precision, one_down, progress=bar)
    for points in (result.healthy, *result.one_replica_down):
        _print_condition(points)
    if json_path is not None:
        try:
            write_json_atomic(json_path, result.to_dict())
        except OSError as err:
            raise write_error("--json", json_path, err) from None
        click.echo(f"wrote {json_path}")
    if any(result.healthy.never_met):
        failing = sorted({f for probes in result.healthy.probes for p in probes for f in p.failed})
        raise InputError(
            f"the objective never holds, even healthy at {result.healthy.lowest_probed_per_s:.3g} "
            "customers/s "
            f"(the lowest rate tried): {', '.join(failing)} failed; loosen --objective or check the scenario"
        )


def _print_condition(points: BreakingPoints) -> None:
    """Per replication: its breaking point and every probe (rate, and the conditions that failed)."""
    title = ("healthy (no failures or outages while probing)" if points.condition == HEALTHY
             else f"one {points.condition} replica down for the whole probe")
    click.echo(title + ":")
    for i, point in enumerate(points.breaking_points):
        if points.never_met[i]:
            note = "  (not met at any rate tried)"
        elif points.censored[i]:
            note = "  (still met at the highest rate tried)"
        else:
            note = ""
        click.echo(f"  replication {i}: {point:,.2f} customers/s{note}")
        probes = sorted(points.probes[i], key=lambda p: p.arrival_rate_per_s)
        click.echo("    probes: " + ", ".join(
            f"{p.arrival_rate_per_s:.4g} " + _outcome(p) for p in probes))
    s = points.summary
    label = "healthy" if points.condition == HEALTHY else f"one {points.condition} replica down"
    if all(points.never_met):
        click.echo(f"breaking point, {label}: none — the objective failed at every rate tried "
                   f"(down to {points.lowest_probed_per_s:.3g} customers/s)")
        return
    click.echo(
        f"breaking point, {label}: {s.mean:,.2f} customers/s, 95% CI [{s.ci_low:,.2f}, {s.ci_high:,.2f}] "
        f"({s.mean * 3600:,.0f} checkouts/hour)"
    )


def _outcome(probe: Probe) -> str:
    """``met``, or ``✗`` and the metrics of the conditions that failed."""
    return "met" if probe.met else "✗ " + " & ".join(f.split()[0] for f in probe.failed)
