"""Incident windows: the scripted infrastructure, the windows, and agreement with full runs.

Agreement tests pair each window replication with the full run of the same replication (they
share the infrastructure path by construction) and test every checked metric's mean paired
difference with a t interval; each test's family-wise level is 1% (Bonferroni over its metrics).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy
from scipy import stats

from sim.experiment.replication import run_replication
from sim.model.system import CheckoutSystem
from sim.random.streams import Streams
from sim.rare.infrastructure import simulate_infrastructure
from sim.rare.window_times import window_times
from sim.rare.windows import WindowEstimator
from sim.scenario.load import load_scenario, scenario_from_dict
from sim.scenario.spec import Scenario
from sim.stats.metrics import Recorder

FAMILY_ALPHA = 0.01
CHECKED = ("attempted_checkouts", "completed_checkouts", "deferred_checkouts", "lost_checkouts",
           "retry_load_factor")
PATH_METRICS = ("availability", "outage_count", "mean_recovery_time_s", "outage_time_total_s",
                "outages_recovered")


def zoned_scenario() -> Scenario:
    """Two tiers in one zone, frequent failures, a zone outage law and an injected outage."""
    tier = {"replicas": 2, "service_time": "200ms", "concurrency": 8, "mtbf": "1h", "mttr": "10m",
            "zones": ["a"], "health_check_interval": "5s", "unhealthy_threshold": 2}
    return scenario_from_dict({
        "scenario": {"name": "zoned", "horizon": "3h", "warmup": "10m"},
        "traffic": {"arrival_rate": 1.0},
        "customer": {"max_attempts": 3, "retry_backoff": "5s", "patience": "10s"},
        "path": {"tiers": ["web", "payment"]},
        "zones": {"a": {"mtbf": "2h", "mttr": "5m"}},
        "tiers": {"web": dict(tier), "payment": dict(tier, mtbf="90m")},
        "outages": [{"tier": "payment", "start": "1h", "duration": "10m", "replicas": 1}],
    })


def scripted_run(scenario: Scenario, seed: int, replication: int) -> dict[str, float]:
    """A full run whose infrastructure replays the infrastructure-only path instead of drawing it."""
    trace = simulate_infrastructure(scenario, seed, replication, record=True)
    names = [t.name for t in scenario.tiers]
    script = [(at, names[t], i, down) for at, t, i, down in trace.changes]
    env = simpy.Environment()
    rec = Recorder(scenario.warmup_s, scenario.horizon_s, tuple(scenario.path) + tuple(scenario.dependencies))
    system = CheckoutSystem(env, scenario, Streams(seed, replication), rec, script)
    env.run(until=system.stopped)
    rec.unfinished_lost(env.now)
    cost = sum(t.replicas * t.replica_cost_per_hour for t in scenario.tiers)
    return rec.results(scenario.costs.order_value, cost)


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("replication", [0, 1, 2])
def test_scripted_infrastructure_reproduces_the_full_run(replication: int) -> None:
    # same customers' streams and the same path: every metric identical, not just the path's
    scenario = zoned_scenario()
    full = run_replication(scenario, 5, replication).metrics
    scripted = scripted_run(scenario, 5, replication)
    assert full.keys() == scripted.keys()
    assert all(same(full[k], scripted[k]) for k in full), {k: (full[k], scripted[k]) for k in full}
    assert full["outage_count"] + full["lost_checkouts"] > 0  # the path did something


@pytest.mark.parametrize("replication", [0, 1, 2, 3])
def test_path_metrics_of_a_window_replication_are_the_full_runs(replication: int) -> None:
    scenario = zoned_scenario()
    full = run_replication(scenario, 5, replication).metrics
    windowed = WindowEstimator(scenario).replication(5, replication)
    assert not windowed.fallback
    for name in (*PATH_METRICS, "availability_web", "availability_payment", "infrastructure_cost"):
        assert same(full[name], windowed.metrics[name]), name


def test_window_lengths_follow_the_scenario() -> None:
    # baseline: patience 30 s, services 200 ms + 400 ms exponential (bound 7 × mean), 3 attempts,
    # backoff 10 s exponential (bound 70 s), failover 10 s
    t = window_times(load_scenario("baseline"))
    assert t.lookback_s == pytest.approx(30 + 7 * 0.6)
    assert t.warmup_s == pytest.approx(3 * (30 + 7 * 0.6))
    assert t.drain_s == pytest.approx(3 * 30 + 2 * 70 + 10)


def test_windows_merge_and_count_from_the_lookback() -> None:
    scenario = zoned_scenario()
    est = WindowEstimator(scenario)
    trace = simulate_infrastructure(scenario, 5, 0, record=True)
    windows = est.windows(trace)
    c, w, d = est.times.lookback_s, est.times.warmup_s, est.times.drain_s
    for (s0, c0, b, c1), nxt in zip(windows, [*windows[1:], None], strict=True):
        assert s0 <= c0 < c1 and c1 <= scenario.horizon_s
        assert c0 >= scenario.warmup_s
        if nxt is not None:  # merged when they overlapped, so the next one starts after this drain
            assert nxt[0] >= b + d
    for a, b in trace.incidents:  # every incident in the measured window lies in a counted region
        if b + d > scenario.warmup_s and a < scenario.horizon_s:
            assert any(c0 <= max(a - c, scenario.warmup_s) and min(b + d, scenario.horizon_s) <= c1
                       for _, c0, _, c1 in windows)
    assert all(s0 == max(0.0, c0 - w) or c0 == scenario.warmup_s for s0, c0, _, _ in windows)


def test_window_replications_are_reproducible() -> None:
    scenario = zoned_scenario()
    a = WindowEstimator(scenario).replication(3, 1)
    b = WindowEstimator(scenario).replication(3, 1)
    assert all(same(a.metrics[k], b.metrics[k]) for k in a.metrics)
    assert a.customers == b.customers


def paired_agreement(scenario: Scenario, seed: int, replications: int,
                     other: list[dict[str, float]] | None = None, estimator: WindowEstimator | None = None,
                     metrics: tuple[str, ...] = CHECKED) -> None:
    """Window replications against full runs (or ``other``), paired by replication."""
    est = estimator or WindowEstimator(scenario)
    windowed = [est.replication(seed, r) for r in range(replications)]
    assert not any(w.fallback for w in windowed)
    reference = other or [run_replication(scenario, seed, r).metrics for r in range(replications)]
    t = stats.t.ppf(1 - FAMILY_ALPHA / (2 * len(metrics)), replications - 1)
    for name in metrics:
        diff = np.array([w.metrics[name] - f[name] for w, f in zip(windowed, reference, strict=True)])
        half = t * diff.std(ddof=1) / math.sqrt(replications)
        assert abs(diff.mean()) <= half, (name, diff.mean(), half)
    if other is None:
        for name in PATH_METRICS:
            assert all(same(w.metrics[name], f[name]) for w, f in zip(windowed, reference, strict=True))


@pytest.mark.slow
def test_windows_agree_with_full_runs_on_the_baseline() -> None:
    scenario = load_scenario("baseline", {"scenario.horizon": "6h", "tiers.web.mtbf": "2h",
                                          "tiers.payment.mtbf": "3h"}, redundancy=2)
    paired_agreement(scenario, 11, 12)


@pytest.mark.slow
def test_windows_agree_with_full_runs_with_retries_and_a_storm() -> None:
    # the storm outlives the incident: windows are extended until the success rate recovers
    scenario = load_scenario("retry-storm", {"scenario.horizon": "30m"})
    paired_agreement(scenario, 3, 6)
    est = WindowEstimator(scenario)
    (start, _, end, counted_end), = est.windows(simulate_infrastructure(scenario, 3, 0, record=True))
    assert counted_end == end + est.times.drain_s < scenario.horizon_s  # planned: the outage and a drain
    assert est.replication(3, 0).window_time_s == scenario.horizon_s - start  # ran on to the horizon


def peak_scenario(name: str) -> Scenario:
    """A shipped peak-outage scenario moved to hour 2 of a 4-hour horizon (daily curve kept)."""
    return load_scenario(name, {"scenario.horizon": "4h", "outages.0.start": "2h"})


@pytest.mark.slow
def test_windows_agree_with_full_runs_with_async_payment_and_a_daily_curve() -> None:
    paired_agreement(peak_scenario("async-payment"), 4, 10)


@pytest.mark.slow
def test_windows_agree_with_full_runs_with_a_breaker_and_a_status_page() -> None:
    paired_agreement(peak_scenario("circuit-breaker-status-page"), 4, 10)


@pytest.mark.slow
def test_doubling_the_lookback_warmup_and_drain_changes_nothing_beyond_noise() -> None:
    scenario = load_scenario("baseline", {"scenario.horizon": "8h", "tiers.web.mtbf": "2h"}, redundancy=1)
    base = WindowEstimator(scenario)
    reference = [base.replication(2, r).metrics for r in range(12)]
    paired_agreement(scenario, 2, 12, reference, WindowEstimator(scenario, base.times.scaled(2.0)))


def test_window_replications_report_every_metric_of_a_full_run() -> None:
    scenario = zoned_scenario()
    windowed = WindowEstimator(scenario).replication(5, 0).metrics
    assert windowed.keys() == run_replication(scenario, 5, 0).metrics.keys()


def test_expected_arrivals_follow_the_daily_curve() -> None:
    scenario = load_scenario("async-payment")
    est = WindowEstimator(scenario)
    profile, rate = scenario.traffic.daily_profile, scenario.traffic.arrival_rate_per_s
    assert est.expected_arrivals(0.0, 86400.0) == pytest.approx(rate * 3600.0 * sum(profile), rel=1e-12)
    # half of hour 19 and half of hour 20
    assert est.expected_arrivals(19.5 * 3600, 20.5 * 3600) == pytest.approx(
        rate * 1800.0 * (profile[19] + profile[20]), rel=1e-12)


def test_a_failure_free_scenario_is_one_scaled_healthy_segment() -> None:
    # no incident: the whole measured window is healthy; a 10% segment scaled by Λ(window)/Λ(segment)
    scenario = load_scenario("baseline", {"scenario.horizon": "2h", "tiers.web.mtbf": "inf",
                                          "tiers.payment.mtbf": "inf"})
    result = WindowEstimator(scenario, healthy_fraction=0.1).replication(1, 0)
    assert result.windows == 0 and not result.fallback
    # Poisson count of the 12-minute segment (mean 1440) times 10: a 99.9% interval around 14,400
    assert abs(result.metrics["attempted_checkouts"] - 14_400.0) <= 10 * 3.29 * math.sqrt(1440.0)
    assert result.metrics["attempted_checkouts"] % 10 == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow
def test_a_storm_that_reaches_the_next_window_falls_back_to_the_full_run() -> None:
    scenario = load_scenario("retry-storm", {"scenario.horizon": "30m", "outages.1.tier": "payment",
                                             "outages.1.start": "29m", "outages.1.duration": "30s",
                                             "outages.1.replicas": 1})
    result = WindowEstimator(scenario).replication(3, 0)
    assert result.fallback
    full = run_replication(scenario, 3, 0).metrics
    assert all(same(result.metrics[k], full[k]) for k in full)


def test_expected_arrivals_with_a_spike_and_a_ramp_match_a_fine_sum() -> None:
    scenario = load_scenario("async-payment", {
        "traffic.spikes": [{"start": "70m", "duration": "7m", "multiplier": 3.0}],
        "traffic.ramp": {"start": "50m", "duration": "40m", "to_multiplier": 2.0},
    })
    est = WindowEstimator(scenario)
    start, end = 2900.0, 5800.5
    grid = np.linspace(start, end, 290_051)
    mids = 0.5 * (grid[:-1] + grid[1:])
    fine = scenario.traffic.arrival_rate_per_s * sum(
        scenario.traffic.multiplier(float(t)) for t in mids) * (grid[1] - grid[0])
    assert est.expected_arrivals(start, end) == pytest.approx(fine, rel=1e-6)
