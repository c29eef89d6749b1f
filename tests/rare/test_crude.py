"""Crude infrastructure-only runs: the fall-back estimator, against exact answers."""

from __future__ import annotations

import math

from sim.rare.crude import crude_run_estimates
from sim.rare.markov import InfrastructureChain, stationary
from sim.scenario.load import scenario_from_dict
from tests.rare.conftest import k_out_of_n_path


def test_crude_runs_contain_the_exact_measures() -> None:
    """2+2 replicas, 30-day runs: unavailability, frequency and mean outage against the exact chain
    (99.9% intervals, three checks; the all-up start shortens nothing measurable over 30 days)."""
    scenario = k_out_of_n_path(2, 1, "8h", "20m", 1)
    exact = stationary(InfrastructureChain(scenario))
    est = crude_run_estimates(scenario, seed=3, runs=40, horizon_s=30 * 86400.0)
    estimates = (est.unavailability, est.outage_frequency_per_hour, est.mean_outage_s)
    values = (exact.unavailability, exact.outage_rate_per_s * 3600.0, exact.mean_outage_s)
    for e, value in zip(estimates, values, strict=True):
        half = (e.ci_high - e.value) * 3.2905 / 1.95996  # the 95% half-width widened to 99.9%
        assert abs(e.value - value) <= half
    assert est.outages > 100


def test_lognormal_repairs_fall_back_to_runs_and_no_outage_gives_a_bound() -> None:
    tier = {"replicas": 3, "service_time": "10ms", "mtbf": "2000h", "min_healthy": 1,
            "mttr": {"dist": "lognormal", "mean": "1h", "cv": 2.0}}
    scenario = scenario_from_dict({
        "scenario": {"name": "lognormal", "horizon": "30d"},
        "traffic": {"arrival_rate": 1.0},
        "path": {"tiers": ["web"]},
        "tiers": {"web": tier},
    })
    est = crude_run_estimates(scenario, seed=1, runs=5)
    assert est.outages == 0
    f = est.outage_frequency_per_hour
    assert f.value == 0.0
    assert math.isclose(f.ci_high, -math.log(0.05) / (5 * 30 * 24.0), rel_tol=1e-9)  # per hour, 5 × 30 days
    assert est.unavailability.value == 0.0 and est.unavailability.ci_high == math.inf
