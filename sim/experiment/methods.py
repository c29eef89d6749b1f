"""Estimators of a replication's per-horizon metrics, chosen by name (``run(..., method=...)``).

- ``"crude"``: the full model over the whole horizon (:func:`sim.experiment.replication.run_replication`);
- ``"windows"``: the infrastructure path alone, with the customer model run only through its incident
  windows plus scaled healthy segments (:class:`sim.rare.windows.WindowEstimator`). Replication ``r``
  has the full model's infrastructure path draw for draw, so replications stay i.i.d. and two
  scenarios with the same failure laws share the path of every replication index (paired comparisons
  stay paired). Its metrics estimate the same per-horizon means without bias; ``mean_in_system``
  needs the whole run's in-system area and is not estimated (reported as null, with the reason);
- ``"rare"``: importance-sampled regenerative cycles of a Markov infrastructure
  (:class:`sim.rare.batches.RareBatches`): replication ``r`` is one fixed-size batch of cycles with
  streams keyed by ``r`` (i.i.d. replications, paired by index like the others); availability,
  outage count and recovery time are the chain's exact transient expectations. Refused, with the
  reason and what to use instead, when the infrastructure is not Markov (a failure or repair law
  that is not exponential, injected outages), when zones fail, or when traffic varies in time;
- ``"auto"``: ``rare`` when the rare-event cycles can estimate the scenario, else ``windows`` when
  the scenario has failures (or injected outages), else ``crude`` (nothing ever fails: a window run
  would be the healthy run itself).

Every estimator is a module-level function of (scenario, seed, replication, timeline) so the
executors' worker processes can run it; the result depends only on those arguments.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable

from sim.experiment.replication import ReplicationResult, run_replication
from sim.random.distributions import is_never
from sim.rare import batches
from sim.rare.batches import RareBatches, rare_problems
from sim.rare.windows import WindowEstimator
from sim.scenario.spec import Scenario
from sim.stats.summaries import DERIVED_FROM

CRUDE, WINDOWS, RARE, AUTO = "crude", "windows", "rare", "auto"
#: every name ``method=`` accepts
METHODS: tuple[str, ...] = (CRUDE, WINDOWS, RARE, AUTO)
#: metrics an estimator cannot give, with the reason (reported as null)
NOT_ESTIMATED: dict[str, dict[str, str]] = {
    WINDOWS: {"mean_in_system": "not estimated by incident windows: it needs the in-system area of the "
                                "whole run (use method crude)"},
    RARE: dict(batches.NOT_ESTIMATED),
}
#: metrics an estimator gives as exact expectations, not sampled (their interval has zero width)
EXACT: dict[str, tuple[str, ...]] = {RARE: batches.EXACT}


def is_exact(method: str, name: str) -> bool:
    """Whether estimator ``method`` gives metric ``name`` (or the per-year figure derived from it, or a
    tier's availability) as an exact expectation: its summary's ``method`` then reads "<method>+exact"."""
    exact = EXACT.get(method, ())
    tier_availability = name.startswith("availability_") and name != "availability_nines"
    derived = DERIVED_FROM.get(name) in exact
    return name in exact or derived or ("availability" in exact and tier_availability)


class MethodError(ValueError):
    """A method that is unknown, or not available for this scenario or installation."""


Estimator = Callable[[Scenario, int, int, bool], ReplicationResult]


def _crude(scenario: Scenario, seed: int, replication: int, timeline: bool) -> ReplicationResult:
    return run_replication(scenario, seed, replication, timeline=timeline)


@functools.lru_cache(maxsize=8)
def _window_estimator(scenario: Scenario) -> WindowEstimator:
    # one per scenario and process: its window lengths are derived once
    return WindowEstimator(scenario)


def _windows(scenario: Scenario, seed: int, replication: int, timeline: bool) -> ReplicationResult:
    if timeline:
        raise MethodError("method windows records no incident timeline; use method crude for plots")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    est = _window_estimator(scenario).replication(seed, replication)
    metrics = dict(est.metrics)
    for name in NOT_ESTIMATED[WINDOWS]:  # also when a replication fell back to a full run: same estimator
        if name in metrics:
            metrics[name] = math.nan
    return ReplicationResult(replication=replication, seed=seed, metrics=metrics, customers=est.customers,
                             wall_s=time.perf_counter() - wall0, cpu_s=time.process_time() - cpu0)


@functools.lru_cache(maxsize=8)
def _rare_batches(scenario: Scenario, seed: int) -> RareBatches:
    # one per scenario, seed and process: the chain, its transient and the batch size (from a pilot
    # keyed by the seed) are derived once
    return RareBatches(scenario, seed=seed)


def _rare(scenario: Scenario, seed: int, replication: int, timeline: bool) -> ReplicationResult:
    if timeline:
        raise MethodError("method rare records no incident timeline; use method crude for plots")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        est = _rare_batches(scenario, seed).replication(seed, replication)
    except ValueError as err:  # a window that never settles (a metastable retry storm)
        raise MethodError(f"method rare: {err}") from None
    return ReplicationResult(replication=replication, seed=seed, metrics=dict(est.metrics),
                             customers=est.customers, wall_s=time.perf_counter() - wall0,
                             cpu_s=time.process_time() - cpu0)


#: method name → the estimator of one replication
ESTIMATORS: dict[str, Estimator] = {CRUDE: _crude, WINDOWS: _windows, RARE: _rare}


def replicate(method: str, scenario: Scenario, seed: int, replication: int,
              timeline: bool = False) -> ReplicationResult:
    """Replication ``replication`` of ``scenario`` by estimator ``method`` (a resolved name, not auto)."""
    try:
        estimator = ESTIMATORS[method]
    except KeyError:
        raise MethodError(unavailable(method)) from None
    return estimator(scenario, seed, replication, timeline)


def has_failures(scenario: Scenario) -> bool:
    """Whether anything in the scenario's infrastructure can go down (a failure law or an outage)."""
    return bool(scenario.outages) or any(not is_never(t.mtbf) for t in scenario.tiers) \
        or any(not is_never(z.mtbf) for z in scenario.zones)


def unavailable(method: str, scenario: Scenario | None = None) -> str:
    """Why ``method`` cannot run here, or for ``scenario`` (one line, naming what to use instead)."""
    if method == RARE:
        problems = rare_problems(scenario) if scenario is not None else []
        if problems:
            instead = "windows" if has_failures(scenario) else "crude"  # type: ignore[arg-type]
            return (f"method rare: needs a Markov infrastructure with steady traffic, but "
                    f"{'; '.join(problems)}; use method {instead} (or auto)")
    return f"unknown method {method!r}; allowed: {', '.join(METHODS)}"


def resolve_method(method: str, scenario: Scenario) -> str:
    """The estimator that runs for ``method``: ``auto`` decided for ``scenario``; an unknown or
    unavailable method refused (:class:`MethodError`, a one-line reason)."""
    if scenario.traffic.closed and method not in (CRUDE, AUTO) and method in ESTIMATORS:
        # the other estimators count healthy time's customers from the arrival rate, which a closed
        # population does not have (its rate depends on the response time)
        raise MethodError(f"method {method}: needs open arrivals; a closed population (traffic.model = "
                          '"closed") runs with method crude (or auto)')
    if method == AUTO and scenario.traffic.closed:
        return CRUDE
    if method == AUTO:
        if not rare_problems(scenario):
            return RARE
        return WINDOWS if has_failures(scenario) else CRUDE
    if method == RARE and rare_problems(scenario):
        raise MethodError(unavailable(RARE, scenario))
    if method not in ESTIMATORS:
        raise MethodError(unavailable(method))
    return method
