"""Estimators by name through ``sim.run``: windows replications are the window estimator's, run by
any executor; the JSON says which estimator ran and why a metric is missing."""

from __future__ import annotations

import json
import math

import pytest

from sim.experiment import run
from sim.experiment.methods import MethodError, has_failures, replicate, resolve_method
from sim.rare.batches import RareBatches
from sim.rare.windows import WindowEstimator
from sim.scenario.load import scenario_from_dict
from sim.scenario.spec import Scenario


def flaky(horizon: str = "2h") -> Scenario:
    """A small two-tier path that fails often enough for a few incidents per replication."""
    tier = {"replicas": 2, "service_time": "100ms", "concurrency": 8, "mtbf": "40m", "mttr": "5m"}
    return scenario_from_dict({
        "scenario": {"name": "flaky", "horizon": horizon, "warmup": "5m", "replications": 4},
        "traffic": {"arrival_rate": 1.0},
        "customer": {"max_attempts": 2, "retry_backoff": "5s", "patience": "10s"},
        "path": {"tiers": ["web", "payment"]},
        "tiers": {"web": dict(tier), "payment": dict(tier)},
    })


def never_fails() -> Scenario:
    return scenario_from_dict({
        "scenario": {"name": "solid", "horizon": "10m", "replications": 2},
        "traffic": {"arrival_rate": 0.5},
        "path": {"tiers": ["web"]},
        "tiers": {"web": {"replicas": 1, "service_time": "100ms"}},
    })


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def test_windows_run_gives_the_window_estimators_replications() -> None:
    scenario = flaky()
    result = run(scenario, 3, seed=5, workers=1, method="windows")
    direct = WindowEstimator(scenario)
    assert result.method == "windows"
    for r, row in enumerate(result.per_replication):
        expected = dict(direct.replication(5, r).metrics, mean_in_system=math.nan)
        assert same({k: v for k, v in row.items() if k != "replication"}, expected)
        assert row["replication"] == r


def test_windows_results_do_not_depend_on_the_workers() -> None:
    scenario = flaky()
    one = run(scenario, 4, seed=2, workers=1, method="windows")
    two = run(scenario, 4, seed=2, workers=2, method="windows")
    assert all(same(a, b) for a, b in zip(one.per_replication, two.per_replication, strict=True))
    assert one.to_dict()["metrics"] == two.to_dict()["metrics"]


def test_json_says_which_estimator_ran_and_why_a_metric_is_null() -> None:
    data = json.loads(json.dumps(run(flaky(), 3, seed=1, workers=1, method="windows").to_dict()))
    assert data["method"] == "windows"
    metrics = data["metrics"]
    assert all(m["method"].startswith("windows+") for m in metrics.values())
    assert metrics["lost_checkouts"]["method"] in ("windows+t", "windows+zero-upper")
    missing = metrics["mean_in_system"]
    assert missing["mean"] is None and missing["n"] == 0
    assert "in-system area" in missing["reason"]
    assert "reason" not in metrics["lost_checkouts"]
    crude = run(flaky(), 2, seed=1, workers=1).to_dict()
    assert crude["method"] == "crude" and crude["metrics"]["lost_checkouts"]["method"] == "t"


def test_precision_driven_windows_equals_the_fixed_run_of_its_size() -> None:
    scenario = flaky()
    driven = run(scenario, 2, seed=3, workers=1, method="windows", precision=1e-6, max_looks=2)
    assert driven.method == "windows" and driven.replications == 4 and not driven.precision_met
    fixed = run(scenario, 4, seed=3, workers=1, method="windows")
    assert all(same(a, b) for a, b in zip(driven.per_replication, fixed.per_replication, strict=True))


def test_auto_picks_windows_for_failures_and_crude_without() -> None:
    assert has_failures(flaky()) and not has_failures(never_fails())
    assert resolve_method("auto", flaky()) == "rare"  # exponential laws, steady traffic
    assert resolve_method("auto", never_fails()) == "crude"
    assert run(never_fails(), 2, seed=1, workers=1, method="auto").method == "crude"


def test_unknown_and_unavailable_methods_are_refused() -> None:
    with pytest.raises(MethodError, match="unknown method 'exact'; allowed: crude, windows, rare, auto"):
        run(flaky(), 2, seed=1, workers=1, method="exact")
    with pytest.raises(MethodError, match="no incident timeline"):
        replicate("windows", flaky(), 1, 0, timeline=True)


def test_rare_refuses_a_non_markov_scenario_naming_what_and_what_instead() -> None:
    data = {
        "scenario": {"name": "weibull", "horizon": "1h", "replications": 2},
        "traffic": {"arrival_rate": 1.0},
        "path": {"tiers": ["web"]},
        "tiers": {"web": {"replicas": 2, "service_time": "100ms", "mttr": "5m",
                          "mtbf": {"dist": "weibull", "mean": 7200.0, "shape": 1.5}}},
    }
    scenario = scenario_from_dict(data)
    with pytest.raises(MethodError) as err:
        run(scenario, 2, seed=1, workers=1, method="rare")
    message = str(err.value)
    assert "\n" not in message
    assert "tiers.web.mtbf is Weibull, not exponential" in message and "use method windows" in message
    assert resolve_method("auto", scenario) == "windows"
    with pytest.raises(MethodError, match="nothing ever fails; use method crude"):
        resolve_method("rare", never_fails())


def test_rare_run_gives_the_batches_replications_whatever_the_workers() -> None:
    scenario = flaky("1d")
    one = run(scenario, 2, seed=4, workers=1, method="rare")
    two = run(scenario, 2, seed=4, workers=2, method="rare")
    assert one.method == two.method == "rare"
    assert all(same(a, b) for a, b in zip(one.per_replication, two.per_replication, strict=True))
    assert one.to_dict()["metrics"] == two.to_dict()["metrics"]
    direct = RareBatches(scenario, seed=4).replication(4, 1).metrics
    assert same({k: v for k, v in one.per_replication[1].items() if k != "replication"}, direct)


def test_rare_metrics_say_how_they_were_estimated() -> None:
    data = json.loads(json.dumps(run(flaky("1d"), 2, seed=1, workers=1, method="rare").to_dict()))
    assert data["method"] == "rare"
    metrics = data["metrics"]
    assert metrics["lost_checkouts"]["method"] == "rare+t"
    assert metrics["lost_checkouts"]["ci_high"] > metrics["lost_checkouts"]["ci_low"]
    for name in ("availability", "availability_web", "outage_count", "mean_recovery_time_s",
                 "downtime_minutes_per_year", "availability_nines"):
        m = metrics[name]
        assert m["method"] == "rare+exact", name
        assert m["ci_low"] == pytest.approx(m["mean"]) and m["ci_high"] == pytest.approx(m["mean"])
    for name in ("latency_p99_s", "mean_in_system", "mean_service_recovery_time_s"):
        assert metrics[name]["mean"] is None and "rare-event cycles" in metrics[name]["reason"]
