"""Recorder and interval edge cases with exact values: time-weighted customers in the system,
what counts as measured, the success-rate objective at its boundary, when a difference is
significant."""

from __future__ import annotations

import math

import pytest

from sim.stats.intervals import Summary, paired_difference, significant, summarize
from sim.stats.metrics import SUCCESS_BUCKET_S, Recorder


def rec() -> Recorder:
    return Recorder(100.0, 1100.0, ("web",))


def results(r: Recorder) -> dict[str, float]:
    return r.results(order_value=10.0, cost_per_hour=3.6)


def test_mean_in_system_is_time_weighted_over_the_measured_window_only() -> None:
    r = rec()
    r.arrival(50.0)  # in the system 50 → 150: counts for [100, 150)
    r.at_warmup(100.0)
    r.lost_checkout(150.0, False)
    r.arrival(200.0)
    r.completed_checkout(300.0, 200.0, 200.0, 1, True)
    r.arrival(1000.0)  # still in a checkout at the horizon: counts for [1000, 1100)
    r.at_horizon(1100.0)
    r.completed_checkout(1200.0, 1000.0, 1000.0, 1, True)
    out = results(r)
    assert out["mean_in_system"] == pytest.approx((50.0 + 100.0 + 100.0) / 1000.0, abs=1e-15)
    assert out["throughput_per_s"] == pytest.approx(2.0 / 1000.0, abs=1e-15)  # per measured second


def test_only_measured_customers_count_attempts_and_losses() -> None:
    r = rec()
    measured = [r.arrival(t) for t in (50.0, 150.0, 1100.0)]
    assert measured == [False, True, False]
    for m in measured:  # two attempts each
        r.attempt(m)
        r.attempt(m)
    for t, m in zip((60.0, 160.0, 1110.0), measured, strict=True):
        r.lost_checkout(t, m)
    out = results(r)
    assert (out["attempted_checkouts"], out["lost_checkouts"]) == (1.0, 1.0)
    assert out["retry_load_factor"] == 2.0
    assert out["lost_fraction"] == 1.0 and out["lost_revenue"] == 10.0


def window(r: Recorder, buckets: int, ok: int, fail: int, start: float) -> float:
    now = start
    for _ in range(buckets):
        for _ in range(ok):
            r.attempt_accepted(now)
        for _ in range(fail):
            r.attempt_failed(now + 1.0, True)
        now += SUCCESS_BUCKET_S
        r.success_tick(now)
    return now


def test_exactly_ninety_nine_percent_success_meets_the_objective() -> None:
    r = Recorder(0.0, 10_000.0, ("web",))
    now = window(r, 6, 99, 1, 0.0)  # 99 of 100 succeed in every bucket: not an incident
    assert not r.open_incident_in_window
    window(r, 1, 98, 2, now)  # 98% in the newest bucket tips the window below 99%
    assert r.open_incident_in_window


def test_significance_needs_an_interval_that_excludes_zero() -> None:
    assert not significant(summarize([3.0]))  # one pair: no interval
    assert not significant(Summary(1.0, 1.0, 5, 0.0, 2.0))  # touches zero
    assert significant(Summary(1.0, 1.0, 5, 1e-9, 2.0))
    d = paired_difference([5.0, 6.0, 7.0], [1.0, 1.5, 2.0])
    assert d.mean == pytest.approx(4.5) and d.std == pytest.approx(math.sqrt(0.25))


def test_an_outage_from_before_the_warmup_still_open_at_the_end_counts_from_the_warmup() -> None:
    r = rec()
    r.path_state(50.0, False)
    out = results(r)
    assert out["availability"] == 0.0  # down through the whole window [100, 1100)
    assert out["outage_count"] == 0.0  # it began before the window
