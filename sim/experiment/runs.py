"""Experiments: independent replications of one scenario, run by an executor and summarised."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sim import __version__
from sim.experiment.blanks import blanks
from sim.experiment.executors import ProcessExecutor, SerialExecutor, Task, available_cores
from sim.experiment.methods import (
    AUTO,
    CRUDE,
    NOT_ESTIMATED,
    RARE,
    WINDOWS,
    MethodError,
    is_exact,
    resolve_method,
)
from sim.experiment.precision import (
    DEFAULT_MAX_LOOKS,
    PrecisionOutcome,
    check_target_names,
    default_targets,
    random_failures,
    replication_draws,
    run_to_precision,
)
from sim.experiment.replication import ReplicationResult
from sim.experiment.uncertainty import check_uncertainty, decomposition, drawn_scenario
from sim.fit.uncertainty import ParameterUncertainty
from sim.scenario.convert import scenario_to_dict
from sim.scenario.spec import Scenario
from sim.scenario.workload import check_workload
from sim.stats.intervals import Summary
from sim.stats.metrics import METRICS
from sim.stats.summaries import fixed, per_year, summarize_metric, summarize_metrics


@dataclass(frozen=True)
class RunResult:
    """Independent replications of one scenario, summarised with 95% confidence intervals."""

    scenario: Scenario
    seed: int
    replications: int
    metrics: dict[str, Summary]
    per_replication: tuple[dict[str, float], ...]
    wall_s: float
    customers: int
    cpu_s: float
    version: str = __version__
    workers: int = 1
    extra: dict = field(default_factory=dict)
    #: every replication's incident timeline, in replication order (``run(..., timelines=True)``);
    #: not part of :meth:`to_dict`
    timelines: tuple[dict, ...] | None = field(default=None, repr=False, compare=False)
    #: how a precision-driven run (``run(..., precision=...)``) ended; None for a fixed-size run
    precision: PrecisionOutcome | None = None
    #: which estimator ran (:mod:`sim.experiment.methods`): "crude" (the full model, plain Monte
    #: Carlo) or "windows" (incident windows); every metric's ``method`` then reads e.g. "windows+t"
    method: str = CRUDE

    def __post_init__(self) -> None:
        """Adds what needs the scenario: the per-year figures (the horizon's rate over 365 days) and,
        when no checkout was ever lost, lost revenue's bound in the scenario's order value."""
        revenue = self.metrics.get("lost_revenue")
        if revenue is not None and revenue.method == "zero-upper" and math.isinf(revenue.ci_high):
            self.metrics["lost_revenue"] = summarize_metric(
                "lost_revenue", self.per_replication, order_value=self.scenario.costs.order_value)
        self.metrics.update(per_year(self.metrics, self.scenario.horizon_s - self.scenario.warmup_s))
        if not random_failures(self.scenario):  # the path's state is the injected outages' alone
            self.metrics.update(fixed(self.metrics, self.per_replication))
        if self.method != CRUDE:  # crude keeps the bare interval names ("t", "ratio", ...)
            for name, s in self.metrics.items():
                if not s.method.startswith(f"{self.method}+"):
                    if is_exact(self.method, name):  # not sampled: every replication has the same value
                        self.metrics[name] = dataclasses.replace(
                            s, std=0.0, ci_low=s.mean, ci_high=s.mean, method=f"{self.method}+exact")
                    else:
                        self.metrics[name] = dataclasses.replace(s, method=f"{self.method}+{s.method}")

    def not_estimated(self) -> dict[str, str]:
        """Metrics this run's estimator cannot give (reported as null), with the reason."""
        return {name: why for name, why in NOT_ESTIMATED.get(self.method, {}).items() if name in self.metrics}

    @property
    def precision_met(self) -> bool | None:
        """Whether the precision target was met; None for a run without one (set through ``precision``)."""
        return None if self.precision is None else self.precision.met

    @property
    def customers_per_s(self) -> float:
        return self.customers / self.wall_s if self.wall_s > 0 else math.nan

    def stored_metrics(self) -> dict[str, dict]:
        """Every summary as the JSON stores it; a null one carries its ``reason``
        (:mod:`sim.experiment.blanks`: not estimated by this estimator, or nothing to measure)."""
        stored = {name: s.to_dict() for name, s in self.metrics.items()}
        for name, b in blanks(self.method, stored, self.replications).items():
            stored[name]["reason"] = b.reason
        return stored

    def to_dict(self) -> dict:
        """The JSON form written by ``sim run --json``."""
        return {
            "scenario": scenario_to_dict(self.scenario),
            "seed": self.seed,
            "replications": self.replications,
            "version": self.version,
            "method": self.method,
            "metrics": self.stored_metrics(),
            "per_replication": [dict(r) for r in self.per_replication],
            "runtime": {
                "wall_s": self.wall_s,
                "cpu_s": self.cpu_s,
                "customers": self.customers,
                "customers_per_s": self.customers_per_s,
                "workers": self.workers,
            },
            # a fixed-size run has no precision target: null
            "precision_met": None if self.precision is None else self.precision.met,
            "precision": None if self.precision is None else self.precision.to_dict(),
            **({"parameter_uncertainty": self.extra["parameter_uncertainty"]}
               if "parameter_uncertainty" in self.extra else {}),
            **({"fallback": self.extra["fallback"]} if "fallback" in self.extra else {}),
        }


def summarize_replications(results: Sequence[ReplicationResult]) -> dict[str, Summary]:
    """Mean and 95% CI of every metric over the replications, each by the estimator that suits it
    (pooled ratios for per-incident means, one-sided bounds when nothing was observed: see
    :mod:`sim.stats.summaries`)."""
    return summarize_metrics([r.metrics for r in results])


#: ``progress(done, total)``: called after each finished replication (and once with 0 at the start)
Progress = Callable[[int, int], None]


def run(
    scenario: Scenario, replications: int | None = None, seed: int | None = None, workers: int | None = None,
    *, progress: Progress | None = None, timelines: bool = False, precision: float | None = None,
    max_time: float | None = None, targets: Sequence[str] | None = None, max_looks: int = DEFAULT_MAX_LOOKS,
    method: str = CRUDE, parameter_uncertainty: ParameterUncertainty | None = None,
    fallback: str | None = None,
) -> RunResult:
    """Run independent replications (in parallel processes) and summarise them.

    Results depend only on the scenario, the seed and the number of replications, never on
    the number of workers. ``progress(done, total)`` is called as replications finish (in the
    calling process). With ``timelines=True`` every replication also records its incident
    timeline (the same simulation, so the metrics are identical; tens of kB per
    replication), available as ``RunResult.timelines``. Ctrl-C (KeyboardInterrupt) stops the
    worker processes at once and propagates.

    With ``precision`` (a fraction, e.g. 0.05) the run is precision-driven
    (:mod:`sim.experiment.precision`): replications in batches of ``replications · 2^k`` (the
    first look, default the scenario's) until the 95% interval of every metric in ``targets``
    (default ``lost_checkouts`` and ``unavailability``, less those the scenario cannot move:
    :func:`sim.experiment.precision.default_targets`) has a relative half-width of at most
    ``precision``, ``max_time`` seconds of wall clock are spent, or ``max_looks`` looks are taken;
    ``RunResult.precision`` says what was achieved. Its metrics equal a fixed-size run of the
    final number of replications.

    ``method`` chooses the estimator of each replication (:mod:`sim.experiment.methods`):
    "crude" (default: the full model), "windows" (the infrastructure path alone and the customer
    model only through its incident windows: far fewer customers, same per-horizon means), "rare"
    (importance-sampled regenerative cycles, when that estimator is available) or "auto" (rare for a
    Markov infrastructure when available, else windows when the scenario has failures, else crude).
    An unknown or unavailable method raises :class:`sim.experiment.methods.MethodError` (a
    ValueError). Replication ``r`` is the same whether run serially or in parallel, by either path.

    With ``parameter_uncertainty`` (:func:`sim.fit.read_uncertainty` of a FIT.json) every replication
    simulates the fitted laws drawn from their sampling distributions (:mod:`sim.experiment.uncertainty`),
    so the intervals cover parameter uncertainty too; the same replications run again without draws and
    ``RunResult.extra["parameter_uncertainty"]`` gives each source's share. Fixed-size runs only.

    ``fallback`` names the estimator that runs the whole experiment again when ``method`` cannot
    estimate one of its replications (a rare-event incident window that never settles: a metastable
    retry storm); ``method="auto"`` falls back from rare to windows by itself. The whole run switches,
    never a replication alone: which replications fail depends on their outcome, so mixing estimators
    by outcome would bias the mean. ``RunResult.extra["fallback"]`` (and the JSON) says what happened
    and why; a time limit counts the failed attempt's time.
    """
    asked, chosen = method, resolve_method(method, scenario)
    if fallback is None and asked == AUTO and chosen == RARE:
        fallback = WINDOWS
    kwargs = {"progress": progress, "timelines": timelines, "precision": precision, "max_time": max_time,
              "targets": targets, "max_looks": max_looks, "parameter_uncertainty": parameter_uncertainty}
    wall0 = time.perf_counter()
    try:
        return _run(scenario, replications, seed, workers, method=chosen, **kwargs)
    except MethodError as err:
        if fallback is None or resolve_method(fallback, scenario) == chosen:
            raise
        if max_time is not None:  # the limit is the whole command's: the failed attempt counts
            kwargs["max_time"] = max(1.0, max_time - (time.perf_counter() - wall0))
        result = _run(scenario, replications, seed, workers, method=fallback, **kwargs)
        result.extra["fallback"] = {"from": chosen, "to": result.method, "reason": str(err)}
        if result.precision is not None and max_time is not None:  # the limit as asked, not what was left
            result = dataclasses.replace(result, precision=dataclasses.replace(result.precision,
                                                                               max_time_s=max_time))
        return result


def _run(
    scenario: Scenario, replications: int | None = None, seed: int | None = None, workers: int | None = None,
    *, progress: Progress | None = None, timelines: bool = False, precision: float | None = None,
    max_time: float | None = None, targets: Sequence[str] | None = None, max_looks: int = DEFAULT_MAX_LOOKS,
    method: str = CRUDE, parameter_uncertainty: ParameterUncertainty | None = None,
) -> RunResult:
    """One attempt of :func:`run` with one estimator."""
    method = resolve_method(method, scenario)
    if method == CRUDE:
        check_workload(scenario)  # refuses (WorkloadError) a run that would take too many events
    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    if parameter_uncertainty is not None:
        if precision is not None:
            raise ValueError("parameter uncertainty needs a fixed number of replications: no precision")
        check_uncertainty(scenario, parameter_uncertainty)
        drawn = _fixed(scenario, replications, seed, workers, progress, timelines, method,
                       lambda r: drawn_scenario(scenario, parameter_uncertainty, seed, r))
        plain = _fixed(scenario, replications, seed, workers, None, False, method)
        drawn.extra["parameter_uncertainty"] = decomposition(drawn.per_replication, plain.per_replication,
                                                             parameter_uncertainty)
        return drawn
    if precision is None:
        if max_time is not None or targets is not None:
            raise ValueError("max_time and targets apply to a precision-driven run: give precision as well")
        return _fixed(scenario, replications, seed, workers, progress, timelines, method)
    dropped: dict[str, str] = {}
    if targets is None:
        targets, dropped = default_targets(scenario)
    targets = tuple(targets)
    check_target_names(targets, list(METRICS))
    wall0 = time.perf_counter()
    used = max(1, available_cores() if workers is None else workers)
    with SerialExecutor() if used == 1 else ProcessExecutor(used) as executor:
        results, outcome = run_to_precision(
            replication_draws(scenario, seed, executor, timelines, method), precision, targets=targets,
            first=replications, max_looks=max_looks, max_time=max_time,
            metrics_of=lambda r: r.metrics, progress=progress)
    outcome = dataclasses.replace(outcome, dropped=tuple(dropped.items()))
    return _result(scenario, seed, results, time.perf_counter() - wall0, used, timelines, outcome, method)


def _fixed(scenario: Scenario, replications: int, seed: int, workers: int | None, progress: Progress | None,
           timelines: bool, method: str, scenario_for: Callable[[int], Scenario] | None = None) -> RunResult:
    """The fixed-size run: replications 0..replications−1 (of ``scenario_for(r)`` when given)."""
    wall0 = time.perf_counter()
    used = max(1, min(available_cores() if workers is None else workers, replications))
    tasks = [Task(i, scenario if scenario_for is None else scenario_for(i), seed, i, timeline=timelines,
                  method=method) for i in range(replications)]
    by_index: dict[int, ReplicationResult] = {}
    if progress is not None:
        progress(0, replications)
    with SerialExecutor() if used == 1 else ProcessExecutor(used) as executor:
        for key, result in executor.run(tasks):
            by_index[key] = result
            if progress is not None:
                progress(len(by_index), replications)
    results = [by_index[i] for i in range(replications)]
    return _result(scenario, seed, results, time.perf_counter() - wall0, used, timelines, None, method)


def _result(scenario: Scenario, seed: int, results: Sequence[ReplicationResult], wall: float, used: int,
            timelines: bool, outcome: PrecisionOutcome | None, method: str) -> RunResult:
    return RunResult(
        scenario=scenario,
        seed=seed,
        replications=len(results),
        metrics=summarize_replications(results),
        per_replication=tuple({"replication": r.replication, **r.metrics} for r in results),
        wall_s=wall,
        customers=sum(r.customers for r in results),
        cpu_s=sum(r.cpu_s for r in results),
        workers=used,
        timelines=tuple(r.timeline for r in results) if timelines else None,
        precision=outcome,
        method=method,
    )
