"""``--method`` (the estimator of every replication) and the precision options as one request, shared by
``sim run``, ``compare`` and ``sweep``."""

from __future__ import annotations

from collections.abc import Callable

import click

from sim.cli.options import InputError, parse_max_time, parse_precision
from sim.experiment.methods import CRUDE, METHODS, MethodError, resolve_method
from sim.experiment.precision import DEFAULT_TARGETS, DERIVED
from sim.scenario.errors import quoted
from sim.scenario.spec import Scenario
from sim.stats.metrics import METRICS

METHOD_HELP = ("Estimator of each replication: crude (the full model, default), windows (the infrastructure "
               "alone, customers simulated only through incident windows: same per-horizon means, far "
               "fewer customers), rare (importance-sampled regenerative cycles, when installed) or auto "
               "(rare for a Markov infrastructure when available, else windows when anything can fail).")


def method_option(fn: Callable) -> Callable:
    """--method crude|windows|rare|auto (default crude)."""
    return click.option("--method", type=click.Choice(METHODS), default=CRUDE, show_default=True,
                        help=METHOD_HELP)(fn)


def checked_method(method: str, scenario: Scenario) -> str:
    """The estimator ``method`` resolves to for ``scenario``; one line naming --method (exit 2) when
    it is not available."""
    try:
        return resolve_method(method, scenario)
    except MethodError as err:
        raise InputError(f"--method {method}: {str(err).removeprefix(f'method {method}: ')}") from None


def precision_request(precision: str | None, max_time: str | None, targets: tuple[str, ...],
                      replications: int | None) -> dict:
    """The keyword arguments of a precision-driven :func:`run` (empty without --precision); with
    --precision, --replications is the first batch (the minimum), so it must be at least 2."""
    if precision is None:
        for flag, given in (("--max-time", max_time is not None), ("--target", bool(targets))):
            if given:
                raise InputError(f"{flag}: applies only to a precision-driven run; add --precision, e.g. 5%")
        return {}
    allowed = [*METRICS, *DERIVED]
    for name in targets:
        if name not in allowed:
            raise InputError(f"--target {quoted(name)}: unknown metric; allowed: {', '.join(allowed)}")
    if replications is not None and replications < 2:
        raise InputError(f"--replications {replications}: with --precision it is the first batch and needs "
                         "at least 2 replications")
    return {"precision": parse_precision(precision),
            "max_time": None if max_time is None else parse_max_time(max_time),
            "targets": tuple(dict.fromkeys(targets)) or DEFAULT_TARGETS}
