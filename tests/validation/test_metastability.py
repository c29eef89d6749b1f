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
def test_happy_simulator_stays_overloaded_after_the_spike_until_load_falls_to_half():
    """happy-simulator: stuck at 9/s and 7/s after the spike, recovered at 5/s."""
    rep = m.happy_simulator(loads=(9, 7, 5), replications=20)
    by = {row["load"]: row for row in rep.numbers["rows"]}
    assert by[9]["spike"]["ci"][0] > 0.5  # most checkouts lost: overloaded by retries
    assert by[7]["spike"]["ci"][0] > m.RECOVERED_LOST
    assert by[5]["spike"]["ci"][1] < m.RECOVERED_LOST
    assert rep.numbers["threshold"] == 5
    # with Poisson arrivals the storm needs no spike at 9/s: the same state without it
    assert by[9]["control"]["ci"][0] > 0.5


@pytest.mark.slow
def test_metafor_example_enters_the_storm_and_never_recovers():
    """Metafor's README program: the CTMC puts recovery at ~1e11 s; no recovery in hours of storm."""
    rep = m.metafor(replications=4, horizon=3600.0)
    assert len(rep.numbers["entries_s"]) == 4
    assert rep.numbers["recoveries"] == 0
    assert rep.numbers["recovery_bound_s"] > 3600.0


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
