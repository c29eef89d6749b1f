"""SLO figures: the exact downtime distribution (uniformization against Takács' series and the
transient mean), crude windows against it, the per-class attribution, the replications as windows,
the [slo] table's errors, and the validation check failing on a broken model."""

from __future__ import annotations

import dataclasses
import math

import pytest
from scipy import stats

from sim.rare.markov import InfrastructureChain
from sim.scenario import ScenarioError, scenario_from_dict
from sim.scenario.spec import SloSpec
from sim.stats.slo import breach_proportion, window_estimates
from sim.theory.slo import two_state_breach_probability, window_downtime
from sim.theory.slo_budget import assess_slo, replication_windows, slo_lines
from sim.theory.slo_checks import SLO_CHECKS
from sim.theory.validation import compare, run_check

DAY = 86400.0


def _raw(tiers: dict, slo: dict | None = None, **extra: object) -> dict:
    raw = {"scenario": {"horizon": "1d"}, "traffic": {"arrival_rate": 0.01}, "path": {"tiers": list(tiers)},
           "tiers": {n: {"service_time": "10ms", **t} for n, t in tiers.items()}, **extra}
    if slo is not None:
        raw["slo"] = slo
    return raw


@pytest.mark.parametrize(("mtbf_h", "mttr_h", "budget_h"), [(10, 0.5, 1.2), (2, 1, 8), (100, 3, 1)])
def test_uniformization_matches_takacs_series(mtbf_h: float, mttr_h: float, budget_h: float) -> None:
    s = scenario_from_dict(_raw({"web": {"mtbf": f"{mtbf_h}h", "mttr": f"{mttr_h}h"}}))
    exact = window_downtime(InfrastructureChain(s), DAY, budget_h * 3600)
    takacs = two_state_breach_probability(mtbf_h * 3600, mttr_h * 3600, DAY, budget_h * 3600)
    assert exact.breach_probability == pytest.approx(takacs, abs=1e-10)
    a, r = 1 / (mtbf_h * 3600), 1 / (mttr_h * 3600)
    u = a / (a + r)
    assert exact.expected_downtime_s == pytest.approx(u * DAY - u * -math.expm1(-(a + r) * DAY) / (a + r),
                                                      rel=1e-9)


def test_series_of_tiers_breach_agrees_with_independent_windows() -> None:
    """Two tiers in series (k-of-n with one crew): 99.9% Clopper–Pearson interval of 1,500 windows."""
    raw = _raw({"web": {"replicas": 2, "mtbf": "6h", "mttr": "1h", "repair_crews": 1},
                "payment": {"replicas": 3, "min_healthy": 2, "mtbf": "8h", "mttr": "1h", "repair_crews": 1}},
               {"window": "1d", "availability": 0.99})
    s = scenario_from_dict(raw)
    exact = window_downtime(InfrastructureChain(s), DAY, 0.01 * DAY)
    assessed = assess_slo(s, windows=1500, seed=3)
    assert assessed.exact.breach_probability == pytest.approx(exact.breach_probability, rel=1e-9)
    k, n = assessed.infrastructure.breach.count, assessed.infrastructure.breach.n
    ci = stats.binomtest(k, n).proportion_ci(0.999, method="exact")
    assert ci.low <= exact.breach_probability <= ci.high


def test_budget_by_class_adds_up_to_the_total() -> None:
    raw = _raw({"web": {"replicas": 2, "mtbf": "1d", "mttr": "2h", "zones": ["a", "b"]}},
               {"window": "1d", "availability": 0.999},
               zones={"a": {"mtbf": "5d", "mttr": "3h"}, "b": {"mtbf": "inf"}},
               outages=[{"tier": "web", "start": "6h", "duration": "30m"}])
    a = assess_slo(scenario_from_dict(raw), windows=60, seed=1)
    assert a.exact is None and "not a Markov chain" in a.notes[0]
    total = sum(s.mean for s in a.by_class.values())
    assert total == pytest.approx(a.infrastructure.budget_burned.mean, rel=1e-12)
    # the injected outage takes the whole tier down for 30 min: at least 30 min / 86.4 s of budget each window
    assert a.by_class["injected outage"].mean <= 1800 / 86.4 + 1e-9
    assert a.by_class["injected outage"].mean > 0
    text = "\n".join(slo_lines(a))
    assert "zone outage" in text and "injected outage" in text and "Clopper–Pearson" in text


