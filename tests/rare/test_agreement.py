"""The rare-event estimators agree with crude full runs where crude is affordable.

Scenarios: the shipped baseline (without and with retries), async payment, and the circuit breaker
with a status page, each made steady and Markov so the regenerative estimator applies (no daily
curve, zone or injected outage; exponential repairs), with failures frequent enough (web MTBF 2 h,
payment 3 h) that 24 crude runs of 8 measured hours see dozens of path outages. λ = 0.5/s keeps
crude cheap; the breaker's ``min_calls`` is lowered to 4 so it still opens at that rate, and the
status page's return delay shortened to 10 minutes so incident windows stay short.

Per scenario, against crude runs (``run_replication``; 1 h warm-up, 8 measured hours):

- *rare*: the rare method's replications (:class:`sim.rare.batches.RareBatches`, one batch of
  failure-biased regenerative cycles each, per-horizon counts from all-up with the chain's exact
  transient expectations; small fixed batches), unpaired: Welch t interval of the difference of
  means for lost, attempted, completed and deferred checkouts, and for the lost checkouts *beyond
  λ × path down time* (crude: lost − λ·(1 − availability)·window per run; rare: lost − λ·E[down
  time], the exact expectation), which strips the outage-length noise and so tests what the
  customers do (in-flight losses, retries, backlog, returns) with a far narrower interval; and the
  exact availability and outage count (the same in every batch) inside crude's t interval;
- *windows* (:class:`sim.rare.windows.WindowEstimator`), paired with the crude run of the same
  replication (same infrastructure path by construction): a t interval of the mean difference for
  lost, attempted, completed and deferred checkouts.

Family-wise level: 5% over every comparison of the slow tests (4 scenarios × 11 = 44, Bonferroni:
each at 0.05/44), and 1% over the quick test's 11. A metric that is 0 in every run of both
estimators (deferred checkouts without retries or async) is checked for exactly 0 instead.
"""

from __future__ import annotations

import functools
import math
import tomllib

import numpy as np
import pytest
from scipy import stats

from sim.experiment.replication import run_replication
from sim.rare.batches import BatchSize, RareBatches
from sim.rare.markov import InfrastructureChain, stationary
from sim.rare.windows import WindowEstimator
from sim.scenario.load import builtin_scenarios_dir, scenario_from_dict
from sim.scenario.spec import Scenario

COUNTS = ("lost_checkouts", "attempted_checkouts", "completed_checkouts", "deferred_checkouts")
BEYOND_DOWN = "lost beyond λ·down time"
EXACT_METRICS = ("availability", "outage_count")
RATE = 0.5
SLOW_SCENARIOS = ("baseline-no-retries", "baseline", "async-payment", "circuit-breaker-status-page")
PER_SCENARIO = len(COUNTS) + 1 + len(EXACT_METRICS) + len(COUNTS)
SLOW_ALPHA = 0.05 / (len(SLOW_SCENARIOS) * PER_SCENARIO)
QUICK_ALPHA = 0.01 / PER_SCENARIO


def steady_variant(name: str, horizon: str = "9h", warmup: str = "1h") -> Scenario:
    """A shipped scenario made steady and Markov, with frequent failures (see the module docstring)."""
    file = "baseline" if name == "baseline-no-retries" else name
    raw = tomllib.loads((builtin_scenarios_dir() / f"{file}.toml").read_text())
    raw.pop("zones", None)
    raw.pop("outages", None)
    raw["traffic"] = {"arrival_rate": RATE}
    raw["scenario"].update(horizon=horizon, warmup=warmup)
    for tier_name, mtbf, mttr in (("web", "2h", "20m"), ("payment", "3h", "30m")):
        tier = raw["tiers"][tier_name]
        tier.pop("zones", None)
        tier.update(mtbf=mtbf, mttr=mttr)
        if "circuit_breaker" in tier:
            tier["circuit_breaker"]["min_calls"] = 4
    if name == "baseline-no-retries":
        raw["customer"]["max_attempts"] = 1
    if "communication" in raw:
        raw["communication"]["return_after"] = {"dist": "lognormal", "mean": "10m", "cv": 0.5}
    return scenario_from_dict(raw, source=f"<steady {name}>")


@functools.cache
def crude_runs(name: str, seed: int, replications: int, horizon: str) -> tuple[dict[str, float], ...]:
    scenario = steady_variant(name, horizon)
    return tuple(run_replication(scenario, seed, r).metrics for r in range(replications))


def z_quantile(alpha: float) -> float:
    return float(stats.norm.ppf(1.0 - alpha / 2.0))


