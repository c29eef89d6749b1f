"""Retry storms against published results: the qualitative outcome of each source, with fixed seeds.

The configurations, sources and how each outcome is measured are in ``benchmarks/metastability.py``
(the same functions run here with fewer replications). Exact values are tested against the 95%
interval; counts of collapsed replications against the source's own runs by overlapping exact
binomial intervals.
"""

from __future__ import annotations

import pytest

from benchmarks import metastability as m


@pytest.mark.slow
def test_retry_amplification_is_exactly_one_plus_p_plus_p2_plus_p3():
    """Brooker 2022: 3 retries against a service failing each call with probability p."""
    rep = m.amplification(ps=(0.2, 0.5, 1.0), replications=8)
    for row in rep.numbers["rows"]:
        assert row["inside"], row
        # a checkout is lost only when all four calls fail: p⁴ of them
        assert row["lost_fraction"] == pytest.approx(row["p"] ** 4, abs=0.01)
    assert rep.numbers["rows"][-1]["mean"] == 4.0  # p = 1: 1 + N calls each, exactly


@pytest.mark.slow
def test_retry_token_buckets_stay_within_their_tokens_and_many_clients_retry_more():
    """Brooker 2022: a bucket per client; 1,000/s from 10 or 1,000 clients at p = 0.5."""
    rep = m.token_buckets(ps=(0.5,), clients=(10, 1000), replications=3)
    few, many = rep.numbers["rows"]
    assert few["exact"] and many["exact"]  # retries <= initial tokens + 0.1 × successes, every replication
    # 10 clients: the buckets run dry at once, the load is the deposit ratio's 1 + 0.05/0.95
    assert few["load"] == pytest.approx(1 + 0.05 / 0.95, abs=0.01)
    # 1,000 clients start with 5,000 tokens: nearer 3 retries' 1.875 than the deposit ratio
    assert few["load"] < many["load"] < 1.875


@pytest.mark.slow
def test_layered_retries_multiply_to_nine_and_a_ten_percent_budget_caps_them_near_three_point_three():
    """3 customer attempts × 3 hop tries against a payment tier failing every call."""
    rep = m.layered(replications=2)
    assert rep.numbers["customer"]["mean"] == pytest.approx(3.0)
    assert rep.numbers["hop"]["mean"] == pytest.approx(9.0)
    assert 3.2 < rep.numbers["budget"]["mean"] <= 3.3 + 1e-9


@pytest.mark.slow
def test_happy_simulator_stays_overloaded_after_the_spike():
    """happy-simulator: with orphaned calls keeping their queue place (as in the source, whose own run
    never recovers) stuck at every step-down load until 5 calls per customer fit in 10/s; customers
    who withdraw queued requests recover at 5/s, the docstring's 50%."""
    rep = m.happy_simulator(loads=(9, 3), customer_loads=(9, 7, 5, 4), replications=10)
    assert all(row["hop"]["ci"][0] > 0.5 for row in rep.numbers["rows"])
    recovered, stuck = rep.numbers["drain"]  # 1/s and 2.5/s, either side of 10/5 = 2/s
    assert recovered <= m.RECOVERED_LOST < 0.5 < stuck
    by = {row["load"]: row for row in rep.numbers["customer_rows"]}
    assert by[9]["spike"]["ci"][0] > 0.5 and by[7]["spike"]["ci"][0] > m.RECOVERED_LOST
    assert rep.numbers["threshold"] == 5
    # with Poisson arrivals the storm needs no spike at 9/s: the same state without it
    assert by[9]["control"]["ci"][0] > 0.5


@pytest.mark.slow
def test_metafor_example_enters_the_storm_and_never_recovers():
    """Metafor's README program: the CTMC puts recovery at ~1e11 s; no recovery in hours of storm."""
    rep = m.metafor(replications=2, horizon=2400.0)
    for way in ("hop", "customer"):
        storm = rep.numbers[way]
        assert len(storm["entries_s"]) == 2 and storm["recoveries"] == 0
        assert storm["recovery_bound_s"] > 1000.0  # 0 recoveries in over 3,000 s of storm


@pytest.mark.slow
def test_congestive_collapse_without_backoff_and_recovery_with_jittered_backoff():
    """simple_collapse_sim: 6 of the source's 10 runs collapse without backoff, none with it."""
    rep = m.collapse(replications=20)
    n = rep.numbers["n"]
    low, high = m.clopper_pearson(rep.numbers["collapsed"], n)
    src_low, src_high = m.clopper_pearson(*m.SOURCE_COLLAPSED)
    assert low <= src_high and src_low <= high
    assert rep.numbers["collapsed"] > 0
    assert rep.numbers["collapsed_backoff"] == 0
    assert rep.numbers["collapsed_no_spike"] == 0


def test_storm_episode_reads_entry_and_recovery_from_success_rates():
    """The storm classifier: first bucket below 50%, then three in a row at 95% or more."""
    assert m.storm_episode([1.0, 0.99, 0.4, 0.1, 0.96, 0.97, 0.99, 0.2], 10.0) == (20.0, 40.0)
    assert m.storm_episode([1.0, 0.4, 0.96, 0.97, 0.1], 10.0) == (10.0, None)
    assert m.storm_episode([1.0, float("nan"), 0.98], 10.0) == (None, None)


def test_clopper_pearson_matches_known_values():
    """Exact binomial interval: 0/10 is [0, 0.3085], 6/10 is [0.2624, 0.8784]."""
    assert m.clopper_pearson(0, 10) == pytest.approx((0.0, 0.30850), abs=1e-4)
    assert m.clopper_pearson(6, 10) == pytest.approx((0.26238, 0.87845), abs=1e-4)
