"""``sim run`` and ``sim validate``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import click

from sim.cli.fit import parameter_uncertainty_option, read_parameter_uncertainty, uncertainty_lines
from sim.cli.format import INTERRUPTED, SUMS, header, metric_table
from sim.cli.method import RunRequest, checked_method, method_option, run_request, why_chosen
from sim.cli.options import (
    InputError,
    check_output_file,
    collect_overrides,
    precision_options,
    replication_options,
    reports_input_errors,
    scenario_overrides,
    write_error,
)
from sim.cli.progress import Progress, run_progress
from sim.cli.report import force_option, plot_option, write_run_plots
from sim.experiment import run
from sim.experiment.blanks import blanks, reason_lines
from sim.experiment.methods import AUTO, RARE, WINDOWS, MethodError, resolve_method
from sim.experiment.precision import PrecisionOutcome, achieved, describe, percent, random_failures
from sim.scenario import load_scenario
from sim.scenario.io import jsonable, write_json_atomic
from sim.scenario.spec import Scenario
from sim.theory.floor import floor_report
from sim.theory.slo_budget import assess_slo, slo_lines

STDOUT = "-"  # `--json -`: the JSON goes to standard output (and the table to standard error)


def resolve(name: str | None, overrides: tuple[str, ...], redundancy: int | None, replications: int | None,
            horizon: str | None, seed: int | None) -> Scenario:
    """Load the scenario with every override; ``--replications 1`` (a quick look, which a scenario
    file cannot ask for) is applied after validation."""
    quick = replications == 1
    shortcuts = collect_overrides(overrides, None if quick else replications, horizon, seed)
    resolved = load_scenario(name, shortcuts, redundancy)
    return dataclasses.replace(resolved, replications=1) if quick else resolved


def interrupted(progress: Progress, what: str) -> SystemExit:
    """Ctrl-C: say so on one line (no traceback) and exit with 130."""
    progress.finish(stopped=True)
    click.echo(f"interrupted: {what}", err=True)
    return SystemExit(INTERRUPTED)


def check_plot_dir(plot_dir: str | None, force: bool) -> None:
    """``--plot DIR`` must name a new or empty folder unless ``--force`` (checked before simulating)."""
    if not plot_dir:
        return
    path = Path(plot_dir)
    if path.exists() and not path.is_dir():
        raise InputError(f"--plot {plot_dir}: exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise InputError(f"--plot {plot_dir}: folder exists and is not empty; choose a new folder or add "
                         "--force to overwrite its report files")


def precision_report(outcome: PrecisionOutcome, wall_s: float, method: str = "crude",
                     rare_possible: bool = False, random_failures: bool = False) -> list[str]:
    """What a precision-driven run achieved, per target, and plainly which targets were not met (with
    what would meet them: more time, scaled by how far off it is, or a rare-event method; and, where
    outages come from random failures that the rare-event method cannot estimate here, that this is
    why)."""
    why = {"precision": "every target met", "max_looks": f"the last of the looks ({outcome.looks[-1]})",
           "time": f"time limit of {outcome.max_time_s:g} s spent" if outcome.max_time_s else "time limit"}
    looks = ", ".join(str(n) for n in outcome.looks)
    verdict = "target met" if outcome.met else "TARGET NOT MET"
    lines = [f"\nprecision: {verdict}; {outcome.replications} replications (looks at {looks}); stopped: "
             f"{why[outcome.stopped_by]}"]
    if outcome.discarded:
        lines.append(f"  {outcome.discarded} finished replication(s) of the unfinished batch left out "
                     "(results are used only at the looks)")
    lines += [f"  {describe(o)}" for o in outcome.outcomes]
    lines += [f"  no {name} target: {why}" for name, why in outcome.dropped]
    for o in outcome.outcomes:
        if not o.met:
            lines.append(f"target ±{percent(o.target)} not met for {o.metric}: {achieved(o)} after "
                         f"{outcome.replications} replications in {wall_s:.0f} s; "
                         f"{_remedy(o, wall_s, method, rare_possible)}")
    if not outcome.met and random_failures and not rare_possible and method != RARE:
        lines.append(f"  why: outages here come from random failures and are rare, so method {method} sees "
                     "few of them within the limit; the rare-event method, which would resolve them, "
                     "does not apply to this scenario (the method line above says why)")
    return lines


def _remedy(o, wall_s: float, method: str, rare_possible: bool) -> str:
    """More time (a half-width shrinks like 1/√n: the time scales with its square), or the rare-event
    method when it could run on this scenario and did not."""
    rare = "a rare-event method (--method rare) or " if rare_possible and method != RARE else ""
    if o.rel_half_width != o.rel_half_width:  # NaN: nothing observed yet, no way to say how long
        return f"{rare}much more time is needed"
    factor = min(100.0, max(2.0, (o.rel_half_width / o.target) ** 2))
    return f"{rare}more time is needed (about --max-time {max(1, round(wall_s * factor / 60.0))}m)"


def rare_possible(scenario: Scenario) -> bool:
    """Whether the rare-event method could estimate ``scenario``."""
    try:
        resolve_method(RARE, scenario)
    except MethodError:
        return False
    return True


def run_header(name: str | None, resolved: Scenario, request: RunRequest, method: str) -> list[str]:
    """The scenario's line (its replications as the first look of a precision-driven run), then which
    estimator runs and why, and what a precision-driven run aims at."""
    line = header(name, resolved)
    n = resolved.replications
    if request.driven:
        line = line.replace(f", {n} replications", f", replications from {n} (precision-driven)", 1)
    lines = [line, f"method {method} ({why_chosen(request.method, method, resolved)})"]
    if request.driven:
        lines.append(f"precision-driven: {request.describe(resolved)}")
        lines += request.dropped_lines(resolved)
    return lines


@click.command("run")
@click.argument("scenario", required=False, metavar="[SCENARIO]")
@scenario_overrides
@replication_options
@precision_options
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True, allow_dash=True),
              default=None, metavar="PATH",
              help="Write the full result (scenario, metrics, every replication) as JSON; '-': to standard "
                   "output (the table then goes to standard error).")
@plot_option
@force_option
@method_option
@parameter_uncertainty_option
@reports_input_errors
def run_command(scenario, overrides, redundancy, replications, horizon, seed, workers, precision, max_time,
                targets, json_path, plot_dir, force, method, uncertainty_path) -> None:
    """Simulate SCENARIO (a .toml file or a built-in name; default: baseline) and print lost
    checkouts, availability, recovery and latency with 95% confidence intervals."""
    wanted = run_request(precision, max_time, targets, replications, method)
    resolved = resolve(scenario, overrides, redundancy, replications, horizon, seed)
    chosen = checked_method(wanted.method, resolved)
    check_output_file("--json", json_path)
    check_plot_dir(plot_dir, force)
    uncertainty = read_parameter_uncertainty(uncertainty_path, resolved, wanted.driven)
    to_stdout = json_path == STDOUT
    echo: Callable[[str], None] = (lambda text: click.echo(text, err=True)) if to_stdout else click.echo
    for line in run_header(scenario, resolved, wanted, chosen):
        echo(line)
    if plot_dir and chosen != "crude":
        from sim.report.collect import SEARCH_REPLICATIONS  # here: the report package imports matplotlib

        shown = ("full-model replications 0, 1, ... are simulated until one has a path outage (at most "
                 f"{SEARCH_REPLICATIONS})"
                 if chosen == RARE else
                 "the replication with the most lost checkouts is simulated again in full")
        echo(f"--plot: the timeline needs the full model; method {chosen} records none, so {shown} for the "
             "figures (their titles say so)")
    progress = run_progress(resolved.name, resolved.replications, workers, wanted.precision.get("max_time"),
                            wanted.driven)
    try:
        result = run(resolved, workers=workers, progress=progress,
                     parameter_uncertainty=uncertainty,
                     timelines=bool(plot_dir) and chosen == "crude", method=chosen,
                     fallback=WINDOWS if wanted.method == AUTO and chosen == RARE else None,
                     **wanted.run_precision())
    except KeyboardInterrupt:
        what = "precision-driven run" if wanted.driven else f"{resolved.replications} replications"
        raise interrupted(progress, f"{what} stopped, no results") from None
    progress.finish()
    if "fallback" in result.extra:
        fell = result.extra["fallback"]
        why = fell["reason"].removeprefix(f"method {fell['from']}: ").split("; use method")[0]
        echo(f"method {fell['from']} could not finish: {why}; the whole run fell back to method {fell['to']}")
    echo(metric_table(result.metrics, resolved.horizon_s, advise=not wanted.driven, method=result.method))
    for line in floor_report(resolved, result.metrics):
        echo(line)
    if resolved.slo is not None:
        for line in slo_lines(assess_slo(resolved, per_replication=result.per_replication)):
            echo(line)
    found = blanks(result.method, result.stored_metrics(), result.replications)
    for line in reason_lines({name: b for name, b in found.items() if name not in SUMS}):
        echo(line)
    for line in uncertainty_lines(result.extra):
        echo(line)
    echo(
        f"\n{result.replications} replication{'s' if result.replications != 1 else ''}, seed {result.seed}, "
        f"{result.workers} worker(s){'' if result.method == 'crude' else ', method ' + result.method}: "
        f"{result.wall_s:.1f} s wall, {result.customers:,} customers "
        f"({result.customers_per_s:,.0f}/s)"
    )
    if result.precision is not None:
        for line in precision_report(result.precision, result.wall_s, result.method,
                                     rare_possible=rare_possible(resolved) and "fallback" not in result.extra,
                                     random_failures=random_failures(resolved)):
            echo(line)
    if to_stdout:
        click.echo(json.dumps(jsonable(result.to_dict()), indent=2))
    elif json_path:
        try:
            write_json_atomic(json_path, result.to_dict())
        except OSError as err:
            raise write_error("--json", json_path, err) from None
        echo(f"wrote {json_path}")
    if plot_dir:
        write_run_plots(result, plot_dir, echo)


@click.command("validate")
@click.option("--replications", type=click.IntRange(min=2), default=10, show_default=True,
              help="Replications per check, at least 2: a check compares theory with an interval "
                   "(more: tighter intervals).")
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
    progress = Progress("validate", plan=f"{len(names)} checks, {replications} replications each")

    def echo(text: str) -> None:
        progress.clear()
        click.echo(text)

    def check_progress(name: str, index: int, done: int, total: int) -> None:
        progress.update(done, total, what=f"check {index + 1}/{len(names)} {name}")

    progress.start()
    try:
        outcomes = run_checks(names, replications=replications, scale=scale, seed=seed, workers=workers,
                              echo=echo, progress=check_progress)
    except KeyboardInterrupt:
        raise interrupted(progress, "validation stopped") from None
    progress.finish()
    failed = [o for o in outcomes if not o.passed]
    click.echo(f"\n{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise SystemExit(1)
