"""The regenerative importance-sampling estimator of customer metrics (sim.rare.cycles).

Exact checks: with (near) zero-time requests, no retries and no failover delay a customer is lost
exactly when they arrive while the path is down, so lost checkouts per second = λ·U, U from the
k-of-n and series formulas (sim.theory.analytic). Service times must be positive: 1 ms requests
add the requests in flight when a replica fails, λ·1 ms ≈ 5e-5 customers per failure, at most
0.3% of the lost checkouts at U = 1e-8, far inside the intervals. The two rare cases check three
quantities each with 99.5% intervals (Bonferroni over the six: family-wise ≥ 97%).
Agreement with crude full runs is unpaired (independent seeds), two scenarios checked at 99.5%
each (family-wise ≥ 99%).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy import stats

from sim.experiment.replication import run_replication
from sim.rare.biasing import CompiledChain
from sim.rare.cycles import CycleCustomerEstimates, CycleEstimator
from sim.rare.incidents import sample_incident
from sim.scenario.load import scenario_from_dict
from sim.scenario.spec import Scenario
from sim.theory import analytic as an

HOUR_S = 3600.0
# (mtbf hours, mttr hours) of a 2+2 path with one crew per tier, and the unavailability it gives
RARE = {"1e-4": (200.0, 1.0), "1e-8": (20_000.0, 1.0)}
LAMBDA = 0.05


def path(mtbf_h: float, mttr_h: float, rate: float, service: str = "1ms", attempts: int = 1,
         horizon: str = "1d", warmup: str = "0s") -> Scenario:
    tier = {"replicas": 2, "service_time": service, "mtbf": f"{mtbf_h}h", "mttr": f"{mttr_h}h",
            "min_healthy": 1, "repair_crews": 1}
    return scenario_from_dict({
        "scenario": {"name": "cycles", "horizon": horizon, "warmup": warmup},
        "traffic": {"arrival_rate": rate},
        "customer": {"max_attempts": attempts, "retry_backoff": "10s", "patience": "30s"},
        "path": {"tiers": ["web", "payment"]},
        "tiers": {"web": dict(tier), "payment": dict(tier)},
    })


def exact_unavailability(mtbf_h: float, mttr_h: float) -> float:
    tier = an.k_out_of_n(2, 1, mtbf_h * HOUR_S, mttr_h * HOUR_S, 1)
    return an.series(tier, tier).unavailability


@functools.cache
def rare_estimate(name: str) -> CycleCustomerEstimates:
    mtbf, mttr = RARE[name]
    # 1,000 healthy arrivals in 8 segments: the healthy rate's variance is estimated from 8 values, not 4
    est = CycleEstimator(path(mtbf, mttr, LAMBDA), healthy_s=20_000.0, healthy_segments=8)
    return est.estimate(seed=7, cycles=400, plain_cycles=10, confidence=0.995)


def test_the_mean_cycle_length_is_exact() -> None:
    est = CycleEstimator(path(200.0, 1.0, LAMBDA))
    # all-up holding time 1/(4/MTBF); the long-run all-up fraction = E[up]/E[τ] from the chain
    assert est.mean_up_s == pytest.approx(200.0 * HOUR_S / 4, rel=1e-12)
    tier = an.k_out_of_n(2, 1, 200.0 * HOUR_S, HOUR_S, 1)
    all_up = tier.state_probabilities[0] ** 2
    assert est.mean_up_s / est.mean_cycle_s == pytest.approx(all_up, rel=1e-9)


@pytest.mark.parametrize("name", list(RARE))
def test_lost_checkouts_per_second_are_lambda_times_the_unavailability(name: str) -> None:
    exact = exact_unavailability(*RARE[name])
    assert 0.5 * float(name) < exact < 2.0 * float(name)
    r = rare_estimate(name)
    assert r.rates_per_s["lost_checkouts"].contains(LAMBDA * exact)
    assert r.unavailability.contains(exact)
    assert r.rates_per_s["attempted_checkouts"].contains(LAMBDA)
    # path-up incidents lose nobody with zero-time requests: that stratum is exactly 0
    assert r.plain_windows == r.plain_cycles
    assert r.per_year["lost_checkouts"].value == pytest.approx(
        r.rates_per_s["lost_checkouts"].value * 365 * 86400, rel=1e-12)
    assert 0.0 < r.max_weight_share < 0.2


def test_relative_half_width_stays_bounded_as_outages_get_rarer() -> None:
    # U falls 10,000-fold; crude cycles' relative half-width would grow ~100-fold (1/sqrt(U)).
    # Bounded relative error (Shahabuddin 1994) keeps it of the same order: within a factor 3.
    common = rare_estimate("1e-4").rates_per_s["lost_checkouts"].rel_half_width
    rare = rare_estimate("1e-8").rates_per_s["lost_checkouts"].rel_half_width
    assert rare < 3.0 * common
    # the same for the unavailability from the same weighted cycles (no control variate)
    common_u = rare_estimate("1e-4").unavailability.rel_half_width
    assert rare_estimate("1e-8").unavailability.rel_half_width < 3.0 * common_u


def test_the_same_seed_gives_the_same_estimate() -> None:
    sc = path(200.0, 1.0, LAMBDA)
    a = CycleEstimator(sc, healthy_s=500.0, healthy_segments=2).estimate(3, 20, 4)
    b = CycleEstimator(sc, healthy_s=500.0, healthy_segments=2).estimate(3, 20, 4)
    assert a.rates_per_s == b.rates_per_s and a.customers == b.customers


def test_zone_outages_are_refused() -> None:
    sc = scenario_from_dict({
        "scenario": {"name": "z", "horizon": "1d"}, "traffic": {"arrival_rate": 1.0},
        "path": {"tiers": ["web"]}, "zones": {"a": {"mtbf": "2h", "mttr": "5m"}},
        "tiers": {"web": {"replicas": 2, "service_time": "10ms", "mtbf": "1h", "mttr": "10m",
                          "zones": ["a"]}},
    })
    with pytest.raises(ValueError, match="zone outages"):
        CycleEstimator(sc)


@pytest.mark.slow
@pytest.mark.parametrize("attempts", [1, 3])
def test_lost_checkouts_per_horizon_agree_with_crude_full_runs(attempts: int) -> None:
    sc = path(4.0, 0.5, 0.5, service="100ms", attempts=attempts, horizon="12h", warmup="30m")
    cyc = CycleEstimator(sc, healthy_s=4000.0, healthy_segments=4).estimate(
        seed=21, cycles=300, plain_cycles=100, confidence=0.995)
    lost = np.array([run_replication(sc, 5, r).metrics["lost_checkouts"] for r in range(40)])
    z = stats.norm.ppf(1 - 0.005 / 2)
    cyc_lost = cyc.per_horizon["lost_checkouts"]
    cyc_se = (cyc_lost.ci_high - cyc_lost.value) / z
    diff = cyc_lost.value - lost.mean()
    half = z * math.sqrt(cyc_se**2 + lost.var(ddof=1) / len(lost))
    assert abs(diff) <= half, (cyc_lost, lost.mean(), half)


def test_scripted_incidents_replay_the_chain_path() -> None:
    """Every incident's script takes replicas down and brings each back once, ends all up, and its
    path-down time (a tier with no replica up) is the chain's down time."""
    est = CycleEstimator(path(200.0, 1.0, LAMBDA))
    compiled = CompiledChain(est.chain, 0.8)
    states = list(compiled.index)
    rng = np.random.default_rng(5)
    went_down = 0
    for _ in range(200):
        inc = sample_incident(compiled, states, rng, True, est._replicas)
        down: dict[tuple[int, int], bool] = {}
        since, scripted_down = None, 0.0
        for at, tier, replica, is_down in inc.changes:
            assert down.get((tier, replica), False) != is_down  # alternates, starting up
            down[(tier, replica)] = is_down
            tier_down = any(all(down.get((t, i), False) for i in range(2)) for t in range(2))
            if tier_down and since is None:
                since = at
            elif not tier_down and since is not None:
                scripted_down += at - since
                since = None
        assert not any(down.values()) and inc.changes[-1][0] == inc.length_s
        assert inc.changes[0][0] == 0.0 and inc.changes[0][3]
        assert scripted_down == pytest.approx(inc.down_s, rel=1e-9, abs=1e-9)
        went_down += inc.down_s > 0
    assert went_down > 0


def test_time_varying_traffic_is_refused() -> None:
    sc = path(200.0, 1.0, LAMBDA)
    curve = scenario_from_dict({
        "scenario": {"name": "c", "horizon": "1d"},
        "traffic": {"arrival_rate": 1.0, "spikes": [{"start": "1h", "duration": "10m", "multiplier": 3}]},
        "path": {"tiers": ["web", "payment"]},
        "tiers": {name: {"replicas": 2, "service_time": "10ms", "mtbf": "10h", "mttr": "1h"}
                  for name in sc.path},
    })
    with pytest.raises(ValueError, match="steady traffic"):
        CycleEstimator(curve)
