"""Backoff growth is capped before it is multiplied: no overflow with many attempts or a huge multiplier."""

from __future__ import annotations

import math

import pytest

from sim.experiment import run_replication
from sim.scenario import scenario_from_dict


def _down_all_horizon(policy: str, multiplier: float, attempts: int) -> dict:
    # the only replica is out for the whole run: every attempt fails at once, so every customer
    # makes exactly `attempts` attempts, a capped backoff apart, and is lost
    return {
        "scenario": {"horizon": "2m", "seed": 2},
        "traffic": {"arrival_rate": 0.2},
        "customer": {"max_attempts": attempts, "retry_backoff": "1ms", "backoff_policy": policy,
                     "backoff_multiplier": multiplier, "backoff_cap": "5ms"},
        "path": {"tiers": ["web"]},
        "tiers": {"web": {"service_time": "10ms"}},
        "outages": [{"tier": "web", "start": 0, "duration": "3m"}],
    }


@pytest.mark.parametrize("policy", ["sampled", "exponential-full-jitter", "exponential-equal-jitter",
                                    "decorrelated-jitter"])
@pytest.mark.parametrize(("multiplier", "attempts"), [(1e300, 10), (3.0, 1000)])
def test_backoff_never_overflows(policy: str, multiplier: float, attempts: int) -> None:
    scenario = scenario_from_dict(_down_all_horizon(policy, multiplier, attempts))
    m = run_replication(scenario, seed=2, replication=0).metrics
    assert m["attempted_checkouts"] > 0
    assert m["retry_load_factor"] == float(attempts)
    assert m["lost_checkouts"] == m["attempted_checkouts"]
    assert all(math.isfinite(v) for k, v in m.items() if not k.startswith(("mean_", "latency")))
