"""Customers still in a checkout when the run gives up draining: lost, but measured only if they
arrived in the measured window (a warmup customer never counts)."""

from __future__ import annotations

from sim.experiment import run_replication
from sim.scenario import scenario_from_dict
from sim.stats.metrics import Recorder

# one replica serving one request at a time, each taking longer than the horizon plus the drain
# limit: every customer is still in the system when the run ends, warmup customers included
STUCK = {
    "scenario": {"horizon": "2h", "warmup": "1h", "seed": 3},
    "traffic": {"arrival_rate": 0.01},
    "customer": {"patience": "inf"},
    "path": {"tiers": ["web"]},
    "tiers": {"web": {"service_time": {"dist": "deterministic", "value": "30d"}, "concurrency": 1}},
}


def test_recorder_counts_only_measured_unfinished_customers() -> None:
    r = Recorder(warmup_s=100.0, horizon_s=200.0, tier_names=("web",))
    r.arrival(50.0)  # warmup
    r.arrival(60.0)  # warmup
    r.arrival(150.0)  # measured
    r.arrival(250.0)  # after the horizon
    r.unfinished_lost(1000.0)
    out = r.results(order_value=2.0, cost_per_hour=0.0)
    assert (out["attempted_checkouts"], out["lost_checkouts"], out["lost_fraction"]) == (1.0, 1.0, 1.0)
    assert out["lost_revenue"] == 2.0
    assert r.in_system == 0 and r.measured_in_system == 0


def test_warmup_customers_stuck_at_the_drain_limit_are_not_measured_losses() -> None:
    scenario = scenario_from_dict(STUCK)
    m = run_replication(scenario, seed=3, replication=0).metrics
    assert m["attempted_checkouts"] > 0
    assert m["completed_checkouts"] == 0.0
    assert m["lost_checkouts"] == m["attempted_checkouts"]
    assert m["lost_fraction"] == 1.0
