"""The infrastructure-only simulator: exact timelines on tiny deterministic cases, and the full
model's path, draw for draw, on a shared seed."""

from __future__ import annotations

import pytest

from sim.experiment.replication import run_replication
from sim.rare.infrastructure import simulate_infrastructure
from sim.rare.markov import InfrastructureChain, markov_problems, stationary
from sim.scenario.load import scenario_from_dict
from sim.scenario.spec import Scenario
from sim.stats.intervals import summarize


def _scenario(tiers: dict, horizon: str = "150s", **sections) -> Scenario:
    path: dict = {"tiers": [t for t in tiers if t != "db"]}
    if "db" in tiers:
        path["dependencies"] = ["db"]
    raw = {
        "scenario": {"name": "infra", "horizon": horizon},
        "traffic": {"arrival_rate": 0.05},
        "path": path,
        "tiers": tiers,
        **sections,
    }
    return scenario_from_dict(raw)


def _fixed(replicas: int, min_healthy: int, crews: int | str = "inf", mtbf: str = "100s") -> dict:
    """A tier whose replicas fail every ``mtbf`` ("inf": never) and take exactly 10 s to repair."""
    return {
        "replicas": replicas, "service_time": "10ms", "min_healthy": min_healthy, "repair_crews": crews,
        "mtbf": mtbf if mtbf == "inf" else {"dist": "deterministic", "value": mtbf},
        "mttr": {"dist": "deterministic", "value": "10s"},
    }


def test_one_crew_repairs_simultaneous_failures_one_after_the_other() -> None:
    """Both replicas fail at 100 s; one crew repairs replica 0 until 110 s, then replica 1 until 120 s."""
    trace = simulate_infrastructure(_scenario({"web": _fixed(2, 1, crews=1)}), seed=1, replication=0)
    assert trace.path_down == ((100.0, 110.0),)
    assert trace.incidents == ((100.0, 120.0),)
    assert trace.path_down_time_s() == 10.0


def test_unlimited_crews_and_k_out_of_n() -> None:
    """Two of three needed, all fail at 100 s and are repaired in parallel: down [100, 110)."""
    trace = simulate_infrastructure(_scenario({"web": _fixed(3, 2)}), seed=1, replication=0)
    assert trace.path_down == ((100.0, 110.0),) and trace.incidents == ((100.0, 110.0),)


def test_zone_and_injected_outage_and_an_open_interval_followed_past_the_horizon() -> None:
    """Replica 0 of web sits in zone a (down 50–80 s); an injected outage takes web's replica 1
    down at 60 s for 30 s; replicas never fail on their own; the zone fails again at 130 s
    (mttr 30 s), past the 140 s horizon, so that incident is followed to its end at 160 s."""
    web = _fixed(2, 2, mtbf="inf") | {"zones": ["a", "b"]}
    zones = {"a": {"mtbf": {"dist": "deterministic", "value": "50s"},
                   "mttr": {"dist": "deterministic", "value": "30s"}}, "b": {}}
    outages = [{"tier": "web", "start": "60s", "duration": "30s", "replicas": 1}]
    scenario = _scenario({"web": web}, horizon="140s", zones=zones, outages=outages)
    trace = simulate_infrastructure(scenario, seed=1, replication=0)
    assert trace.incidents == ((50.0, 90.0), (130.0, 160.0))
    assert trace.path_down == ((50.0, 90.0), (130.0, 160.0))
    assert trace.path_down_time_s() == 40.0 + 10.0


def test_a_dependency_brings_the_path_down() -> None:
    scenario = _scenario({"web": _fixed(2, 1, mtbf="inf"), "db": _fixed(1, 1, mtbf="70s")})
    trace = simulate_infrastructure(scenario, seed=1, replication=0)
    assert trace.path_down == ((70.0, 80.0),)  # the next failure, at 150 s, is at the horizon: not kept


def _mixed_scenario() -> Scenario:
    """Crews, k-of-n, lognormal repairs, a zone, an injected outage and a dependency, over 3 days."""
    tier = {"service_time": "10ms", "failover_delay": "10s"}
    return _scenario(
        {
            "web": tier | {"replicas": 3, "min_healthy": 2, "mtbf": "3h", "repair_crews": 1,
                           "mttr": {"dist": "lognormal", "mean": "20m", "cv": 1.0}, "zones": ["a", "b"]},
            "payment": tier | {"replicas": 2, "min_healthy": 1, "mtbf": "4h", "mttr": "40m",
                               "mode": "active-passive", "zones": ["b"]},
            "db": tier | {"replicas": 1, "min_healthy": 1, "mtbf": "2d", "mttr": "15m"},
        },
        horizon="3d",
        zones={"a": {"mtbf": "1d", "mttr": "30m"}, "b": {"mtbf": "2d", "mttr": "45m"}},
        outages=[{"tier": "payment", "start": "30h", "duration": "20m", "replicas": 1}],
    )


@pytest.mark.parametrize("replication", [0, 1, 2])
def test_matches_the_full_models_outages_on_a_shared_seed(replication: int) -> None:
    """Same seed, same named streams: the outages the full model records are this trace's."""
    scenario = _mixed_scenario()
    trace = simulate_infrastructure(scenario, seed=4, replication=replication)
    metrics = run_replication(scenario, seed=4, replication=replication).metrics
    horizon = scenario.horizon_s
    assert metrics["outage_count"] == len(trace.path_down) > 0
    assert metrics["availability"] == pytest.approx(1.0 - trace.path_down_time_s() / horizon, rel=1e-12)
    lengths = [b - a for a, b in trace.path_down]
    assert metrics["mean_recovery_time_s"] == pytest.approx(sum(lengths) / len(lengths), rel=1e-12)
    assert trace.incidents[0][0] <= trace.path_down[0][0]


def test_markov_view_refuses_what_is_not_markov() -> None:
    problems = markov_problems(_mixed_scenario())
    assert "tiers.web.mttr is LogNormal, not exponential" in problems
    assert "injected outages happen at fixed times" in problems
    with pytest.raises(ValueError, match="not a Markov chain"):
        InfrastructureChain(_mixed_scenario())


def test_event_simulation_and_markov_chain_agree_with_zones_crews_and_a_dependency() -> None:
    """All-exponential infrastructure with one crew per tier, two zones and a dependency: the
    time-average path-down fraction of 40 independent 60-day event-driven runs against the chain's
    exact stationary unavailability (99% t interval; the all-up start biases the mean by about
    U·(cycle length)/(60 days), far below the interval's width)."""
    scenario = _scenario(
        {
            "web": {"replicas": 3, "min_healthy": 2, "mtbf": "6h", "mttr": "1h", "repair_crews": 1,
                    "service_time": "10ms", "zones": ["a", "b"]},
            "payment": {"replicas": 2, "min_healthy": 1, "mtbf": "5h", "mttr": "2h", "repair_crews": 1,
                        "service_time": "10ms", "zones": ["b", "a"]},
            "db": {"replicas": 1, "min_healthy": 1, "mtbf": "10d", "mttr": "30m", "service_time": "10ms"},
        },
        horizon="60d",
        zones={"a": {"mtbf": "4d", "mttr": "1h"}, "b": {"mtbf": "6d", "mttr": "2h"}},
    )
    measures = stationary(InfrastructureChain(scenario))
    fractions = [
        simulate_infrastructure(scenario, seed=8, replication=r).path_down_time_s() / scenario.horizon_s
        for r in range(40)
    ]
    summary = summarize(fractions, confidence=0.99)
    assert summary.contains(measures.unavailability)
    assert summary.half_width < 0.2 * measures.unavailability  # the comparison has teeth
