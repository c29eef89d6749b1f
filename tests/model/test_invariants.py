"""Invariants on randomly built scenarios (fixed seeds): every feature combination runs, and the
books balance — every measured customer is completed or lost, deferred ones are completed ones,
fractions lie in [0, 1], nothing is negative."""

from __future__ import annotations

import random

import pytest

from sim.experiment import run_replication
from sim.scenario import scenario_from_dict

pytestmark = pytest.mark.slow


def rand_dist(r: random.Random, mean_s: float) -> object:
    k = r.choice(["plain", "exp", "det", "logn", "weib", "unif"])
    if k == "plain":
        return f"{mean_s}s"
    if k == "exp":
        return {"dist": "exponential", "mean": mean_s}
    if k == "det":
        return {"dist": "deterministic", "value": mean_s}
    if k == "logn":
        return {"dist": "lognormal", "mean": mean_s, "cv": r.choice([0.3, 1.0, 2.0])}
    if k == "weib":
        return {"dist": "weibull", "mean": mean_s, "shape": r.choice([0.7, 1.5, 3.0])}
    return {"dist": "uniform", "low": mean_s * 0.5, "high": mean_s * 1.5}


def scenario(r: random.Random) -> dict:
    tiers = r.sample(["web", "cart", "payment", "fraud"], r.randint(1, 3))
    zones = ["a", "b"] if r.random() < 0.5 else []
    raw = {
        "scenario": {
            "horizon": r.choice([600, 1800, 3600]),
            "warmup": r.choice([0, 60]),
            "replications": 2,
            "seed": r.randint(0, 99),
        },
        "traffic": {"arrival_rate": r.choice([0.5, 5, 30])},
        "customer": {
            "max_attempts": r.randint(1, 5),
            "retry_backoff": rand_dist(r, r.choice([0.5, 5, 30])),
            "patience": r.choice(["inf", "5s", "30s", {"dist": "exponential", "mean": 10}]),
            "backoff_policy": r.choice(
                ["sampled", "exponential-full-jitter", "exponential-equal-jitter", "decorrelated-jitter"]
            ),
            "abandon_probability": r.choice([0, 0.2]),
        },
        "path": {"tiers": tiers},
        "tiers": {},
    }
    for i, t in enumerate(tiers):
        n = r.randint(1, 3)
        spec = {
            "replicas": n,
            "service_time": rand_dist(r, r.choice([0.05, 0.3, 1.0])),
            "concurrency": r.choice([1, 4, 32, "inf"]),
            "queue_limit": r.choice([0, 5, "inf"]),
            "mtbf": r.choice(["inf", rand_dist(r, 600), rand_dist(r, 3600)]),
            "mttr": rand_dist(r, r.choice([30, 300])),
            "repair_crews": r.choice([1, "inf"]),
            "min_healthy": r.randint(1, n),
            "mode": r.choice(["active-active", "active-passive"]),
            "load_balancing": r.choice(["round-robin", "least-outstanding", "random"]),
            "failure_mode": r.choice(["error", "hang"]),
        }
        if r.random() < 0.5:
            spec["health_check_interval"] = r.choice(["2s", "10s"])
            spec["unhealthy_threshold"] = r.randint(1, 3)
        else:
            spec["failover_delay"] = r.choice([0, 5, 20])
        if zones and r.random() < 0.7:
            spec["zones"] = zones
        if r.random() < 0.3:
            spec["circuit_breaker"] = {"open_duration": r.choice(["5s", "30s"])}
        if i == len(tiers) - 1 and r.random() < 0.3:
            spec["async"] = True
            spec["async_queue_capacity"] = r.choice([10, "inf"])
            spec["async_max_delay"] = r.choice(["1m", "1h"])
        raw["tiers"][t] = spec
    if zones:
        raw["zones"] = {z: {"mtbf": r.choice(["inf", 1800]), "mttr": 300} for z in zones}
    if r.random() < 0.3:
        raw["tiers"]["db"] = {"replicas": 2, "mtbf": 900, "mttr": 120}
        raw["path"]["dependencies"] = ["db"]
    if r.random() < 0.5:
        raw["outages"] = [
            {"tier": r.choice(tiers), "start": 100, "duration": r.choice([30, 200]), "replicas": "all"}
        ]
        if zones and r.random() < 0.5:
            raw["outages"].append({"zone": "a", "start": 150, "duration": 60})
    if r.random() < 0.3:
        raw["communication"] = {
            "status_page": True,
            "detection_delay": 20,
            "return_after": 60,
            "return_probability": 0.5,
        }
    if r.random() < 0.3:
        raw["traffic"]["daily_profile"] = [r.choice([0.5, 1, 2]) for _ in range(24)]
        raw["traffic"]["spikes"] = [{"start": 200, "duration": 100, "multiplier": 3}]
    return raw


@pytest.mark.parametrize("seed", range(24))
def test_random_scenario_balances_its_books(seed: int) -> None:
    raw = scenario(random.Random(seed))
    m = run_replication(scenario_from_dict(raw), 1, 0).metrics
    assert m["attempted_checkouts"] == m["completed_checkouts"] + m["lost_checkouts"], raw
    assert m["deferred_checkouts"] <= m["completed_checkouts"]
    for name, value in m.items():
        if name.startswith("availability") or name == "lost_fraction":
            assert 0.0 <= value <= 1.0, (name, value)
        assert not value < 0.0, (name, value)
