"""``sim gameday``: what a chaos experiment will cost before anyone runs it.

A game day is a run with a scripted outage. The scenario is simulated twice on common random
numbers, without and with the fault (replication i of both draws the same customers and the same
random failures), so the paired difference is the fault's own blast radius: lost and deferred
checkouts, lost revenue and path-down time, with 95% intervals. When the scenario has an ``[slo]``
with an availability objective, independent windows of the infrastructure (with the fault at its
time in each window, and without it) give the probability that the window breaches the SLO and the
share of the error budget the fault burns.

The fault is written in a small language (``--fault``, repeatable), or taken from the scenario's
own ``[[outages]]`` when no ``--fault`` is given:

    zone a down 10m at 14:00            a whole zone
    payment down 45m at 20:00           every replica of a tier
    payment 1 replica down 30m at 2h    some replicas of a tier
    web 2 replicas down 5m at day 2 09:30

``at`` takes a time of day (day 1 unless ``day N`` is given) or a duration from the start.
"""

from __future__ import annotations

import math
import re

import click

from sim.cli.format import availability, header, number
from sim.cli.options import (
    InputError,
    collect_overrides,
    replication_options,
    reports_input_errors,
    scenario_overrides,
)
from sim.cli.progress import scenarios_progress
from sim.experiment import run
from sim.scenario import load_scenario, scenario_from_dict, scenario_to_dict
from sim.scenario.durations import format_duration, parse_duration
from sim.scenario.spec import Scenario
from sim.stats.intervals import Summary, paired_difference, summarize
from sim.theory.slo_budget import assess_slo, budget_s

_FAULT = re.compile(
    r"^\s*(?:(?P<zone>zone)\s+)?(?P<name>[A-Za-z0-9_-]+)"
    r"(?:\s+(?P<count>\d+|all)\s+replicas?)?\s+down\s+(?P<duration>\S+)"
    r"\s+at\s+(?:day\s+(?P<day>\d+)\s+)?(?P<when>\S+)\s*$")
EXAMPLES = "e.g. 'zone a down 10m at 14:00', 'payment down 45m at 20:00' or 'web 1 replica down 30m at 2h'"
DRAIN_S = 2 * 3600.0  # simulated at least this long after the last fault, for customers and repairs to settle


