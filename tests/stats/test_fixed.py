"""With no random failure, the path's availability, outages and recovery are set by the injected
outages alone: the same in every replication, shown as zero-width "fixed" intervals, not as sampled
ones (a one-sided bound, a Poisson interval) that would claim an uncertainty that is not there."""

from __future__ import annotations

import math

from sim.experiment import run
from sim.scenario.load import scenario_from_dict
from sim.stats.summaries import FIXED, fixed, summarize_metrics


def _scenario(mtbf: str | None, outage_replicas: int) -> object:
    tier = {"replicas": 2, "service_time": "100ms", "concurrency": 4}
    if mtbf:
        tier |= {"mtbf": mtbf, "mttr": "5m"}
    return scenario_from_dict({
        "scenario": {"name": "fixed", "horizon": "20m", "replications": 3, "seed": 8},
        "traffic": {"arrival_rate": 5.0}, "customer": {"patience": "2s", "max_attempts": 2},
        "path": {"tiers": ["web"]}, "tiers": {"web": tier},
        "outages": [{"tier": "web", "start": "5m", "duration": "3m", "replicas": outage_replicas}]})


def test_equal_infrastructure_values_become_zero_width_and_varying_ones_stay() -> None:
    rows = [{"availability": 0.85, "outage_count": 1.0, "lost_checkouts": float(k)} for k in (3, 5, 9)]
    out = fixed(summarize_metrics(rows), rows)
    assert set(out) == {"availability", "outage_count"}  # lost checkouts are the customers', sampled
    assert all(s.method == FIXED and s.ci_low == s.ci_high == s.mean for s in out.values())
    varying = [{"availability": a, "outage_count": 1.0} for a in (0.85, 0.9)]
    assert set(fixed(summarize_metrics(varying), varying)) == {"outage_count"}


def test_an_injected_path_outage_gives_exact_availability_outages_and_recovery() -> None:
    result = run(_scenario(None, 2), workers=1)
    availability = result.metrics["availability"]
    assert math.isclose(availability.mean, 1 - 180 / 1200, rel_tol=1e-9)
    for name in ("availability", "outage_count", "mean_recovery_time_s", "downtime_minutes_per_year",
                 "availability_web"):
        s = result.metrics[name]
        assert s.method == FIXED and s.ci_low == s.ci_high == s.mean, name
    assert result.metrics["outage_count"].mean == 1.0
    assert math.isclose(result.metrics["mean_recovery_time_s"].mean, 180.0, rel_tol=1e-9)
    assert result.metrics["lost_checkouts"].method != FIXED


def test_no_path_outage_is_exactly_none_not_a_one_sided_bound() -> None:
    result = run(_scenario(None, 1), workers=1)  # one of two replicas down: the path stays up
    a = result.metrics["availability"]
    assert (a.mean, a.ci_low, a.ci_high, a.method) == (1.0, 1.0, 1.0, FIXED)
    assert result.metrics["outage_count"].ci_high == 0.0


def test_random_failures_keep_sampled_intervals() -> None:
    result = run(_scenario("10m", 2), workers=1)
    assert all(s.method != FIXED for s in result.metrics.values())
