"""Recorder window accounting and LogHistogram quantiles (no simulation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.stats.metrics import SUCCESS_BUCKET_S, Recorder
from sim.stats.quantiles import LogHistogram


def rec(warmup_s: float = 100.0, horizon_s: float = 1100.0) -> Recorder:
    return Recorder(warmup_s, horizon_s, ("web",))


def results(r: Recorder) -> dict[str, float]:
    return r.results(order_value=10.0, cost_per_hour=3.6)


def test_no_outage_full_availability() -> None:
    out = results(rec())
    assert out["availability"] == 1.0
    assert out["outage_count"] == 0.0
    assert math.isnan(out["mean_recovery_time_s"])


def test_outage_inside_window() -> None:
    r = rec()
    r.path_state(200.0, False)
    r.path_state(300.0, True)
    out = results(r)
    assert out["availability"] == pytest.approx(1.0 - 100.0 / 1000.0)
    assert out["outage_count"] == 1.0
    assert out["mean_recovery_time_s"] == pytest.approx(100.0)


def test_outage_straddling_warmup_is_clipped_and_not_counted() -> None:
    r = rec()
    r.path_state(50.0, False)
    r.path_state(150.0, True)
    out = results(r)
    assert out["availability"] == pytest.approx(1.0 - 50.0 / 1000.0)  # only [100, 150)
    assert out["outage_count"] == 0.0  # began before the window
    assert math.isnan(out["mean_recovery_time_s"])


def test_outage_straddling_horizon_is_clipped_but_full_length_recorded() -> None:
    r = rec()
    r.path_state(1000.0, False)
    r.path_state(1300.0, True)
    out = results(r)
    assert out["availability"] == pytest.approx(1.0 - 100.0 / 1000.0)  # only [1000, 1100)
    assert out["outage_count"] == 1.0
    assert out["mean_recovery_time_s"] == pytest.approx(300.0)


def test_outage_still_open_at_the_end_counts_to_horizon() -> None:
    r = rec()
    r.path_state(600.0, False)
    assert r.open_outage_in_window
    out = results(r)
    assert out["availability"] == pytest.approx(0.5)
    assert out["outage_count"] == 1.0


def test_outage_after_horizon_ignored() -> None:
    r = rec()
    r.path_state(1200.0, False)
    r.path_state(1300.0, True)
    out = results(r)
    assert out["availability"] == 1.0 and out["outage_count"] == 0.0


def test_repeated_state_reports_are_idempotent() -> None:
    r = rec()
    r.path_state(200.0, False)
    r.path_state(250.0, False)
    r.path_state(300.0, True)
    r.path_state(350.0, True)
    out = results(r)
    assert out["outage_count"] == 1.0
    assert out["availability"] == pytest.approx(0.9)


def test_two_outages_mean_recovery() -> None:
    r = rec()
    for start, end in [(200.0, 260.0), (500.0, 640.0)]:
        r.path_state(start, False)
        r.path_state(end, True)
    out = results(r)
    assert out["outage_count"] == 2.0
    assert out["mean_recovery_time_s"] == pytest.approx(100.0)
    assert out["availability"] == pytest.approx(1.0 - 200.0 / 1000.0)


def test_tier_availability_separate_from_path() -> None:
    r = rec()
    r.tier_state(200.0, "web", False)
    r.tier_state(400.0, "web", True)
    out = results(r)
    assert out["availability_web"] == pytest.approx(0.8)
    assert out["availability"] == 1.0


def test_customer_counters_and_window_attribution() -> None:
    r = rec()
    assert r.arrival(50.0) is False  # warmup: not measured
    assert r.arrival(150.0) is True
    assert r.arrival(1100.0) is False  # the horizon is excluded
    r.attempt(True)
    r.attempt(True)
    r.completed_checkout(160.0, 150.0, 155.0, 2, True)
    r.lost_checkout(60.0, False)
    r.lost_checkout(1101.0, False)
    out = results(r)
    assert out["attempted_checkouts"] == 1.0
    assert out["completed_checkouts"] == 1.0
    assert out["deferred_checkouts"] == 1.0
    assert out["mean_extra_delay_s"] == pytest.approx(5.0)
    assert out["retry_load_factor"] == pytest.approx(2.0)
    assert out["lost_checkouts"] == 0.0
    assert out["latency_mean_s"] == pytest.approx(10.0)
    assert out["infrastructure_cost"] == pytest.approx(3.6 * 1000.0 / 3600.0)
    assert r.in_system == 0


def test_lost_revenue_and_fraction() -> None:
    r = rec()
    for t in (200.0, 201.0, 202.0, 203.0):
        r.arrival(t)
    r.lost_checkout(210.0, True)
    for t in (211.0, 212.0, 213.0):
        r.completed_checkout(t, 200.0, 200.0, 1, True)
    out = results(r)
    assert out["lost_fraction"] == pytest.approx(0.25)
    assert out["lost_revenue"] == pytest.approx(10.0)


def tick_until(
    r: Recorder, now: float, end: float, per_bucket: tuple[int, int], fail_at: float | None = None
) -> float:
    """Feed (ok, fail) outcomes per bucket and close buckets from ``now`` to ``end``."""
    ok, fail = per_bucket
    while now < end:
        for _ in range(ok):
            r.attempt_accepted(now)
        for _ in range(fail):
            r.attempt_failed(fail_at if fail_at is not None else now + 1.0, True)
        now += SUCCESS_BUCKET_S
        r.success_tick(now)
    return now


def test_service_recovery_incident_from_first_failure_to_healthy_window() -> None:
    r = rec(warmup_s=0.0, horizon_s=10_000.0)
    now = tick_until(r, 0.0, 100.0, (100, 0))
    # an incident: every attempt fails for 3 buckets, the first failure at 101
    now = tick_until(r, now, 130.0, (0, 10))
    assert r.open_incident_in_window
    # healthy again: the 1-minute window is back to >= 99% once the failures leave it (190)
    now = tick_until(r, now, 400.0, (100, 0))
    out = results(r)
    assert out["mean_service_recovery_time_s"] == pytest.approx(190.0 - 101.0)
    assert not r.open_incident_in_window


def test_service_recovery_a_few_failures_below_one_percent_are_no_incident() -> None:
    r = rec(warmup_s=0.0, horizon_s=10_000.0)
    now = tick_until(r, 0.0, 100.0, (200, 0))
    now = tick_until(r, now, 110.0, (200, 1))
    tick_until(r, now, 300.0, (200, 0))
    assert math.isnan(results(r)["mean_service_recovery_time_s"])


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("sampler", ["lognormal", "exponential", "uniform"])
def test_log_histogram_quantiles_within_half_percent(q: float, sampler: str) -> None:
    rng = np.random.default_rng(42)
    values = {
        "lognormal": lambda: rng.lognormal(0.0, 1.5, 50_000),
        "exponential": lambda: rng.exponential(0.4, 50_000),
        "uniform": lambda: rng.uniform(1.0, 30.0, 50_000),
    }[sampler]()
    h = LogHistogram()
    for v in values:
        h.add(float(v))
    exact = float(np.quantile(values, q))
    assert h.quantile(q) == pytest.approx(exact, rel=0.005)
    assert h.mean == pytest.approx(float(values.mean()), rel=1e-9)
    assert h.count == values.size


def test_log_histogram_empty_and_single() -> None:
    h = LogHistogram()
    assert math.isnan(h.quantile(0.5)) and math.isnan(h.mean)
    h.add(2.5)
    assert h.quantile(0.5) == pytest.approx(2.5)  # clipped to the observed min/max
    assert h.quantile(0.99) == pytest.approx(2.5)
