"""``--method`` (the estimator of every replication) and the precision options as one request, shared by
``sim run``, ``compare`` and ``sweep``.

The defaults, the same for the three commands:

- no ``--replications``, no ``--precision``: a precision-driven run (±10% on ``lost_checkouts`` and
  the unavailability, at most 60 s of wall clock, first look the scenario's ``replications``) by
  the estimator ``auto`` picks;
- ``--replications R`` alone, or ``--precision off``: a fixed-size run, by default with the full
  model (crude), as before precision targets existed;
- ``--precision P``: precision-driven at P, ``--replications R`` (if given) the first look.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import click

from sim.cli.options import InputError, parse_max_time, parse_precision
from sim.experiment.methods import (
    AUTO,
    CRUDE,
    METHODS,
    RARE,
    WINDOWS,
    MethodError,
    has_failures,
    resolve_method,
)
from sim.experiment.precision import DEFAULT_TARGETS, DERIVED, default_targets, percent
from sim.scenario.errors import quoted
from sim.scenario.spec import Scenario
from sim.stats.metrics import METRICS

#: the precision target and wall-clock limit of a run given neither --replications nor --precision
DEFAULT_PRECISION = 0.10
DEFAULT_MAX_TIME_S = 60.0
OFF = "off"

METHOD_HELP = ("Estimator of each replication: crude (the full model), windows (the infrastructure alone, "
               "customers simulated only through incident windows: same per-horizon means, far fewer "
               "customers), rare (importance-sampled regenerative cycles of a Markov infrastructure) or "
               "auto (rare when the infrastructure is a Markov chain, else windows when anything can "
               "fail, else crude). Default: auto for a precision-driven run, crude for a fixed-size one.")


def method_option(fn: Callable) -> Callable:
    """--method crude|windows|rare|auto (default: auto when precision-driven, crude when fixed-size)."""
    return click.option("--method", type=click.Choice(METHODS), default=None, help=METHOD_HELP)(fn)


@dataclass(frozen=True)
class RunRequest:
    """What the options ask for: the estimator (as asked, ``auto`` included) and, for a
    precision-driven run, the keyword arguments of :func:`sim.run` (empty for a fixed-size run)."""

    method: str
    precision: dict = field(default_factory=dict)
    default: bool = False  # the precision target is the default one (no --precision given)
    default_targets: bool = False  # no --target given: the default targets the scenario can move

    @property
    def driven(self) -> bool:
        return bool(self.precision)

    def run_precision(self) -> dict:
        """The keyword arguments of :func:`sim.run`: ``targets`` None when no --target was given, so
        the run keeps only the default targets the scenario can move."""
        return {**self.precision, "targets": None} if self.default_targets else dict(self.precision)

    def targets(self, scenario: Scenario | None = None) -> tuple[tuple[str, ...], dict[str, str]]:
        """The targets a run of ``scenario`` aims at, and the default ones it drops with why."""
        if self.default_targets and scenario is not None:
            return default_targets(scenario)
        return tuple(self.precision["targets"]), {}

    def describe(self, scenario: Scenario | None = None) -> str:
        """``until lost_checkouts and unavailability are ±10% (95% CI) or 60 s`` (precision-driven only);
        with ``scenario``, only the default targets it can move."""
        p = self.precision
        targets, _ = self.targets(scenario)
        limit = f" or {p['max_time']:g} s of wall clock" if p.get("max_time") else ""
        return (f"until {' and '.join(targets)} {'is' if len(targets) == 1 else 'are'} "
                f"±{percent(p['precision'])} (95% CI){limit}"
                + (" (the default; --replications R or --precision off: a fixed-size run)" if self.default
                   else ""))

    def dropped_lines(self, scenario: Scenario) -> list[str]:
        """One line per default target left out for ``scenario``, saying why."""
        return [f"  no {name} target: {why}" for name, why in self.targets(scenario)[1].items()]


def run_request(precision: str | None, max_time: str | None, targets: tuple[str, ...],
                replications: int | None, method: str | None) -> RunRequest:
    """Read --precision/--max-time/--target/--replications/--method (see the module docstring); one
    line naming the flag (exit 2) for a combination that means nothing."""
    fixed_by = ("--precision off" if precision is not None and precision.strip().lower() == OFF
                else "--replications" if precision is None and replications is not None else None)
    if fixed_by:
        for flag, given in (("--max-time", max_time is not None), ("--target", bool(targets))):
            if given:
                raise InputError(f"{flag}: applies only to a precision-driven run, and {fixed_by} makes a "
                                 "fixed-size one; " + ("drop --precision off" if fixed_by != "--replications"
                                                       else "add --precision P (then --replications R is "
                                                            "the first look)"))
        return RunRequest(CRUDE if method is None else method)
    allowed = [*METRICS, *DERIVED]
    for name in targets:
        if name not in allowed:
            raise InputError(f"--target {quoted(name)}: unknown metric; allowed: {', '.join(allowed)}")
    if replications is not None and replications < 2:
        raise InputError(f"--replications {replications}: with --precision it is the first look and needs "
                         "at least 2 replications")
    default = precision is None
    limit = (DEFAULT_MAX_TIME_S if default else None) if max_time is None else parse_max_time(max_time)
    return RunRequest(AUTO if method is None else method,
                      {"precision": DEFAULT_PRECISION if default else parse_precision(precision),
                       "max_time": limit, "targets": tuple(dict.fromkeys(targets)) or DEFAULT_TARGETS},
                      default, default_targets=not targets)


def checked_method(method: str, scenario: Scenario) -> str:
    """The estimator ``method`` resolves to for ``scenario``; one line naming --method (exit 2) when
    it is not available."""
    try:
        return resolve_method(method, scenario)
    except MethodError as err:
        raise InputError(f"--method {method}: {str(err).removeprefix(f'method {method}: ')}") from None


def why_chosen(asked: str, chosen: str, scenario: Scenario) -> str:
    """Why ``asked`` ran as ``chosen`` for ``scenario``, for people (``auto``: what decided it)."""
    if asked != AUTO:
        return "as asked (--method)" if asked != CRUDE else "the full model"
    if chosen == RARE:
        return ("auto: the infrastructure is a Markov chain (exponential failure and repair laws, no "
                "injected outages), so outages are estimated by importance-sampled cycles")
    if chosen == WINDOWS:
        try:
            resolve_method(RARE, scenario)
        except MethodError as err:  # why rare cannot run here, in the estimator's own words
            reason = str(err).removeprefix("method rare: ").split("; use method")[0]
            return f"auto: incident windows; the rare-event method {reason}"
        return "auto: incident windows"
    if not has_failures(scenario):
        return "auto: nothing in the scenario can fail, so the full model"
    return "auto: the full model"


def common_method(asked: str, scenarios: list[Scenario]) -> tuple[str, str]:
    """One estimator for every scenario of a comparison or sweep, and why: an explicit method must
    suit each; ``auto`` takes the most general one any scenario needs (crude over windows over rare),
    so every difference compares like with like."""
    chosen = [checked_method(asked, s) for s in scenarios]
    if asked != AUTO or len(set(chosen)) == 1:
        return chosen[0], why_chosen(asked, chosen[0], scenarios[0])
    order = (CRUDE, WINDOWS, RARE)
    general = min(chosen, key=order.index)
    i = chosen.index(general)
    why = why_chosen(asked, general, scenarios[i])
    return general, f"{why} (for {scenarios[i].name}; one method for all)"
