"""``sim stress``: find the load at which an architecture stops meeting its objective."""

from __future__ import annotations

import click

from sim.cli.options import InputError, reports_input_errors, scenario_overrides
from sim.scenario import describe, load_scenario
from sim.scenario.io import write_json_atomic
from sim.sweeps.stress import DEFAULT_OBJECTIVES, parse_objective, stress


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
    help="Independent replications, each bisected to its own breaking point.",
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
@reports_input_errors
def stress_command(
    scenario, overrides, redundancy, objectives, replications, horizon, precision, seed, workers, json_path
) -> None:
    """Raise the steady arrival rate of SCENARIO step by step (bisection) until it stops meeting
    the objective; print the breaking point with a 95% confidence interval."""
    try:
        objective = parse_objective(objectives or DEFAULT_OBJECTIVES)
    except ValueError as err:
        raise InputError(f"--objective {err}") from None
    resolved = load_scenario(scenario, [*overrides, f"scenario.horizon={horizon}"], redundancy)
    seed = resolved.seed if seed is None else seed
    click.echo(describe(resolved))
    click.echo(f"objective: {' and '.join(str(c) for c in objective)}; steady traffic, {horizon} per probe")
    result = stress(resolved, objective, replications, seed, workers, precision)
    s = result.summary
    for i, (point, censored) in enumerate(zip(result.breaking_points, result.censored, strict=True)):
        note = "  (still met at the highest rate tried)" if censored else ""
        click.echo(f"  replication {i}: {point:,.2f} customers/s ({len(result.probes[i])} probes){note}")
    click.echo(
        f"breaking point: {s.mean:,.2f} customers/s, 95% CI [{s.ci_low:,.2f}, {s.ci_high:,.2f}] "
        f"({s.mean * 3600:,.0f} checkouts/hour)"
    )
    if json_path:
        write_json_atomic(json_path, result.to_dict())
        click.echo(f"wrote {json_path}")