def measured_s(scenario: Scenario) -> float:
    return scenario.horizon_s - scenario.warmup_s


def beyond_down(metrics: dict[str, float], scenario: Scenario) -> float:
    """A run's lost checkouts minus λ × its path down time in the measured window."""
    return metrics["lost_checkouts"] - RATE * (1.0 - metrics["availability"]) * measured_s(scenario)


def rare_against_crude(name: str, seed: int, batches: int, size: BatchSize, replications: int,
                       alpha: float, horizon: str = "9h") -> None:
    """The rare method's replications (i.i.d. batches) against crude runs: Welch intervals."""
    scenario = steady_variant(name, horizon)
    rare = RareBatches(scenario, size)
    # indices from 1000: streams independent of the crude runs' (unpaired)
    rows = [rare.replication(seed, 1000 + r).metrics for r in range(batches)]
    crude = crude_runs(name, seed, replications, horizon)
    shift = RATE * rare.horizon.path_down_s  # λ × the exact expected down time
    checks = {m: ([r[m] for r in rows], [c[m] for c in crude]) for m in COUNTS}
    checks[BEYOND_DOWN] = ([r["lost_checkouts"] - shift for r in rows],
                           [beyond_down(c, scenario) for c in crude])
    for metric, (values, runs) in checks.items():
        a, b = np.array(values), np.array(runs)
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        if va == 0.0 and vb == 0.0:
            assert a[0] == b[0] == 0.0, (name, metric, a[0], b[0])
            continue
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))  # Welch–Satterthwaite
        half = float(stats.t.ppf(1.0 - alpha / 2.0, df)) * math.sqrt(va + vb)
        assert abs(a.mean() - b.mean()) <= half, (name, metric, a.mean(), b.mean(), half)
    # exact expectations (every batch the same): inside crude's t interval
    t = float(stats.t.ppf(1.0 - alpha / 2.0, replications - 1))
    for metric in EXACT_METRICS:
        assert len({r[metric] for r in rows}) == 1
        runs = np.array([c[metric] for c in crude])
        half = t * runs.std(ddof=1) / math.sqrt(len(runs))
        assert abs(rows[0][metric] - runs.mean()) <= half, (name, metric, rows[0][metric], runs.mean(), half)


def windows_against_crude(name: str, seed: int, replications: int, alpha: float, horizon: str = "9h") -> None:
    scenario = steady_variant(name, horizon)
    estimator = WindowEstimator(scenario)
    windowed = [estimator.replication(seed, r) for r in range(replications)]
    # a replication whose windows cannot be closed falls back to the full run (then identical to crude)
    assert sum(w.fallback for w in windowed) < replications / 2
    crude = crude_runs(name, seed, replications, horizon)
    t = float(stats.t.ppf(1.0 - alpha / 2.0, replications - 1))
    for metric in COUNTS:
        diff = np.array([w.metrics[metric] - c[metric] for w, c in zip(windowed, crude, strict=True)])
        if not diff.any() and all(c[metric] == 0.0 for c in crude):
            continue  # 0 in every run of both
        half = t * diff.std(ddof=1) / math.sqrt(replications)
        assert abs(diff.mean()) <= half, (name, metric, diff.mean(), half)


def test_steady_variants_are_markov_with_frequent_path_outages() -> None:
    for name in SLOW_SCENARIOS:
        scenario = steady_variant(name)
        u = stationary(InfrastructureChain(scenario)).unavailability
        assert 0.02 < u < 0.1, (name, u)  # a few path outages in every 8-hour run
        assert not scenario.traffic.time_varying and not scenario.outages and not scenario.zones
    assert steady_variant("baseline-no-retries").customer.max_attempts == 1
    assert steady_variant("baseline").customer.max_attempts == 3


def test_rare_and_windows_agree_with_crude_on_the_baseline_without_retries() -> None:
    """Quick: 5 batches of 8 + 8 incidents against 12 crude runs of 5 measured hours."""
    rare_against_crude("baseline-no-retries", 5, 5, BatchSize(8, 8, 800.0), 12, QUICK_ALPHA, horizon="6h")
    windows_against_crude("baseline-no-retries", 5, 12, QUICK_ALPHA, horizon="6h")


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_SCENARIOS)
def test_rare_and_windows_agree_with_crude(name: str) -> None:
    rare_against_crude(name, 11, 10, BatchSize(10, 10, 800.0), 24, SLOW_ALPHA)
    windows_against_crude(name, 11, 24, SLOW_ALPHA)
