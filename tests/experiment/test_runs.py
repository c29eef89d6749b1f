"""Experiments: reproducible replications, common random numbers, self-describing results."""

from __future__ import annotations

import copy
import json
import math

import pytest

from sim.experiment import run, run_replication
from sim.scenario import scenario_from_dict
from sim.stats.metrics import METRICS

RAW = {
    "scenario": {"name": "tiny", "horizon": "20m", "replications": 3, "seed": 11},
    "traffic": {"arrival_rate": 2.0},
    "customer": {"max_attempts": 3, "retry_backoff": "10s", "patience": "20s"},
    "path": {"tiers": ["web", "payment"]},
    "tiers": {
        "web": {"replicas": 1, "service_time": "100ms", "concurrency": 8, "mtbf": "5m", "mttr": "1m"},
        "payment": {"replicas": 1, "service_time": "300ms", "concurrency": 8, "mtbf": "4m", "mttr": "2m"},
    },
}


def scenario(replicas: int = 1, **extra):
    raw = copy.deepcopy(RAW)
    for tier in raw["tiers"].values():
        tier["replicas"] = replicas
    raw.update(extra)
    return scenario_from_dict(raw)


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_run_replication_is_reproducible() -> None:
    a = run_replication(scenario(), 11, 1).metrics
    b = run_replication(scenario(), 11, 1).metrics
    assert a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    c = run_replication(scenario(), 11, 2).metrics
    assert a["attempted_checkouts"] != c["attempted_checkouts"] or a["lost_checkouts"] != c["lost_checkouts"]


def test_results_do_not_depend_on_workers() -> None:
    one = run(scenario(), replications=3, seed=11, workers=1)
    two = run(scenario(), replications=3, seed=11, workers=2)
    assert len(one.per_replication) == len(two.per_replication) == 3
    for r1, r2 in zip(one.per_replication, two.per_replication, strict=True):
        assert r1.keys() == r2.keys()
        assert all(same(r1[k], r2[k]) for k in r1), (r1, r2)
    for name, s in one.metrics.items():
        t = two.metrics[name]
        assert same(s.mean, t.mean) and same(s.ci_low, t.ci_low) and same(s.ci_high, t.ci_high)


def test_redundancy_keeps_the_arrivals() -> None:
    """Common random numbers: a second replica changes outcomes, never who arrives."""
    for replication in range(3):
        single = run_replication(scenario(1), 11, replication).metrics
        double = run_replication(scenario(2), 11, replication).metrics
        assert single["attempted_checkouts"] == double["attempted_checkouts"]
        assert single["attempted_checkouts"] > 1000


def test_run_result_json_has_every_metric_summary() -> None:
    result = run(scenario(), replications=3, seed=11, workers=1)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=True))
    assert data["seed"] == 11 and data["replications"] == 3
    assert data["scenario"]["scenario"]["name"] == "tiny"
    for name in METRICS:
        assert name in data["metrics"], name
    for name in ("availability_web", "availability_payment"):
        assert name in data["metrics"]
    for name, summary in data["metrics"].items():
        assert set(summary) == {"mean", "std", "n", "ci_low", "ci_high", "method", "rel_half_width"}, name
    assert data["method"] == "crude" and data["precision_met"] is None
    for name in ("lost_checkouts_per_year", "downtime_minutes_per_year", "availability_nines"):
        assert name in data["metrics"]
    assert len(data["per_replication"]) == 3
    assert [r["replication"] for r in data["per_replication"]] == [0, 1, 2]
    assert data["version"]


def test_summaries_respect_metric_bounds() -> None:
    result = run(scenario(), replications=3, seed=11, workers=1)
    for name in ("lost_fraction", "availability"):
        s = result.metrics[name]
        assert 0.0 <= s.ci_low <= s.mean <= s.ci_high <= 1.0
    assert result.metrics["lost_checkouts"].ci_low >= 0.0


@pytest.mark.parametrize("replication", [0, 1])
def test_timeline_does_not_change_metrics(replication: int) -> None:
    plain = run_replication(scenario(), 11, replication).metrics
    traced = run_replication(scenario(), 11, replication, timeline=True)
    assert traced.timeline is not None
    assert all(same(plain[k], traced.metrics[k]) for k in plain)
