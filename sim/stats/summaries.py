"""Every metric of an experiment summarised over its replications, each by the estimator that suits it.

* Most metrics: the mean over replications with a Student-t interval (``method`` "t"), cut at the
  values the metric can take (:func:`sim.stats.metrics.metric_bounds`).
* Per-incident means (``mean_recovery_time_s``, ``mean_service_recovery_time_s``): the pooled ratio
  Σ(total time)/Σ(incidents) over replications, with a delta-method interval ("ratio"). Averaging
  per-replication means over the replications that happened to have an incident weights a
  replication with one short outage like one with five long ones; the ratio of sums weights every
  incident equally and is consistent for the mean length of an incident.
* Nothing observed in any replication — the interval is not [0, 0] (certainty from ignorance) but
  a one-sided 95% bound:

  - incident counts (``outage_count`` and the incident counts behind the ratios): incidents start
    from independent failures, so their total over n replications is taken as Poisson; 0 events in
    n horizons gives the exact Garwood bound −ln(0.05)/n ≈ 3.0/n per horizon ("poisson-upper");
  - customer counts and fractions (``lost_checkouts``, ``deferred_checkouts``, ``lost_revenue``,
    ``lost_fraction``, the unavailability 1 − A): customers are hit in bursts (one outage loses many),
    so a Poisson bound on customers would be too optimistic. What is exact without a model: the
    probability that a horizon has any such event is below 1 − 0.05^(1/n) (≈ 3/n, Clopper–Pearson),
    and a quantity in [0, 1] has a mean at most that probability. So lost_fraction and 1 − A are
    bounded by 1 − 0.05^(1/n), and a count by that times the most customers a horizon had
    (the largest ``attempted_checkouts`` observed, which varies little between replications);
    lost revenue by that times the order value, or unbounded (inf) when the order value is not
    known ("zero-upper"). Wide, but true: n quiet horizons cannot rule out a rarer, bigger incident.
* An incident count equal to k > 0 in every replication (zero spread, e.g. an injected outage that
  may or may not overlap a random one) is not certain either: Garwood's exact two-sided interval
  of the total nk, divided by n ("poisson").
* Per-year figures are the horizon's rate extrapolated to 365 days: value × 365 d / (measured window),
  which assumes the horizon is representative of a year (e.g. a daily profile that repeats);
  availability in nines, −log10(1 − A), maps A's interval end by end (monotone), with an upper end of
  ∞ when A's interval reaches 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from sim.stats.intervals import (
    CONFIDENCE,
    Summary,
    critical_t,
    poisson_interval,
    poisson_upper_bound,
    ratio_interval,
    summarize,
    zero_fraction_upper,
)
from sim.stats.metrics import metric_bounds

YEAR_S = 365.0 * 86400.0
MINUTES_PER_YEAR = YEAR_S / 60.0
#: counts of incidents (independent starts): Poisson rules
INCIDENT_COUNTS = frozenset({"outage_count", "outages_recovered", "service_recovery_count"})
#: counts of customers (hit in bursts): bounded through the share of horizons with any
CUSTOMER_COUNTS = frozenset({"lost_checkouts", "deferred_checkouts"})
#: per-incident means as ratios of per-replication sums: name → (numerator, denominator)
RATIOS: dict[str, tuple[str, str]] = {
    "mean_recovery_time_s": ("outage_time_total_s", "outages_recovered"),
    "mean_service_recovery_time_s": ("service_recovery_total_s", "service_recovery_count"),
}
#: per-year figures derived from the per-horizon summaries, in table order
PER_YEAR: tuple[str, ...] = (
    "lost_checkouts_per_year", "downtime_minutes_per_year", "availability_nines", "outages_per_year",
)
PER_YEAR_MEANING: dict[str, str] = {
    "lost_checkouts_per_year": "lost checkouts × 365 d / measured window (the horizon's rate, extrapolated)",
    "downtime_minutes_per_year": "(1 − availability) × minutes in 365 d: path downtime per year",
    "availability_nines": "−log10(1 − availability); its interval maps availability's, ∞ when that reaches 1",
    "outages_per_year": "path outages × 365 d / measured window (the horizon's rate, extrapolated)",
}


def is_availability(name: str) -> bool:
    return name == "availability" or (name.startswith("availability_") and name != "availability_nines")


def _values(rows: Sequence[Mapping[str, float]], name: str) -> list[float]:
    return [float(r.get(name, math.nan)) for r in rows]


def _largest(rows: Sequence[Mapping[str, float]], name: str) -> float:
    seen = [v for v in _values(rows, name) if not math.isnan(v)]
    return max(seen) if seen else math.inf


def summarize_metric(
    name: str, rows: Sequence[Mapping[str, float]], confidence: float = CONFIDENCE,
    order_value: float | None = None,
) -> Summary:
    """The summary of metric ``name`` over the replications ``rows`` (per-replication metric dicts),
    by the rule of the module docstring."""
    if name in RATIOS and all(c in r for r in rows for c in RATIOS[name]):
        return summarize_ratio(_values(rows, RATIOS[name][0]), _values(rows, RATIOS[name][1]), confidence)
    values = _values(rows, name)
    base = summarize(values, confidence, bounds=metric_bounds(name))
    complement = is_availability(name)
    if complement:
        base = _with(base, complement=True)
    if base.n < 2:
        return base
    n = base.n
    observed = [v for v in values if not math.isnan(v)]
    if complement and all(v == 1.0 for v in observed):
        return _with(base, ci_low=1.0 - zero_fraction_upper(n, confidence), ci_high=1.0, method="zero-upper")
    if any(v != 0.0 for v in observed):
        if name in INCIDENT_COUNTS and base.std == 0.0 and float(base.mean).is_integer():
            low, high = poisson_interval(round(base.mean * n), n, confidence)
            return _with(base, ci_low=low, ci_high=high, method="poisson")
        return base
    # every replication observed zero
    if name in INCIDENT_COUNTS:
        return _with(base, ci_high=poisson_upper_bound(0, n, confidence), method="poisson-upper")
    share = zero_fraction_upper(n, confidence)
    if name == "lost_fraction":
        return _with(base, ci_high=share, method="zero-upper")
    if name in CUSTOMER_COUNTS:
        return _with(base, ci_high=share * _largest(rows, "attempted_checkouts"), method="zero-upper")
    if name == "lost_revenue":
        value = math.inf if order_value is None else order_value
        high = share * _largest(rows, "attempted_checkouts") * value if value > 0 else 0.0
        return _with(base, ci_high=high, method="zero-upper" if value > 0 else "t")
    return base


def summarize_ratio(numerator: Sequence[float], denominator: Sequence[float],
                    confidence: float = CONFIDENCE) -> Summary:
    """Pooled ratio Σy/Σz over replications with a delta-method interval on the log scale.

    The delta method gives the standard error se of R̂ (:func:`~sim.stats.intervals.ratio_interval`);
    the interval is R̂·exp(±q·se/R̂), q the Student-t quantile with n − 1 degrees of freedom: the
    delta method applied to log R̂, which respects R > 0 and the right skew of a mean duration.
    Measured on Poisson incident counts with exponential durations (tests/stats): about 95% coverage
    with ~100 incidents, 93% with ~30; with fewer than ~20 incidents every normal-theory interval
    undercovers (about 90% at 15), so read such intervals as optimistic.

    ``n`` counts the replications with an incident (z > 0), as for a mean of per-replication means;
    ``std`` is the per-replication standard deviation of the ratio's influence function,
    √(Var(y − R·z))/z̄. No incident at all: NaN with ``n == 0``; incidents in a single replication:
    the ratio without an interval (its spread cannot be estimated from one replication).
    """
    pairs = [(y, z) for y, z in zip(numerator, denominator, strict=True)
             if not (math.isnan(y) or math.isnan(z))]
    y = np.asarray([p[0] for p in pairs], dtype=float)
    z = np.asarray([p[1] for p in pairs], dtype=float)
    with_incident = int(np.count_nonzero(z > 0))
    if with_incident == 0:
        return Summary(math.nan, math.nan, 0, math.nan, math.nan, method="ratio")
    if with_incident == 1:
        return Summary(float(y.sum() / z.sum()), math.nan, 1, math.nan, math.nan, method="ratio")
    ratio, _, _, variance = ratio_interval(y, z, confidence)
    se = math.sqrt(variance / len(pairs))
    spread = critical_t(len(pairs), confidence) * se / ratio if ratio > 0 else 0.0
    return Summary(ratio, math.sqrt(variance), with_incident, ratio * math.exp(-spread),
                   ratio * math.exp(spread), method="ratio")


def summarize_metrics(rows: Sequence[Mapping[str, float]], confidence: float = CONFIDENCE,
                      order_value: float | None = None) -> dict[str, Summary]:
    """Every metric of the first replication's dict, summarised over ``rows``."""
    names = list(rows[0]) if rows else []
    return {name: summarize_metric(name, rows, confidence, order_value) for name in names}


