"""Retry storms (metastable failure) and the retry formula, validated with confidence intervals.

Paired runs on common random numbers: every variant uses the same seed, so replication i of
each variant sees the same arrivals and service demands.
"""

from __future__ import annotations

import copy

import pytest

from sim.experiment import run
from sim.scenario import scenario_from_dict
from sim.stats.intervals import paired_difference, summarize
from sim.theory.analytic import deferred_with_retries, lost_with_retries

pytestmark = pytest.mark.slow

FAULT_S = 300.0  # one of the two payment replicas is down this long
SEED = 21
REPLICATIONS = 4
STORM = {
    "scenario": {"name": "storm", "horizon": "50m", "replications": REPLICATIONS, "seed": SEED},
    "traffic": {"arrival_rate": 30.0},
    # aggressive clients: ten tries, a second apart, 4 s timeout each
    "customer": {"max_attempts": 10, "retry_backoff": "1s", "patience": "4s"},
    "path": {"tiers": ["payment"]},
    # capacity 2 × 12 / 0.5 s = 48 customers/s against 30 arriving (62.5% load); half of it
    # during the fault, so the tier is overloaded until the replica is back
    "tiers": {"payment": {"replicas": 2, "concurrency": 12, "service_time": "500ms"}},
    "outages": [{"tier": "payment", "start": "20m", "duration": FAULT_S, "replicas": 1}],
}


def storm(**payment) -> list[float]:
    raw = copy.deepcopy(STORM)
    raw["tiers"]["payment"].update(payment)
    result = run(scenario_from_dict(raw), replications=REPLICATIONS, seed=SEED, workers=2)
    return [r["mean_service_recovery_time_s"] for r in result.per_replication]


@pytest.fixture(scope="module")
def aggressive() -> list[float]:
    return storm()


def test_aggressive_retries_are_metastable(aggressive: list[float]) -> None:
    """The replica is back after 5 minutes, but retries keep the tier overloaded far longer."""
    s = summarize(aggressive)
    assert s.n == REPLICATIONS
    assert s.ci_low > 4 * FAULT_S, s


@pytest.mark.parametrize("mitigation", [
    pytest.param({"queue_limit": 12}, id="load-shedding"),
    pytest.param({"circuit_breaker": {"open_duration": "30s"}}, id="circuit-breaker"),
])
def test_mitigation_recovers_near_the_infrastructure_fault(aggressive: list[float], mitigation: dict) -> None:
    mitigated = storm(**mitigation)
    s = summarize(mitigated)
    assert s.n == REPLICATIONS
    assert s.ci_high < 2 * FAULT_S, s  # back within minutes of the replica's return
    assert s.mean >= 0.5 * FAULT_S, s  # the fault itself is still felt
    diff = paired_difference(mitigated, aggressive)
    assert diff.ci_high < 0.0, diff


# -- the retry formula -----------------------------------------------------------------------------
RATE, D, RETRIES, BACKOFF = 2.0, 60.0, 3, 20.0


def test_lost_and_deferred_match_the_retry_formula() -> None:
    raw = {
        "scenario": {"name": "formula", "horizon": "15m", "replications": 20, "seed": 4},
        "traffic": {"arrival_rate": RATE},
        "customer": {"max_attempts": RETRIES + 1, "retry_backoff": f"{BACKOFF}s", "patience": "30s"},
        "path": {"tiers": ["web"]},
        "tiers": {"web": {"replicas": 1, "service_time": {"dist": "deterministic", "value": "1ms"},
                          "failover_delay": 0}},
        "outages": [{"tier": "web", "start": "5m", "duration": D}],
    }
    result = run(scenario_from_dict(raw), replications=20, seed=4, workers=2)
    lost, deferred = result.metrics["lost_checkouts"], result.metrics["deferred_checkouts"]
    expected_lost = lost_with_retries(RATE, D, RETRIES, BACKOFF)
    expected_deferred = deferred_with_retries(RATE, D, RETRIES, BACKOFF)
    assert expected_lost + expected_deferred == pytest.approx(RATE * D)
    assert lost.contains(expected_lost), (lost, expected_lost)
    assert deferred.contains(expected_deferred), (deferred, expected_deferred)
    # the interval is informative: narrower than the difference with no retries at all
    assert lost.ci_high < RATE * D
