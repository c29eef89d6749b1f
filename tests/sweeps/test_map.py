"""The metastability map: the classification rule, the exact interval, the plan's defaults and
checks, and a small map end to end (a storm that cannot happen and one that cannot end), resumed."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.scenario import load_scenario
from sim.sweeps.design import DesignError
from sim.sweeps.map import MapSpec, path_capacity, plan_map, trigger_recovery_s
from sim.sweeps.map_run import run_map, stuck_interval

STORM = "scenarios/retry-storm.toml"


# -- the classification --------------------------------------------------------------------------
@pytest.mark.parametrize(("incidents", "expected"), [
    ([], 0.0),  # never degraded
    ([[100.0, 290.0]], 0.0),  # degraded during the trigger only: back by its end (300)
    ([[100.0, 340.0]], 40.0),  # back 40 s after the end
    ([[100.0, 340.0], [500.0, 560.0]], 260.0),  # a relapse inside the stuck limit counts
    ([[100.0, 340.0], [950.0, 990.0]], 40.0),  # an incident after the limit (900) is another story
    ([[100.0, 1500.0]], 1200.0),  # still degraded at the limit: stuck
])
def test_recovery_is_the_end_of_the_last_incident_begun_by_the_limit(incidents, expected) -> None:
    assert trigger_recovery_s(incidents, trigger_end_s=300.0, stuck_after_s=600.0) == expected


def test_stuck_interval_is_clopper_pearson() -> None:
    # 0 of 10: upper bound 1 − 0.025^(1/10); 10 of 10: lower bound 0.025^(1/10); 5 of 10 is symmetric
    low, high = stuck_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** 0.1, rel=1e-9)
    low, high = stuck_interval(10, 10)
    assert low == pytest.approx(0.025 ** 0.1, rel=1e-9) and high == 1.0
    low, high = stuck_interval(5, 10)
    assert low == pytest.approx(1 - high, rel=1e-9) and low == pytest.approx(0.18708, abs=1e-5)
    assert all(math.isnan(x) for x in stuck_interval(0, 0))


# -- the plan ------------------------------------------------------------------------------------
def test_defaults_take_the_scenarios_own_outage_and_cut_the_horizon() -> None:
    plan = plan_map(MapSpec(STORM))
    assert (plan.trigger, plan.tier, plan.magnitudes, plan.start_s) == ("outage", "payment", (1.0,), 1200.0)
    assert plan.capacity_per_s == 48.0 == path_capacity(load_scenario(STORM))  # 2 × 12 / 0.5 s
    assert plan.sweep.base.horizon_s == 1200.0 + 600.0 + 600.0 + 120.0
    assert plan.sweep.replications == 10 and plan.sweep.seed == 21
    n = len(plan.loads) * len(plan.durations_s)
    assert len(plan.sweep.points) == n == 15
    # load fastest, then duration; every point carries exactly one trigger
    for p, scenario in enumerate(plan.sweep.scenarios):
        _, duration, load = plan.point_axes(p)
        assert scenario.traffic.arrival_rate_per_s == pytest.approx(load * 48.0)
        (outage,) = scenario.outages
        assert (outage.tier, outage.replicas, outage.start_s, outage.duration_s) == \
            ("payment", 1, 1200.0, duration)
        assert not scenario.traffic.spikes


def test_a_spike_trigger_replaces_the_outage() -> None:
    plan = plan_map(MapSpec(STORM, trigger="spike", magnitudes=[2.0], durations_s=[60.0], loads=[0.5],
                            start_s=300.0, stuck_after_s=120.0))
    (scenario,) = plan.sweep.scenarios
    assert not scenario.outages
    (spike,) = scenario.traffic.spikes
    assert (spike.start_s, spike.duration_s, spike.multiplier) == (300.0, 60.0, 2.0)
    assert plan.trigger_end_s(0) == 360.0 and scenario.horizon_s == 300.0 + 60.0 + 120.0 + 120.0


def test_a_closed_population_maps_loads_to_clients() -> None:
    plan = plan_map(MapSpec(STORM, loads=[0.5, 0.75], durations_s=[60.0],
                            overrides=["traffic={model='closed', clients=10, think_time='2s'}"]))
    # clients = load × capacity × mean think time: 0.5 × 48 × 2 = 48 and 72
    assert [s.traffic.clients for s in plan.sweep.scenarios] == [48, 72]
    assert plan.load_model == "closed"


@pytest.mark.parametrize(("spec", "flag", "words"), [
    (dict(magnitudes=[3]), "--magnitude", "integers from 1 to payment's replicas (2)"),
    (dict(magnitudes=[1.5]), "--magnitude", "integers"),
    (dict(tier="web"), "--tier", "not a tier of the path"),
    (dict(loads=[]), "--load", "an empty list"),
    (dict(loads=[0.5, 0.5]), "--load", "repeats a value"),
    (dict(durations_s=[0.0]), "--duration", "expected numbers > 0"),
    (dict(trigger="flood"), "--trigger", "expected one of outage, spike"),
    (dict(stuck_after_s=0.0), "--stuck-after", "expected a duration > 0"),
    (dict(trigger="spike", tier="payment"), "--tier", "applies to --trigger outage only"),
    (dict(start_s=60.0, overrides=["scenario.warmup='2m'"]), "--start", "the scenario's warmup (2m)"),
    (dict(overrides=["tiers.payment.concurrency='inf'"]), "--load", "no finite capacity"),
])
def test_bad_maps_are_refused_naming_the_option(spec: dict, flag: str, words: str) -> None:
    with pytest.raises(DesignError) as err:
        plan_map(MapSpec(STORM, **spec))
    assert str(err.value).startswith(flag) and words in str(err.value)


# -- end to end ----------------------------------------------------------------------------------
def small_map(**extra: object) -> MapSpec:
    """One payment replica of two down for 30 s at 20% and 95% of capacity; 3 replications each.

    At 20% the surviving replica runs at 40%: nothing times out, and no storm can start. At 95% it
    runs at 190% during the outage, every customer retries up to ten times a second apart, and
    the retries alone exceed the capacity after the replica is back: no replication can recover.
    """
    return MapSpec(STORM, durations_s=[30.0], loads=[0.2, 0.95], start_s=120.0, stuck_after_s=120.0,
                   replications=3, **extra)


def test_a_small_map_separates_a_storm_from_calm_and_resumes(tmp_path: Path) -> None:
    plan = plan_map(small_map())
    result = run_map(plan, "serial", out=tmp_path / "map")
    calm, storm = result.points
    assert (calm.load, calm.stuck, calm.replications, calm.recovery_max_s) == (0.2, 0, 3, 0.0)
    assert (storm.load, storm.stuck, storm.replications) == (0.95, 3, 3)
    assert (storm.ci_low, storm.ci_high) == pytest.approx((0.025 ** (1 / 3), 1.0))
    (boundary,) = result.boundary
    assert (boundary.recovers_up_to, boundary.stuck_from, boundary.p_stuck) == (0.2, 0.95, 1.0)
    assert {"map.csv", "boundary.csv", "results.csv", "summary.csv"} <= {p.name for p in result.files}
    header = (tmp_path / "map" / "map.csv").read_text().splitlines()[0]
    assert header.startswith("point,magnitude,duration_s,load,replications,stuck,p_stuck")
    again = run_map(plan, "serial", out=tmp_path / "map")
    assert again.resumed == plan.sweep.total and again.points == result.points