#: metrics set by the infrastructure alone (no customer enters them): with no random failure they are
#: the injected outages' consequence, the same in every replication
INFRASTRUCTURE_ONLY = frozenset({"availability", "outage_count", "outages_recovered", "outage_time_total_s",
                                 "mean_recovery_time_s"})
#: per-year figures and the per-horizon metric each is derived from
DERIVED_FROM: dict[str, str] = {"lost_checkouts_per_year": "lost_checkouts",
                                "downtime_minutes_per_year": "availability",
                                "availability_nines": "availability", "outages_per_year": "outage_count"}
FIXED = "fixed"


def fixed(metrics: Mapping[str, Summary], rows: Sequence[Mapping[str, float]]) -> dict[str, Summary]:
    """The infrastructure-only summaries (and their per-year figures) of a scenario in which nothing
    fails at random, as zero-width intervals (``method`` "fixed"), where every replication has the
    same value: they are set by the injected outages, not sampled, so a one-sided bound or a Poisson
    interval would claim an uncertainty that is not there. A metric whose replications differ is left
    as it is (whatever made it vary, the interval says so)."""
    def same(name: str) -> bool:
        if name in RATIOS:
            return all(same(part) for part in RATIOS[name])
        values = _values(rows, name)
        return len(values) >= 2 and all(v == values[0] for v in values)

    out: dict[str, Summary] = {}
    for name, s in metrics.items():
        source = DERIVED_FROM.get(name, name)
        infrastructure = source in INFRASTRUCTURE_ONLY or (is_availability(source))
        if infrastructure and s.n >= 2 and not math.isnan(s.mean) and same(source):
            out[name] = _with(s, std=0.0, ci_low=s.mean, ci_high=s.mean, clipped_low=False,
                              clipped_high=False, method=FIXED)
    return out


