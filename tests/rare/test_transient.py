"""Exact transient expectations of the infrastructure chain from all-up (sim.rare.transient).

Checked against closed forms (one replica: a two-state chain), against the matrix exponential on a
small chain, and against the stationary solve over a window long after the start, where the
occupancy is π × length: the uniformization keeps full relative accuracy at U = 1e-11.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import expm

from sim.rare.markov import InfrastructureChain, stationary
from sim.rare.transient import generator, horizon_measures, occupancy
from sim.scenario.load import scenario_from_dict
from sim.scenario.spec import Scenario
from sim.theory import analytic as an

HOUR_S = 3600.0


def tiers(replicas: int, mtbf: str, mttr: str, crews: int | None = None,
          names: tuple[str, ...] = ("web", "payment")) -> Scenario:
    tier = {"replicas": replicas, "service_time": "1ms", "mtbf": mtbf, "mttr": mttr, "min_healthy": 1}
    if crews is not None:
        tier["repair_crews"] = crews
    return scenario_from_dict({
        "scenario": {"name": "chain", "horizon": "1d"},
        "traffic": {"arrival_rate": 1.0},
        "path": {"tiers": list(names)},
        "tiers": {name: dict(tier) for name in names},
    })


@pytest.mark.parametrize("lo_h, hi_h", [(0.0, 24.0), (2.0, 5.0)])
def test_one_replica_matches_the_two_state_closed_form(lo_h: float, hi_h: float) -> None:
    chain = InfrastructureChain(tiers(1, "10h", "1h", names=("web",)))
    fail, repair = 1.0 / (10 * HOUR_S), 1.0 / HOUR_S
    s = fail + repair
    u = fail / s

    def down(t: float) -> float:  # ∫_0^t P(down) = U·(t − (1 − e^{−st})/s)
        return u * (t - (1.0 - math.exp(-s * t)) / s)

    def up(t: float) -> float:
        return t - down(t)

    lo, hi = lo_h * HOUR_S, hi_h * HOUR_S
    hm = horizon_measures(chain, lo, hi)
    assert hm.path_down_s == pytest.approx(down(hi) - down(lo), rel=1e-12)
    assert hm.tier_down_s["web"] == pytest.approx(hm.path_down_s, rel=1e-12)
    assert hm.outages == pytest.approx(fail * (up(hi) - up(lo)), rel=1e-12)
    assert hm.incidents == pytest.approx(hm.outages, rel=1e-12)  # one replica: every incident is an outage
    assert hm.outage_time_s == pytest.approx(hm.outages / repair, rel=1e-12)  # each lasts 1/μ on average
    assert hm.availability == pytest.approx(1.0 - hm.path_down_s / (hi - lo))


def test_occupancy_matches_the_matrix_exponential() -> None:
    chain = InfrastructureChain(tiers(2, "8h", "30m", crews=1))
    _, q = generator(chain)
    m = q.shape[0]
    for lo, hi in ((0.0, 86400.0), (3600.0, 7200.0)):
        x, _ = occupancy(q, lo, hi)

        def integral(t: float) -> np.ndarray:  # ∫_0^t e^{Qs} ds from the block matrix [[Q, I], [0, 0]]
            block = np.zeros((2 * m, 2 * m))
            block[:m, :m], block[:m, m:] = q, np.eye(m)
            return expm(block * t)[:m, m:][0]

        np.testing.assert_allclose(x, integral(hi) - integral(lo), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mtbf, u_order", [("200h", 1e-4), ("1480m", 1e-11)])
def test_long_after_the_start_the_occupancy_is_stationary_to_full_relative_accuracy(mtbf: str,
                                                                                   u_order: float) -> None:
    scenario = tiers(2 if u_order > 1e-6 else 4, mtbf, "1h" if u_order > 1e-6 else "1m", crews=1)
    chain = InfrastructureChain(scenario)
    exact = stationary(chain)
    lo, hi = 30 * 86400.0, 31 * 86400.0
    hm = horizon_measures(chain, lo, hi)
    assert exact.unavailability == pytest.approx(u_order, rel=0.5)
    assert hm.path_down_s / (hi - lo) == pytest.approx(exact.unavailability, rel=1e-8)
    assert hm.outages / (hi - lo) == pytest.approx(exact.outage_rate_per_s, rel=1e-8)
    assert hm.outage_time_s / hm.outages == pytest.approx(exact.mean_outage_s, rel=1e-8)


def test_from_all_up_the_first_hours_see_less_downtime_than_the_long_run() -> None:
    chain = InfrastructureChain(tiers(3, "8h", "20m"))
    hm = horizon_measures(chain, 0.0, 3 * 86400.0)
    long_run = stationary(chain).unavailability * 3 * 86400.0
    assert hm.path_down_s < long_run
    # unlimited crews: replicas are independent, P(one down at t) = u(1 − e^{−st}), so a tier of three
    # falls short of its long-run downtime by ∫ u³(1 − (1 − e^{−st})³) dt = u³·(11/6)/s, s = fail + repair
    expected = 0.0
    for mtbf_h in (8.0, 8.0):
        fail, repair = 1.0 / (mtbf_h * 3600.0), 1.0 / 1200.0
        u = fail / (fail + repair)
        expected += u**3 * (11.0 / 6.0) / (fail + repair)
    # two tiers rarely down together: the path's deficit is the sum, up to the overlap (~ U²)
    assert long_run - hm.path_down_s == pytest.approx(expected, rel=1e-3)


def test_a_two_of_three_tier_matches_the_k_out_of_n_formula_in_the_long_run() -> None:
    scenario = scenario_from_dict({
        "scenario": {"name": "2-of-3", "horizon": "1d"}, "traffic": {"arrival_rate": 1.0},
        "path": {"tiers": ["web"]},
        "tiers": {"web": {"replicas": 3, "min_healthy": 2, "service_time": "1ms", "mtbf": "2500h",
                          "mttr": "1h", "repair_crews": 1}},
    })
    exact = an.k_out_of_n(3, 2, 2500 * HOUR_S, HOUR_S, 1)
    lo, hi = 30 * 86400.0, 40 * 86400.0
    hm = horizon_measures(InfrastructureChain(scenario), lo, hi)
    assert exact.unavailability == pytest.approx(1e-6, rel=0.1)
    assert hm.path_down_s / (hi - lo) == pytest.approx(exact.unavailability, rel=1e-8)
    assert hm.tier_down_s["web"] == hm.path_down_s
