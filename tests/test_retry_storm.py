"""Retry storms (metastable failure) and the retry formula, validated with confidence intervals.

Paired runs on common random numbers: every variant uses the same seed, so replication i of
each variant sees the same arrivals and service demands.
"""

from __future__ import annotations

import copy

import pytest

from sim.analytic import deferred_with_retries, lost_with_retries
from sim.experiment import run
from sim.scenario import scenario_from_dict
from sim.stats import paired_difference, summarize

pytestmark = pytest.mark.slow

OUTAGE_S = 120.0
SEED = 21
STORM = {
    "scenario": {"name": "storm", "horizon": "50m", "replications": 4, "seed": SEED},
    "traffic": {"arrival_rate": 32.0},
    "customer": {"max_attempts": 20, "retry_backoff": "1s", "patience": "4s"},
    "path": {"tiers": ["payment"]},
    # capacity 2 × 12 / 0.5 s = 48 customers/s against 32 arriving
    "tiers": {"payment": {"replicas": 2, "concurrency": 12, "service_time": "500ms"}},
    "outages": [{"tier": "payment", "start": "20m", "duration": OUTAGE_S}],
}


def storm(**payment) -> list[float]:
    raw = copy.deepcopy(STORM)
    raw["tiers"]["payment"].update(payment)
    result = run(scenario_from_dict(raw), replications=4, seed=SEED, workers=2)
    return [r["mean_service_recovery_time_s"] for r in result.per_replication]


@pytest.fixture(scope="module")
def aggressive() -> list[float]:
    return storm()


def test_aggressive_retries_are_metastable(aggressive: list[float]) -> None:
    s = summarize(aggressive)
    assert s.n == 4
    assert s.ci_low > 5 * OUTAGE_S, s


def test_load_shedding_recovers_near_the_infrastructure_outage(aggressive: list[float]) -> None:
    shed = storm(queue_limit=12)
    s = summarize(shed)
    assert s.n == 4
    assert s.ci_high < 3 * OUTAGE_S, s
    assert s.mean >= 0.5 * OUTAGE_S, s  # the outage itself is still felt
    diff = paired_difference(shed, aggressive)
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
