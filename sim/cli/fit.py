"""``sim fit``: an incident log (and request counts) fitted into a scenario fragment and FIT.json,
and the ``--parameter-uncertainty`` option that ``sim run`` shares."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click

from sim.cli.options import InputError, check_output_file, reports_input_errors, write_error
from sim.experiment.uncertainty import UncertaintyError, check_uncertainty
from sim.fit import (
    FitInputError,
    fit,
    fragment_text,
    merge_into,
    read_counts,
    read_incidents,
    read_uncertainty,
)
from sim.fit.incidents import parse_timestamp
from sim.fit.laws import LawFit
from sim.fit.uncertainty import ParameterUncertainty
from sim.scenario import load_scenario
from sim.scenario.errors import ScenarioError, shorten
from sim.scenario.io import write_json_atomic, write_text_atomic
from sim.scenario.spec import Scenario


def _window(flag: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        raise InputError(f"{flag} {shorten(text)}: not an ISO 8601 timestamp such as "
                         "2026-03-01T00:00:00Z") from None


def _duration(seconds: float) -> str:
    """Seconds as a person reads them, to 3 significant digits ("4.79d", "23.7m")."""
    if math.isinf(seconds):
        return "inf"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.3g}s"


def _law_lines(tier: str, kind: str, law: LawFit | None) -> list[str]:
    if law is None:
        return [f"  {tier:<10} {kind}  nothing to fit (no repair seen)"]
    low, high = law.mean_ci_s
    params = "".join(f", {k} {v:.3g}" for k, v in law.parameters.items())
    first = (f"  {tier:<10} {kind}  {law.dist}{params}, mean {_duration(law.mean_s)} (95% CI "
             f"{_duration(low)} to {_duration(high)}); {law.n_events} seen, {law.n_censored} censored")
    aicc = ", ".join(f"{f} {a:.1f}" for f, a in law.aicc.items() if a is not None)
    if not aicc:
        return [first]
    gof = "" if law.gof is None else f"; fit check p = {law.gof['p_value']:.2f}"
    return [first, f"{'':<18}AICc {aicc}{gof}"]


@click.command("fit")
@click.argument("incidents", metavar="INCIDENTS.csv", type=click.Path(dir_okay=False))
@click.option("--window-start", metavar="T", default=None,
              help="Start of the observation window (ISO 8601; default: the first incident's start).")
@click.option("--window-end", metavar="T", default=None,
              help="End of the observation window (ISO 8601; default: the last timestamp in the log).")
@click.option("--traffic", "traffic_path", metavar="COUNTS.csv", type=click.Path(dir_okay=False),
              default=None,
              help="Request counts (timestamp,count per equal interval): arrival_rate and daily_profile.")
@click.option("--out", "out_path", metavar="FRAGMENT.toml", required=True, type=click.Path(dir_okay=False),
              help="Write the fitted keys as a scenario fragment (or, with --base, a whole scenario).")
@click.option("--json", "json_path", metavar="FIT.json", required=True, type=click.Path(dir_okay=False),
              help="Write every fitted law with its intervals, AIC per family and fit check.")
@click.option("--base", "base_path", metavar="SCENARIO.toml", type=click.Path(dir_okay=False), default=None,
              help="Write into a copy of this scenario instead of a bare fragment (it must define the "
                   "tiers).")
@click.option("--gof-resamples", type=click.IntRange(min=0, max=10_000), default=49, show_default=True,
              help="Bootstrap resamples of the goodness-of-fit check (0: no check).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the goodness-of-fit bootstrap.")
@reports_input_errors
def fit_command(incidents, window_start, window_end, traffic_path, out_path, json_path, base_path,
                gof_resamples, seed) -> None:
    """Fit failure (MTBF) and repair (MTTR) laws per tier to INCIDENTS.csv (tier,replica,start,end),
    with censoring, choosing exponential, Weibull or lognormal by AICc; optionally the arrival rate
    and hourly profile from request counts."""
    start, end = _window("--window-start", window_start), _window("--window-end", window_end)
    check_output_file("--out", out_path)
    check_output_file("--json", json_path)
    try:
        log = read_incidents(incidents, start, end)
        traffic = read_counts(traffic_path) if traffic_path else None
    except FitInputError as err:
        raise InputError(str(err)) from None
    result = fit(log, traffic, traffic_path, gof_resamples=gof_resamples, seed=seed)
    text = fragment_text(result)
    if base_path:
        try:
            text = merge_into(Path(base_path).read_text(encoding="utf-8"), result)
        except KeyError as missing:
            raise InputError(f"--base {shorten(base_path, 300)}: [{missing.args[0]}]: not defined; the base "
                             "scenario must define every fitted tier and [traffic]") from None
    for path, write in ((out_path, lambda p: write_text_atomic(p, text)),
                        (json_path, lambda p: write_json_atomic(p, result.to_dict()))):
        try:
            write(path)
        except OSError as err:
            raise write_error("--out" if path == out_path else "--json", path, err) from None
    if base_path:
        try:
            load_scenario(out_path)
        except ScenarioError as err:
            raise InputError(f"--base: the merged scenario is not valid: {err}") from None
    click.echo(f"{log.source}: window {log.window_start.isoformat()} to {log.window_end.isoformat()} "
               f"({log.window_s / 86400:.4g} days), {sum(result.replicas.values())} replicas")
    for tier, kinds in result.laws.items():
        for kind, law in kinds.items():
            for line in _law_lines(tier, kind, law):
                click.echo(line)
    if traffic is not None:
        click.echo(f"  traffic    arrival_rate {traffic.arrival_rate_per_s:.4g}/s over {traffic.intervals} "
                   f"intervals; {len(traffic.spikes)} spike(s) flagged (not written)")
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"wrote {out_path} and {json_path}")


#: metrics whose variance split ``sim run`` prints (the JSON has every metric)
HEADLINE = ("lost_checkouts", "lost_revenue", "availability", "outage_time_total_s", "outage_count")


def parameter_uncertainty_option(fn: Callable) -> Callable:
    """``--parameter-uncertainty FIT.json`` (for ``sim run``)."""
    return click.option(
        "--parameter-uncertainty", "uncertainty_path", metavar="FIT.json", default=None,
        type=click.Path(dir_okay=False),
        help="Draw each fitted law's parameters per replication from their sampling distribution in this "
             "FIT.json (written by `sim fit`); intervals then cover parameter uncertainty too, and the run "
             "is repeated without draws to say how much each source contributes.")(fn)


def read_parameter_uncertainty(path: str | None, scenario: Scenario,
                               driven: bool) -> ParameterUncertainty | None:
    """The option's file read and checked against the scenario (None when not given); errors as one line."""
    if path is None:
        return None
    if driven:
        raise InputError("--parameter-uncertainty: needs a fixed-size run; give --replications N and no "
                         "--precision")
    try:
        uncertainty = read_uncertainty(path)
        check_uncertainty(scenario, uncertainty)
    except (FitInputError, UncertaintyError) as err:
        raise InputError(f"--parameter-uncertainty {err}") from None
    return uncertainty


def uncertainty_lines(extra: dict) -> list[str]:
    """What share of each interval comes from parameter uncertainty (empty when the run had none)."""
    parts = extra.get("parameter_uncertainty")
    if not parts:
        return []
    lines = [f"\nparameter uncertainty ({parts['source']}; {', '.join(parts['laws'])} drawn per "
             "replication): "
             "variance across replications with draws vs. the same replications without"]
    shown = [(n, parts["metrics"][n]) for n in HEADLINE if n in parts["metrics"]]
    if not any(row["variance"] > 0 for _, row in shown):
        names = ", ".join(n for n, _ in shown)
        return [*lines, f"  no variation across replications in {names}: nothing to split"]
    for name, row in shown:
        if row["variance"] <= 0:
            continue
        share = row["parameter_share"]
        lines.append(f"  {name:<28} half-width {row['half_width']:.4g} (simulation alone "
                     f"{row['half_width_simulation']:.4g}); parameters "
                     f"{'n/a' if share is None else f'{100 * share:.0f}%'} of the variance")
    return lines
