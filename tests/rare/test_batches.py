"""Rare-event replications: one batch of failure-biased cycles each (sim.rare.batches).

Exact checks use 1 ms requests, one attempt and no failover delay: a customer is then lost exactly
when arriving while the path is down, so a horizon's expected lost checkouts are λ × the expected
down time from all-up (sim.rare.transient), up to the requests in flight when a replica fails
(λ·1 ms per failure, below 1e-4 of the losses here). Each case is checked with a 99.5% Student-t
interval over its batches; the three cases together at a family-wise level of at least 98.5%.
(A k-of-n tier with k > 1 still serves below min_healthy, so there λ·U is not its loss rate; its
exact unavailability is checked in test_transient against the k-of-n formula.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.experiment.replication import run_replication
from sim.rare.batches import BatchSize, RareBatches, batch_size, rare_problems, rare_replications
from sim.rare.cycles import CycleCustomerEstimates
from sim.rare.markov import stationary
from sim.scenario.load import load_scenario, scenario_from_dict
from sim.scenario.spec import Scenario
from sim.stats.summaries import summarize_metric

LAMBDA = 0.05
SMALL = BatchSize(cycles=60, plain_cycles=4, healthy_s=400.0)


def path(replicas: int, min_healthy: int, mtbf: str, mttr: str, rate: float = LAMBDA, service: str = "1ms",
         attempts: int = 1, horizon: str = "1d", warmup: str = "0s",
         tiers: tuple[str, ...] = ("web", "payment")) -> Scenario:
    tier = {"replicas": replicas, "service_time": service, "mtbf": mtbf, "mttr": mttr,
            "min_healthy": min_healthy, "repair_crews": 1}
    return scenario_from_dict({
        "scenario": {"name": "batches", "horizon": horizon, "warmup": warmup},
        "traffic": {"arrival_rate": rate},
        "customer": {"max_attempts": attempts, "retry_backoff": "10s", "patience": "30s"},
        "path": {"tiers": list(tiers)},
        "tiers": {name: dict(tier) for name in tiers},
    })


def t_interval(values: list[float], confidence: float) -> tuple[float, float]:
    x = np.asarray(values)
    half = stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


@pytest.mark.parametrize("scenario, u_order", [
    (path(2, 1, "200h", "1h"), 1e-4),  # 1-of-2 in series
    (path(2, 1, "20000h", "1h"), 1e-8),
    (path(1, 1, "10000h", "1h", tiers=("web",)), 1e-4),  # one replica: a two-state chain
])
def test_lost_checkouts_are_lambda_times_the_exact_expected_downtime(scenario: Scenario,
                                                                     u_order: float) -> None:
    batches = RareBatches(scenario, SMALL)
    assert stationary(batches.cycles.chain).unavailability == pytest.approx(u_order, rel=0.6)
    runs = [batches.replication(7, r) for r in range(5)]
    expected = LAMBDA * batches.horizon.path_down_s
    low, high = t_interval([r.metrics["lost_checkouts"] for r in runs], 0.995)
    assert low <= expected <= high
    assert (high - low) / 2 < 0.25 * expected  # informative, not merely wide
    m = runs[0].metrics
    measured = scenario.horizon_s - scenario.warmup_s
    # the path's figures are the exact transient expectations, the same in every batch
    assert all(r.metrics["availability"] == m["availability"] for r in runs)
    assert m["availability"] == pytest.approx(1.0 - batches.horizon.path_down_s / measured, rel=1e-15)
    assert m["outage_count"] == batches.horizon.outages and m["outages_recovered"] == batches.horizon.outages
    low, high = t_interval([r.metrics["attempted_checkouts"] for r in runs], 0.995)
    assert low <= LAMBDA * measured <= high


def test_a_batch_is_repeatable_and_batches_are_independent_draws() -> None:
    batches = RareBatches(path(2, 1, "200h", "1h"), SMALL)
    first = batches.replication(3, 0)
    again = RareBatches(path(2, 1, "200h", "1h"), SMALL).replication(3, 0)
    assert first.metrics == again.metrics and first.customers == again.customers
    other = batches.replication(3, 1)
    assert other.metrics["lost_checkouts"] != first.metrics["lost_checkouts"]
    assert [r.metrics for r in rare_replications(path(2, 1, "200h", "1h"), 3, 2, SMALL)] == \
        [first.metrics, other.metrics]


def test_a_batch_without_a_path_down_window_is_not_zero_and_the_interval_is_honest() -> None:
    scenario = path(2, 1, "20000h", "1h")
    batches = RareBatches(scenario, BatchSize(cycles=2, plain_cycles=2, healthy_s=200.0))
    runs = [batches.replication(11, r) for r in range(12)]
    quiet = [r for r in runs if r.down_windows == 0]
    assert quiet, "some 2-cycle batches see no path outage (seeded: deterministic)"
    control = LAMBDA * batches.horizon.path_down_s  # the control variate's exact part
    assert all(r.metrics["lost_checkouts"] == pytest.approx(control, rel=1e-3) for r in quiet)
    s = summarize_metric("lost_checkouts", [r.metrics for r in runs])
    assert s.method == "t" and s.ci_low < s.mean < s.ci_high  # a spread from the batches that did see one


def test_the_default_batch_size_follows_the_customer_budget_and_the_pilot() -> None:
    scenario = load_scenario("baseline", redundancy=3)
    batches = RareBatches(scenario, seed=1)
    size = batches.size
    assert size == RareBatches(scenario, seed=1).size  # the pilot is keyed by the seed: deterministic
    assert size.cycles >= 2 and size.plain_cycles >= 2 and size.healthy_s == 12_500.0  # 100,000 / (4 × 2/s)
    even = batch_size(scenario, batches.cycles.mean_incident_s)
    assert even.cycles == even.plain_cycles  # without a pilot: even customers per stratum
    # Neyman with costs: n_h ∝ σ_h/√c_h, so a stratum with no spread gets the minimum
    pilot = CycleCustomerEstimates.__new__(CycleCustomerEstimates)
    object.__setattr__(pilot, "strata_lost_sd", (0.0, 3.0))
    object.__setattr__(pilot, "strata_customers_per_incident", (5000.0, 1000.0))
    lopsided = batch_size(scenario, batches.cycles.mean_incident_s, pilot)
    assert lopsided.cycles == 2 and lopsided.plain_cycles > 20
    busy = path(4, 1, "1480m", "1m", rate=200.0, service="100ms")
    assert batch_size(busy, 60.0).healthy_s == 125.0  # 100,000 / (4 × 200/s)
    with pytest.raises(ValueError, match="at least 2 incidents per stratum"):
        BatchSize(1, 4, 10.0)


def test_unsupported_scenarios_say_why() -> None:
    assert rare_problems(load_scenario("baseline")) == []
    assert any("not exponential" in p for p in rare_problems(load_scenario("baseline", overrides={
        "tiers.web.mtbf": {"dist": "weibull", "mean": 28800.0, "shape": 1.5}})))
    with pytest.raises(ValueError, match=r"cannot estimate this scenario: .*varies in time"):
        RareBatches(load_scenario("baseline", overrides={"traffic.daily_profile": [1.0] * 12 + [2.0] * 12}))


@pytest.mark.slow
def test_per_horizon_means_agree_with_crude_full_runs() -> None:
    """Unpaired (independent seeds), lost and attempted checkouts at 99.5% each: family-wise ≥ 99%."""
    scenario = path(2, 1, "4h", "30m", rate=0.5, service="100ms", attempts=3, horizon="12h", warmup="30m")
    rare = [r.metrics for r in rare_replications(scenario, 21, 8)]
    crude = [run_replication(scenario, 5, r).metrics for r in range(40)]
    for name in ("lost_checkouts", "attempted_checkouts"):
        a = np.array([m[name] for m in rare])
        b = np.array([m[name] for m in crude])
        se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert abs(a.mean() - b.mean()) <= stats.norm.ppf(1 - 0.005 / 2) * se, (name, a.mean(), b.mean(), se)