def test_replications_are_windows_when_the_horizon_is_the_window() -> None:
    slo = SloSpec(DAY, availability=0.99, checkout_success=0.999, latency_p95_s=2.0)
    reps = [{"availability": 0.995, "lost_fraction": 0.0, "latency_p95_s": 1.0},
            {"availability": 0.98, "lost_fraction": 0.002, "latency_p95_s": 3.0},
            {"availability": 1.0, "lost_fraction": 0.0005, "latency_p95_s": 1.5},
            {"availability": 0.99, "lost_fraction": 0.0, "latency_p95_s": 2.0}]
    w = replication_windows(slo, reps)
    assert w["availability"].breach.count == 1
    assert w["availability"].budget_burned.mean == pytest.approx((0.5 + 2 + 0 + 1) / 4)
    assert w["checkout_success"].breach.count == 1
    assert w["checkout_success"].budget_burned.mean == pytest.approx((0 + 2 + 0.5 + 0) / 4)
    assert w["latency_p95"].breach.count == 1 and w["latency_p95"].budget_burned is None
    assert w["availability"].breaching_windows_per_year()[0] == pytest.approx(365 / 4)


def test_clopper_pearson_keeps_an_interval_at_zero_breaches() -> None:
    p = breach_proportion([False] * 100)
    assert p.estimate == 0 and p.low == 0 and p.high == pytest.approx(1 - 0.025 ** (1 / 100))
    assert window_estimates(DAY, [True, False], [1.5, 0.5]).budget_burned.mean == 1.0


@pytest.mark.parametrize(("slo", "message"), [
    ({"availability": 1}, "slo.availability = 1: must be a number between 0 and 1"),
    ({"window": "30d"}, "slo = { window = \"30d\" }: needs at least one objective"),
    ({"availability": 0.9, "latncy_p95": "1s"}, "did you mean 'latency_p95'"),
])
def test_slo_table_errors_name_the_key(slo: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=None) as err:
        scenario_from_dict(_raw({"web": {}}, slo), source="x.toml")
    assert message in str(err.value) and str(err.value).startswith("x.toml: ")


def test_slo_checks_pass_and_fail_on_a_broken_model() -> None:
    for check in SLO_CHECKS:
        assert run_check(check, replications=4, scale=0.5).passed
    check = SLO_CHECKS[0]
    raw = check.build(1.0)
    raw["tiers"]["web"]["mttr"] = 0.6 * 3600  # repairs 20% slower than the theory assumes
    broken = scenario_from_dict(raw)
    reps = [check.replicate(broken, 2024, r, 1.0) for r in range(10)]
    assert not compare(check.comparisons[0], reps).passed
    # each build is a fresh dict: the change above reached no other use of the check
    assert check.build(1.0)["tiers"]["web"]["mttr"] == 0.5 * 3600


def test_no_slo_is_an_error_and_no_availability_objective_has_no_exact_value() -> None:
    s = scenario_from_dict(_raw({"web": {"mtbf": "10h"}}))
    with pytest.raises(ValueError, match="no \\[slo\\]"):
        assess_slo(s)
    s = dataclasses.replace(s, slo=SloSpec(DAY, checkout_success=0.99))
    a = assess_slo(s, windows=10)
    assert a.exact is None and a.infrastructure is None and math.isnan(a.breach_probability)
    assert "--horizon 1d" in a.notes[0]


def test_effort_is_bounded_for_busy_infrastructures() -> None:
    """Many fast-failing replicas: fewer windows (and said so), and no exact solve that would take minutes."""
    from sim.theory.slo import MAX_WORK
    from sim.theory.slo_budget import MAX_EVENTS, MIN_WINDOWS, expected_events

    raw = _raw({"web": {"replicas": 40, "mtbf": "1h", "mttr": "1m", "repair_crews": 2}},
               {"window": "30d", "availability": 0.999})
    s = scenario_from_dict(raw)
    per_window = expected_events(s, 30 * DAY)
    assert per_window == pytest.approx(3 * 2 * 40 * 30 * DAY / 3660)
    with pytest.raises(ValueError, match="too many to solve quickly"):
        window_downtime(InfrastructureChain(s), 30 * DAY, 0.001 * 30 * DAY)
    assert MAX_EVENTS / per_window < MIN_WINDOWS and MAX_WORK < 1e9
