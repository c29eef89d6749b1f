"""What a missing value means, in words: the one place that decides how every presenter (terminal
tables, reports, figures, the JSON's ``reason``) writes a metric that has no number.

A metric is null for one of three reasons, and each is said differently, so that a blank never
claims more than the estimator saw:

- the estimator that ran does not estimate it: "not estimated by rare", with the estimator's
  reason (:data:`sim.experiment.methods.NOT_ESTIMATED`);
- the estimator measured it and there was nothing to measure: "no outage" (no path outage in any
  replication, so no recovery time), "no incident", "no deferred checkout", "no completed checkout",
  "no checkout attempted" — said only when the count behind it is stored and is zero;
- anything else (the count is not stored, or the scenario lacks the metric): "no value" or
  "not in this scenario", never a claim about incidents.

Presenters pass what they have: the metric's name, the estimator that ran and the run's stored
summaries (``RunResult.to_dict()["metrics"]``: name → ``{"mean": ..., "n": ..., ...}``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sim.experiment.methods import CRUDE, NOT_ESTIMATED
from sim.stats.summaries import DERIVED_FROM

NOT_ESTIMATED_BY = "not estimated by"


@dataclass(frozen=True)
class Blank:
    """Why a metric has no value: ``words`` for a table cell or a bar, ``reason`` (one sentence) for
    notes and the JSON."""

    words: str
    reason: str

    @property
    def not_estimated(self) -> bool:
        return self.words.startswith(NOT_ESTIMATED_BY)


#: a ratio or mean that needs something to have happened: metric → (the count behind it, the words
#: when that count is zero in every replication, what did not happen)
_NEEDS: dict[str, tuple[str, str, str]] = {
    "mean_recovery_time_s": ("outages_recovered", "no outage",
                             "no path outage began and ended in the measured window"),
    "mean_service_recovery_time_s": ("service_recovery_count", "no incident",
                                     "no service incident (1-minute success rate of attempts below 99%) "
                                     "began and ended in the measured window"),
    "mean_extra_delay_s": ("deferred_checkouts", "no deferred checkout",
                           "no checkout completed after a failed attempt"),
    "lost_fraction": ("attempted_checkouts", "no checkout attempted", "no customer started a checkout"),
    "retry_load_factor": ("attempted_checkouts", "no checkout attempted", "no customer started a checkout"),
    **{f"latency_{q}_s": ("completed_checkouts", "no completed checkout", "no checkout completed")
       for q in ("p50", "p95", "p99", "mean")},
}


def is_null(summary: Mapping | None) -> bool:
    """Whether a stored summary has no mean (absent, null or NaN)."""
    if not summary:
        return True
    mean = summary.get("mean")
    return mean is None or (isinstance(mean, float) and math.isnan(mean))


def stored_method(result: Mapping) -> str:
    """The estimator of a stored ``sim run --json`` result (results stored before there was a choice:
    crude)."""
    return str(result.get("method") or CRUDE)


def _needed(metric: str) -> tuple[str, str, str] | None:
    if metric.startswith("calls_per_checkout_"):
        return _NEEDS["retry_load_factor"]
    return _NEEDS.get(metric)


def _zero(summary: Mapping | None) -> bool:
    """A stored count that is zero in every replication (its mean is 0)."""
    return not is_null(summary) and float(summary["mean"]) == 0.0  # type: ignore[index]


def blank(metric: str, method: str, metrics: Mapping[str, Mapping | None],
          replications: int | None = None) -> Blank | None:
    """Why ``metric`` has no value in a run by estimator ``method`` whose stored summaries are
    ``metrics`` (None when it has a value). ``replications``, when given, is named in the reason."""
    summary = metrics.get(metric)
    if not is_null(summary):
        return None
    why = NOT_ESTIMATED.get(method, {}).get(metric)
    if why is not None:
        return Blank(f"{NOT_ESTIMATED_BY} {method}", why)
    if metric in DERIVED_FROM:
        base = blank(DERIVED_FROM[metric], method, metrics, replications)
        if base is not None:
            return base
    if summary is None and metric not in metrics:
        return Blank("not in this scenario", "the scenario has no such metric")
    needed = _needed(metric)
    if needed is not None and _zero(metrics.get(needed[0])):
        count, words, what = needed
        if count == "outages_recovered" and not _zero(metrics.get("outage_count")) \
                and not is_null(metrics.get("outage_count")):
            return Blank("outage unfinished", "path outages began in the measured window but none ended "
                         "before the run stopped: no recovery time to measure")
        where = f"any of the {replications} replications" if replications else "any replication"
        return Blank(words, f"{what} of {where}")
    return Blank("no value", "no replication gave a value")


def blanks(method: str, metrics: Mapping[str, Mapping | None], replications: int | None = None,
           names: Iterable[str] | None = None) -> dict[str, Blank]:
    """:func:`blank` of every metric (of ``names``, default all of ``metrics``) that has no value."""
    out = {}
    for name in metrics if names is None else names:
        b = blank(name, method, metrics, replications)
        if b is not None:
            out[name] = b
    return out


def reason_lines(found: Mapping[str, Blank], prefix: str = "blank: ") -> list[str]:
    """One line per distinct reason, naming its metrics: "blank: latency_p95_s, latency_p99_s: not
    estimated by rare-event cycles: ..."."""
    by_reason: dict[str, list[str]] = {}
    for name, b in found.items():
        by_reason.setdefault(b.reason, []).append(name)
    return [f"{prefix}{', '.join(names)}: {why}" for why, names in by_reason.items()]