def scaled(s: Summary, factor: float) -> Summary:
    """The same summary in other units (factor > 0): mean, spread and interval scale alike."""
    return _with(s, mean=s.mean * factor, std=s.std * factor, ci_low=s.ci_low * factor,
                 ci_high=s.ci_high * factor)


def nines(availability: float) -> float:
    """−log10(1 − A): 0.999 → 3; ∞ for A = 1; never negative (A ≤ 0 → 0)."""
    if math.isnan(availability):
        return math.nan
    if availability >= 1.0:
        return math.inf
    return max(0.0, -math.log10(1.0 - availability)) + 0.0


def nines_summary(a: Summary) -> Summary:
    """Availability in nines, each end of A's interval mapped through the increasing −log10(1 − A)."""
    return Summary(nines(a.mean), math.nan, a.n, nines(a.ci_low), nines(a.ci_high), method=a.method)


def per_year(metrics: Mapping[str, Summary], measured_s: float) -> dict[str, Summary]:
    """The per-year figures of :data:`PER_YEAR` from per-horizon summaries over a measured window of
    ``measured_s`` seconds (the figures whose source metric is missing are left out)."""
    out: dict[str, Summary] = {}
    factor = YEAR_S / measured_s if measured_s > 0 else math.nan
    if "lost_checkouts" in metrics:
        out["lost_checkouts_per_year"] = scaled(metrics["lost_checkouts"], factor)
    a = metrics.get("availability")
    if a is not None:
        m = MINUTES_PER_YEAR
        out["downtime_minutes_per_year"] = Summary(
            (1.0 - a.mean) * m, a.std * m, a.n, (1.0 - a.ci_high) * m, (1.0 - a.ci_low) * m,
            clipped_low=a.clipped_high, clipped_high=a.clipped_low, method=a.method)
        out["availability_nines"] = nines_summary(a)
    if "outage_count" in metrics:
        out["outages_per_year"] = scaled(metrics["outage_count"], factor)
    return out


def _with(s: Summary, **changes: object) -> Summary:
    fields = {"mean": s.mean, "std": s.std, "n": s.n, "ci_low": s.ci_low, "ci_high": s.ci_high,
              "clipped_low": s.clipped_low, "clipped_high": s.clipped_high, "method": s.method,
              "complement": s.complement}
    fields.update(changes)
    return Summary(**fields)  # type: ignore[arg-type]
