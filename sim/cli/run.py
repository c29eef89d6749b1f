"""``sim run`` and ``sim validate``."""

from __future__ import annotations

import click

from sim.cli.format import metric_table
from sim.cli.options import (
    InputError,
    check_output_file,
    collect_overrides,
    replication_options,
    reports_input_errors,
    scenario_overrides,
    write_error,
)
from sim.cli.report import plot_option, write_run_plots
from sim.experiment import run
from sim.scenario import describe, load_scenario
from sim.scenario.io import write_json_atomic


@click.command("run")
@click.argument("scenario", required=False, metavar="[SCENARIO]")
@scenario_overrides
@replication_options
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True), default=None,
              metavar="PATH", help="Write the full result (scenario, metrics, every replication) as JSON.")
@plot_option
@reports_input_errors
def run_command(scenario, overrides, redundancy, replications, horizon, seed, workers, json_path,
                plot_dir) -> None:
    """Simulate SCENARIO (a .toml file or a built-in name; default: baseline) and print lost
    checkouts, availability, recovery and latency with 95% confidence intervals."""
    resolved = load_scenario(scenario, collect_overrides(overrides, replications, horizon, seed), redundancy)
    check_output_file("--json", json_path)
    click.echo(describe(resolved))
    result = run(resolved, workers=workers)
    click.echo(metric_table(result.metrics))
    click.echo(
        f"\n{result.replications} replications, seed {result.seed}, {result.workers} worker(s): "
        f"{result.wall_s:.1f} s wall, {result.customers:,} customers "
        f"({result.customers_per_s:,.0f}/s)"
    )
    if json_path is not None:
        try:
            write_json_atomic(json_path, result.to_dict())
        except OSError as err:
            raise write_error("--json", json_path, err) from None
        click.echo(f"wrote {json_path}")
    if plot_dir:
        write_run_plots(result, plot_dir)


@click.command("validate")
@click.option("--replications", type=click.IntRange(min=2), default=10, show_default=True,
              help="Replications per check (more: tighter intervals).")
@click.option("--scale", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Multiplies every check's simulated horizon (precision grows with it).")
@click.option("--seed", type=click.IntRange(min=0), default=2024, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: all cores).")
@click.option("--only", multiple=True, metavar="NAME", help="Run only the named check(s).")
def validate_command(replications, scale, seed, workers, only) -> None:
    """Check the simulator against analytic results (Markov availability, Erlang B/C, outage
    losses, Little's law) and print simulated vs. analytic values with a verdict."""
    from sim.theory.validation import CHECKS, run_checks

    names = list(only) or [c.name for c in CHECKS]
    unknown = [n for n in names if n not in {c.name for c in CHECKS}]
    if unknown:
        raise InputError(f"--only {unknown[0]}: unknown check; checks: {', '.join(c.name for c in CHECKS)}")
    outcomes = run_checks(names, replications=replications, scale=scale, seed=seed, workers=workers,
                          echo=click.echo)
    failed = [o for o in outcomes if not o.passed]
    click.echo(f"\n{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise SystemExit(1)
