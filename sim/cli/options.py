"""Options and error handling shared by the ``sim`` commands (defined once)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import click

from sim.scenario import ScenarioError


class InputError(click.ClickException):
    """Bad input from the user: a one-line message, exit code 2, no traceback."""

    exit_code = 2


def reports_input_errors(fn: Callable) -> Callable:
    """Turn the library's input errors into :class:`InputError`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ScenarioError as err:
            raise InputError(str(err)) from None

    return wrapper


def scenario_overrides(fn: Callable) -> Callable:
    """--set KEY=VALUE (repeatable) and --redundancy N."""
    fn = click.option(
        "--set", "overrides", multiple=True, metavar="KEY=VALUE",
        help="Override any scenario key by its dotted path, e.g. --set tiers.payment.mttr=45m "
             "(repeatable; validated like the file).",
    )(fn)
    fn = click.option(
        "--redundancy", type=click.IntRange(min=1), default=None, metavar="N",
        help="Set the replicas of every tier on the path to N.",
    )(fn)
    return fn


def replication_options(fn: Callable) -> Callable:
    """--replications, --horizon, --seed, --workers."""
    fn = click.option("--workers", type=click.IntRange(min=1), default=None, metavar="W",
                      help="Worker processes (default: all cores). Results do not depend on it.")(fn)
    fn = click.option("--seed", type=click.IntRange(min=0), default=None, metavar="S",
                      help="Root seed (default: the scenario's).")(fn)
    fn = click.option("--horizon", default=None, metavar="H",
                      help="Simulated time per replication, e.g. 6h (default: the scenario's).")(fn)
    fn = click.option("--replications", type=click.IntRange(min=2), default=None, metavar="R",
                      help="Independent replications (default: the scenario's).")(fn)
    return fn


def collect_overrides(overrides: tuple[str, ...], replications: int | None, horizon: str | None,
                      seed: int | None) -> list[str]:
    """Fold the shortcut options into --set overrides so they are validated like the file."""
    extra = []
    if replications is not None:
        extra.append(f"scenario.replications={replications}")
    if horizon is not None:
        extra.append(f"scenario.horizon={horizon}")
    if seed is not None:
        extra.append(f"scenario.seed={seed}")
    for item in overrides:
        if "=" not in item:
            raise InputError(f"--set {item!r}: expected KEY=VALUE, e.g. --set tiers.payment.mttr=45m")
    return [*overrides, *extra]