def _when(text: str, day: str | None) -> float:
    """``HH:MM`` (a time of day on day ``day``, default 1) or a duration from the start, in seconds."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if hours > 23 or minutes > 59:
            raise ValueError(text)
        return (int(day or 1) - 1) * 86400.0 + hours * 3600.0 + minutes * 60.0
    if day is not None:
        raise ValueError(text)
    return parse_duration(text)


def parse_fault(text: str, scenario: Scenario) -> dict:
    """One ``--fault`` as an ``[[outages]]`` entry (raw, TOML-shaped); a one-line error if it is not one."""
    def bad(why: str) -> InputError:
        return InputError(f"--fault {text!r}: {why}")

    m = _FAULT.match(text)
    if not m:
        raise bad(f"expected '[zone] NAME [N replicas] down DURATION at TIME', {EXAMPLES}")
    name, count = m.group("name"), m.group("count")
    try:
        duration = parse_duration(m.group("duration"))
    except ValueError:
        duration = math.nan
    if not 0 < duration < math.inf:
        raise bad(f"duration {m.group('duration')!r} is not a positive duration such as 10m or 1h")
    try:
        start = _when(m.group("when"), m.group("day"))
    except ValueError:
        start = math.nan
    if not 0 <= start < math.inf:
        raise bad(f"time {m.group('when')!r} is not a time of day (HH:MM, optionally after 'day N') or a "
                  "duration from the start such as 2h")
    if m.group("zone"):
        zones = [z.name for z in scenario.zones]
        if name not in zones:
            raise bad(f"zone {name!r} is not defined; zones: {', '.join(zones) or 'none'}")
        if count is not None:
            raise bad("a zone goes down whole; give no replica count")
        return {"zone": name, "start": start, "duration": duration}
    tiers = {t.name: t for t in scenario.tiers}
    if name not in tiers:
        raise bad(f"tier {name!r} is not defined; tiers: {', '.join(tiers)} (a zone: 'zone NAME ...')")
    fault: dict = {"tier": name, "start": start, "duration": duration}
    if count not in (None, "all"):
        if not 1 <= int(count) <= tiers[name].replicas:
            raise bad(f"{name} has {tiers[name].replicas} replica(s); take down 1 to {tiers[name].replicas}")
        fault["replicas"] = int(count)
    return fault


def _fault_text(o: dict) -> str:
    if "zone" in o:
        what = f"zone {o['zone']}"
    else:
        count = o.get("replicas", "all")
        what = o["tier"] + ("" if count == "all" else f" {count} replica(s)")
    day, rest = divmod(o["start"], 86400.0)
    hours, minutes = divmod(rest / 60.0, 60.0)
    when = f"day {int(day) + 1} {int(hours):02d}:{int(minutes):02d}"
    return f"{what} down {format_duration(o['duration'])} at {when}"


def _row(label: str, s: Summary, fmt=number) -> str:
    ci = "" if math.isnan(s.ci_low) else f" [{fmt(s.ci_low)}, {fmt(s.ci_high)}]"
    return f"  {label:<34} {fmt(s.mean)}{ci}"


@click.command("gameday")
@click.argument("scenario", required=False, metavar="[SCENARIO]")
@click.option("--fault", "faults", multiple=True, metavar="TEXT",
              help=f"A scripted fault, {EXAMPLES} (repeatable; default: the scenario's [[outages]]).")
@scenario_overrides
@replication_options
@reports_input_errors
def gameday_command(scenario, faults, overrides, redundancy, replications, horizon, seed, workers) -> None:
    """Dry-run a chaos experiment on SCENARIO: the blast radius of the fault (lost and deferred checkouts,
    lost revenue, path-down time, recovery) against the same replications without it, and the
    probability that it makes the SLO window breach."""
    resolved = load_scenario(scenario, collect_overrides(overrides, replications, horizon, seed), redundancy)
    raw = scenario_to_dict(resolved)
    if faults:
        added = [parse_fault(text, resolved) for text in faults]
        without = raw
    elif resolved.outages:
        added = raw["outages"]
        without = {**raw, "outages": []}
    else:
        raise InputError("no fault to try: give --fault, " + EXAMPLES + ", or [[outages]] in the scenario")
    end = max(o["start"] + o["duration"] for o in added)
    if horizon is None:  # just past the last fault, so the blast radius is not diluted in quiet days
        span = math.ceil((end + DRAIN_S) / 3600.0) * 3600.0  # whole hours
        without = {**without, "scenario": {**without["scenario"], "horizon": span, "warmup": 0}}
    else:
        late = [o for o in added if o["start"] >= resolved.horizon_s]
        if late:
            raise InputError(f"--fault '{_fault_text(late[0])}': starts after --horizon {horizon}")
    with_fault = {**without, "outages": [*without["outages"], *added]}
    base = scenario_from_dict(without, source=resolved.source)
    faulted = scenario_from_dict(with_fault, source=resolved.source)
    click.echo(header(scenario, resolved))
    click.echo(f"game day: {'; '.join(_fault_text(o) for o in added)}; horizon "
               f"{format_duration(base.horizon_s)}, {base.replications} replications, seed {base.seed}, "
               "with and without the fault on common random numbers")
    progress, show = scenarios_progress(2, base.replications, workers, what="game day", of="runs")
    with progress:
        before = run(base, workers=workers, progress=lambda d, t: show("without the fault", d, t))
        after = run(faulted, workers=workers, progress=lambda d, t: show("with the fault", d, t))
    before, after = before.per_replication, after.per_replication

    def diff(metric: str) -> Summary:
        return paired_difference([r[metric] for r in after], [r[metric] for r in before])

    window = base.horizon_s - base.warmup_s
    down = paired_difference([(1 - r["availability"]) * window for r in after],
                             [(1 - r["availability"]) * window for r in before])
    lines = ["blast radius (with the fault − without, paired by replication; mean [95% CI]):",
             _row("lost checkouts", diff("lost_checkouts")),
             _row("deferred checkouts", diff("deferred_checkouts")),
             _row(f"lost revenue ({base.costs.currency})", diff("lost_revenue")),
             _row("path-down time added (s)", down),
             _row("availability with the fault", summarize([r["availability"] for r in after], bounds=(0, 1)),
                  availability)]
    recovery = [r["mean_service_recovery_time_s"] for r in after]
    recovery_row = _row("service recovery time (s)", summarize(recovery, bounds=(0.0, math.inf)))
    lines.append(recovery_row + "  (with the fault: first failed attempt until the 1-minute success rate is "
                 "back to 99%, mean over the run's incidents)")
    lines += _slo_lines(resolved, without["outages"], added)
    for line in lines:
        click.echo(line)


def _slo_lines(resolved: Scenario, background: list[dict], added: list[dict]) -> list[str]:
    """The SLO breach probability of a window without and with the fault (infrastructure windows);
    ``background``: the injected outages that stay in both."""
    slo = resolved.slo
    if slo is None or slo.availability is None:
        return ["SLO: the scenario has no [slo] availability objective (add one to see the breach "
                "probability)"]
    late = [o for o in added if o["start"] >= slo.window_s]
    if late:
        return [f"SLO: the fault starts after the {format_duration(slo.window_s)} window; no breach figure"]
    raw = scenario_to_dict(resolved)
    raw["scenario"] = {**raw["scenario"], "horizon": max(resolved.horizon_s, slo.window_s), "warmup": 0}
    background = [o for o in background if o["start"] < raw["scenario"]["horizon"]]
    quiet = scenario_from_dict({**raw, "outages": background}, source=resolved.source)
    loud = scenario_from_dict({**raw, "outages": [*background, *added]}, source=resolved.source)
    a, b = assess_slo(quiet), assess_slo(loud)
    fault_s = sum(o["duration"] for o in added)
    lines = [f"SLO availability ≥ {slo.availability:.6g} per {format_duration(slo.window_s)} window (budget "
             f"{format_duration(budget_s(slo))}):"]
    for label, x in (("without the fault", a), ("with the fault", b)):
        w = x.infrastructure
        exact = "" if x.exact is None else f"; exact {x.exact.breach_probability:.3g}"
        lines.append(f"  P(breach) {label}: {w.breach.estimate:.3g} [{w.breach.low:.3g}, "
                     f"{w.breach.high:.3g}] ({w.breach.count} of {w.breach.n} infrastructure windows, "
                     f"Clopper–Pearson{exact})")
    burned = b.by_class.get("injected outage")
    if burned is not None:
        lines.append(f"  the fault burns {burned.mean:.3g} of the budget [{burned.ci_low:.3g}, "
                     f"{burned.ci_high:.3g}] (its path-down time on common random numbers; at most "
                     f"{fault_s / budget_s(slo):.3g} if it takes the whole path down)")
    return lines
