"""A positive but subnormal arrival rate: the mean gap overflows to infinity, so nobody arrives (no
NaN time reaches the daily profile's hour lookup)."""

from __future__ import annotations

import pytest

from sim.experiment import run_replication
from sim.scenario import scenario_from_dict


@pytest.mark.parametrize("traffic", [
    {"arrival_rate": 1e-310, "daily_profile": [1.0] * 24},
    {"arrival_rate": 1e-310, "spikes": [{"start": "1m", "duration": "1m", "multiplier": 2.0}]},
    {"arrival_rate": 1e-310},
])
def test_a_subnormal_rate_means_no_arrivals(traffic: dict) -> None:
    scenario = scenario_from_dict({"scenario": {"horizon": "10m"}, "traffic": traffic,
                                   "path": {"tiers": ["web"]}, "tiers": {"web": {"service_time": "1s"}}})
    m = run_replication(scenario, seed=1, replication=0).metrics
    assert (m["attempted_checkouts"], m["lost_checkouts"], m["availability"]) == (0.0, 0.0, 1.0)
