"""The crash control of the path-up stratum (sim.rare.controls, sim.rare.jumps, sim.rare.cycles).

q_r is checked against closed forms of the jump chain (first-step analysis by hand). With 100 ms
requests, one attempt and no failover delay, a single-replica incident loses exactly the requests
the crashed replica held, so the path-up stratum's lost term e equals X incident by incident. The
statistical checks use independent replication indices for the runs with and without the control:
their means agree (Welch t-test, α = 0.01) and the variance drops (one-sided F-test, α = 0.01);
each estimate is unbiased on its own, so only chance at those levels can fail them.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

from sim.rare.batches import crash_control
from sim.rare.controls import CrashControl
from sim.rare.cycles import CycleCustomerEstimates, CycleEstimator
from sim.rare.jumps import JumpChain
from sim.scenario.load import scenario_from_dict
from sim.scenario.spec import Scenario

BATCHES = 8


def path(replicas: int, tiers: tuple[str, ...], mtbf: str = "1480m", mttr: str = "1m", rate: float = 20.0,
         crews: int = 1) -> Scenario:
    tier = {"replicas": replicas, "service_time": "100ms", "mtbf": mtbf, "mttr": mttr, "min_healthy": 1,
            "repair_crews": crews}
    return scenario_from_dict({
        "scenario": {"name": "crash-control", "horizon": "1d"},
        "traffic": {"arrival_rate": rate},
        "path": {"tiers": list(tiers)},
        "tiers": {name: dict(tier) for name in tiers},
    })


def control_of(scenario: Scenario) -> CrashControl:
    return CycleEstimator(scenario).crash


def test_q_of_one_tier_of_two_is_repair_before_the_second_failure() -> None:
    f, mu = 1.0 / (10 * 3600.0), 1.0 / 3600.0  # MTBF 10 h, MTTR 1 h
    control = control_of(path(2, ("web",), "10h", "1h"))
    assert control.replicas == [("web", 0)]  # the lowest-numbered replica goes down first
    assert control.q == pytest.approx([mu / (mu + f)], rel=1e-12)


def test_q_of_a_two_plus_two_path_by_first_step_analysis() -> None:
    # A: one web replica down; B: one down in each tier. s_A = (μ + 2f·s_B)/(μ + 3f),
    # s_B = 2μ·s_A/(2μ + 2f) (either repair leads to a state like A); each tier fails first w.p. 1/2
    f, mu = 1.0 / (10 * 3600.0), 1.0 / 3600.0
    s_a = mu / (mu + 3 * f - 2 * f * mu / (mu + f))
    control = control_of(path(2, ("web", "payment"), "10h", "1h"))
    assert control.replicas == [("web", 0), ("payment", 0)]
    assert control.q == pytest.approx([s_a / 2, s_a / 2], rel=1e-12)
    chain = CycleEstimator(path(2, ("web", "payment"), "10h", "1h")).chain
    survive = JumpChain(chain).first_failure_survival()
    assert sum(survive.values()) == pytest.approx(s_a, rel=1e-12)


def test_single_replica_tiers_have_nothing_to_control() -> None:
    control = control_of(path(1, ("web", "payment"), "10h", "1h"))
    assert control.replicas == [] and control.known_part([[], []]) == (0.0, 0.0)


@functools.cache
def four_plus_four(control: float, replication: int) -> CycleCustomerEstimates:
    est = CycleEstimator(path(4, ("web", "payment")), healthy_s=200.0, healthy_segments=1)
    return est.estimate(seed=11, cycles=2, plain_cycles=8, replication=replication, control=control)


def test_a_single_failure_loses_exactly_the_requests_it_caught() -> None:
    var_e, cov, var_x = four_plus_four(0.0, 0).crash_moments
    assert var_x > 0.0 and var_e == pytest.approx(var_x, rel=1e-12) and cov == pytest.approx(var_x, rel=1e-12)
    beta, left = crash_control(four_plus_four(0.0, 0))
    assert beta == pytest.approx(1.0, rel=1e-12) and left == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow
def test_the_control_keeps_the_mean_and_cuts_the_batch_variance() -> None:
    plain = np.array([four_plus_four(0.0, r).per_horizon["lost_checkouts"].value for r in range(BATCHES)])
    controlled = np.array([four_plus_four(1.0, 100 + r).per_horizon["lost_checkouts"].value
                           for r in range(BATCHES)])
    assert stats.ttest_ind(plain, controlled, equal_var=False).pvalue > 0.01
    f = plain.var(ddof=1) / controlled.var(ddof=1)
    assert f > stats.f.ppf(0.99, BATCHES - 1, BATCHES - 1)
