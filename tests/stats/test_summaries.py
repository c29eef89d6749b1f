"""Interval rules for rare outcomes: one-sided bounds when nothing was observed, pooled ratios for
per-incident means, per-year figures and nines — exact expectations on constructed inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.stats.intervals import poisson_interval, poisson_upper_bound, ratio_interval, zero_fraction_upper
from sim.stats.summaries import (
    MINUTES_PER_YEAR,
    YEAR_S,
    nines,
    per_year,
    summarize_metric,
    summarize_metrics,
    summarize_ratio,
)


def rows(n: int, **values: float) -> list[dict[str, float]]:
    return [dict(values) for _ in range(n)]


def test_rule_of_three_and_clopper_pearson() -> None:
    assert poisson_upper_bound(0, 10) == pytest.approx(-math.log(0.05) / 10)
    assert poisson_upper_bound(0, 1) == pytest.approx(2.995732, abs=1e-6)
    assert zero_fraction_upper(10) == pytest.approx(1 - 0.05 ** 0.1)
    # Clopper–Pearson upper end with 0 of n is the beta quantile
    assert zero_fraction_upper(7) == pytest.approx(stats.beta.ppf(0.95, 1, 7))


def test_poisson_interval_is_garwood() -> None:
    low, high = poisson_interval(12, 4)
    assert low == pytest.approx(stats.chi2.ppf(0.025, 24) / 2 / 4)
    assert high == pytest.approx(stats.chi2.ppf(0.975, 26) / 2 / 4)
    assert poisson_interval(0, 2)[0] == 0.0


def test_zero_outages_give_a_poisson_upper_bound() -> None:
    s = summarize_metric("outage_count", rows(10, outage_count=0.0))
    assert (s.mean, s.n, s.ci_low, s.method) == (0.0, 10, 0.0, "poisson-upper")
    assert s.ci_high == pytest.approx(-math.log(0.05) / 10)
    assert s.one_sided and s.has_interval
    assert s.to_dict()["rel_half_width"] is None  # relative to 0: undefined


def test_zero_losses_bounded_through_the_share_of_horizons() -> None:
    data = [{"lost_checkouts": 0.0, "lost_fraction": 0.0, "deferred_checkouts": 0.0, "lost_revenue": 0.0,
             "attempted_checkouts": a} for a in (980.0, 1010.0, 1003.0, 995.0)]
    out = summarize_metrics(data)
    share = 1 - 0.05 ** 0.25
    assert out["lost_fraction"].ci_high == pytest.approx(share)
    assert out["lost_checkouts"].ci_high == pytest.approx(share * 1010.0)
    assert out["deferred_checkouts"].ci_high == pytest.approx(share * 1010.0)
    counted = ("lost_fraction", "lost_checkouts", "deferred_checkouts")
    assert {out[m].method for m in counted} == {"zero-upper"}
    assert out["lost_revenue"].ci_high == math.inf  # order value unknown: no finite bound
    priced = summarize_metric("lost_revenue", data, order_value=50.0)
    assert priced.ci_high == pytest.approx(share * 1010.0 * 50.0)


def test_no_downtime_bounds_the_unavailability() -> None:
    s = summarize_metric("availability", rows(20, availability=1.0))
    assert s.method == "zero-upper" and s.mean == 1.0 and s.ci_high == 1.0
    assert s.ci_low == pytest.approx(0.05 ** (1 / 20))
    tier = summarize_metric("availability_web", rows(20, availability_web=1.0))
    assert tier.ci_low == s.ci_low


def test_equal_nonzero_incident_counts_are_not_certain() -> None:
    s = summarize_metric("outage_count", rows(5, outage_count=2.0))
    assert s.method == "poisson" and s.mean == 2.0
    assert (s.ci_low, s.ci_high) == pytest.approx(poisson_interval(10, 5))
    assert s.ci_low < 2.0 < s.ci_high
    # an ordinary metric with zero spread keeps its degenerate interval
    cost = summarize_metric("infrastructure_cost", rows(5, infrastructure_cost=7.0))
    assert (cost.ci_low, cost.ci_high, cost.method) == (7.0, 7.0, "t")


def test_ordinary_metrics_keep_the_t_interval() -> None:
    data = [{"lost_checkouts": v} for v in (3.0, 0.0, 5.0, 1.0)]
    s = summarize_metric("lost_checkouts", data)
    low, high = stats.t.interval(0.95, df=3, loc=2.25, scale=stats.sem([3.0, 0.0, 5.0, 1.0]))
    assert s.method == "t" and s.ci_high == pytest.approx(high) and s.ci_low == max(0.0, low)
    assert s.rel_half_width == pytest.approx(s.half_width / 2.25)


def test_pooled_ratio_matches_the_delta_method_by_hand() -> None:
    y = [600.0, 0.0, 100.0, 950.0, 300.0]
    z = [2.0, 0.0, 1.0, 3.0, 1.0]
    s = summarize_ratio(y, z)
    r = sum(y) / sum(z)
    d = np.asarray(y) - r * np.asarray(z)
    se = math.sqrt(d.var(ddof=1) / 5) / np.mean(z)
    q = stats.t.ppf(0.975, 4)
    assert s.method == "ratio" and s.mean == pytest.approx(r) and s.n == 4
    assert ratio_interval(y, z)[:3] == pytest.approx((r, max(0.0, r - q * se), r + q * se))
    # the same standard error, on the log scale
    assert (s.ci_low, s.ci_high) == pytest.approx((r * math.exp(-q * se / r), r * math.exp(q * se / r)))


def test_ratio_without_enough_incidents() -> None:
    none = summarize_ratio([0.0, 0.0], [0.0, 0.0])
    assert none.n == 0 and math.isnan(none.mean)
    one = summarize_ratio([0.0, 400.0, 0.0], [0.0, 2.0, 0.0])
    assert one.mean == 200.0 and one.n == 1 and not one.has_interval


def test_recovery_time_uses_the_sums_when_present() -> None:
    data = [{"mean_recovery_time_s": 300.0, "outage_time_total_s": 600.0, "outages_recovered": 2.0},
            {"mean_recovery_time_s": 100.0, "outage_time_total_s": 100.0, "outages_recovered": 1.0},
            {"mean_recovery_time_s": math.nan, "outage_time_total_s": 0.0, "outages_recovered": 0.0}]
    assert summarize_metric("mean_recovery_time_s", data).mean == pytest.approx(700.0 / 3.0)
    # results stored before the sums existed: the mean of the per-replication means
    old = [{"mean_recovery_time_s": r["mean_recovery_time_s"]} for r in data]
    assert summarize_metric("mean_recovery_time_s", old).mean == pytest.approx(200.0)


def test_nines_never_negative() -> None:
    assert nines(0.999) == pytest.approx(3.0)
    assert nines(1.0) == math.inf
    assert nines(0.0) == 0.0 and math.copysign(1.0, nines(0.0)) == 1.0
    assert nines(-0.5) == 0.0


def test_per_year_figures() -> None:
    data = [{"lost_checkouts": v, "availability": a, "outage_count": k}
            for v, a, k in ((10.0, 0.999, 1.0), (0.0, 1.0, 0.0), (20.0, 0.998, 2.0))]
    base = summarize_metrics(data)
    day = 86400.0
    out = per_year(base, 3 * day)
    lost, a = base["lost_checkouts"], base["availability"]
    assert out["lost_checkouts_per_year"].mean == pytest.approx(lost.mean * YEAR_S / (3 * day))
    assert out["lost_checkouts_per_year"].ci_high == pytest.approx(lost.ci_high * 365 / 3)
    down = out["downtime_minutes_per_year"]
    assert down.mean == pytest.approx((1 - a.mean) * MINUTES_PER_YEAR)
    assert (down.ci_low, down.ci_high) == pytest.approx(((1 - a.ci_high) * MINUTES_PER_YEAR,
                                                          (1 - a.ci_low) * MINUTES_PER_YEAR))
    n9 = out["availability_nines"]
    assert a.ci_high == 1.0 and n9.ci_high == math.inf  # the interval reaches A = 1
    assert n9.ci_low == pytest.approx(-math.log10(1 - a.ci_low)) and n9.ci_low >= 0
    assert n9.mean == pytest.approx(-math.log10(1 - a.mean))
    assert out["outages_per_year"].mean == pytest.approx(1.0 * 365 / 3)


def test_availability_rel_half_width_is_against_the_unavailability() -> None:
    s = summarize_metric("availability", [{"availability": a} for a in (0.99, 0.98, 0.97)])
    assert s.complement and s.rel_half_width == pytest.approx(s.half_width / 0.02)


def test_pooled_ratio_covers_the_mean_duration() -> None:
    """1000 experiments of 40 replications: Poisson(2) incidents each, exponential durations of mean
    300 s (so the true mean duration is 300 s). The 95% interval must cover it 93–97% of the time
    (the binomial standard deviation of the coverage at 1000 experiments is 0.7 points)."""
    rng = np.random.default_rng(20261128)
    covered = 0
    for _ in range(1000):
        incidents = rng.poisson(2.0, 40)
        totals = [float(rng.exponential(300.0, k).sum()) for k in incidents]
        s = summarize_ratio(totals, incidents.astype(float).tolist())
        covered += s.ci_low <= 300.0 <= s.ci_high
    assert 930 <= covered <= 970, covered
