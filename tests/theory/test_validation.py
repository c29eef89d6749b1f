"""The built-in analytic checks: the pass rule, the table, the checks themselves (slow), proof
that they catch a wrong model, and ``sim validate`` through click's CliRunner."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.scenario import scenario_from_dict
from sim.stats.intervals import Summary
from sim.stats.metrics import METRICS
from sim.theory.checks import CHECKS as MODEL_CHECKS
from sim.theory.rare_checks import RARE_CHECKS
from sim.theory.slo_checks import SLO_CHECKS
from sim.theory.validation import (
    CHECKS,
    COMPARISONS,
    CONFIDENCE,
    FAMILY_CONFIDENCE,
    Check,
    CheckOutcome,
    Comparison,
    ComparisonOutcome,
    Table,
    compare,
    run_check,
    run_checks,
)

BY_NAME = {c.name: c for c in CHECKS}
SEED = 2024  # the default seed of `sim validate`


def _mutated(name: str, change: Callable[[dict], None]) -> Check:
    """The check ``name`` with its scenario changed by ``change`` but its analytic values kept."""
    check = BY_NAME[name]

    def build(scale: float) -> dict:
        raw = check.build(scale)
        change(raw)
        return raw

    return dataclasses.replace(check, name=f"{name}-mutated", build=build)


def _report(outcome: CheckOutcome) -> str:
    table = Table([outcome.name], [c.label for c in outcome.comparisons])
    return "\n" + table.header() + "\n" + table.rows(outcome)


# --------------------------------------------------------------------------- the pass rule


def test_confidence_is_bonferroni_over_every_comparison() -> None:
    assert sum(len(c.comparisons) for c in CHECKS) == COMPARISONS
    assert math.isclose(CONFIDENCE, 1.0 - (1.0 - FAMILY_CONFIDENCE) / COMPARISONS)


def test_analytic_inside_the_interval_passes_and_outside_fails() -> None:
    reps = [{"x": v} for v in (9.0, 10.0, 11.0)]  # mean 10, std 1: 95% CI 10 ± 2.48
    assert compare(Comparison("x", "x", 12.0), reps, 0.95).passed
    assert not compare(Comparison("x", "x", 12.6), reps, 0.95).passed
    outcome = compare(Comparison("x", "x", 8.0), reps, 0.95)
    assert outcome.simulated.mean == 10.0
    assert outcome.simulated.ci_low == pytest.approx(10.0 - 2.4841, abs=1e-3)


def test_bias_allowance_widens_the_interval_relative_to_the_analytic_value() -> None:
    reps = [{"x": v} for v in (9.0, 10.0, 11.0)]
    assert not compare(Comparison("x", "x", 12.6), reps, 0.95).passed
    assert compare(Comparison("x", "x", 12.6, bias=0.01), reps, 0.95).passed  # 12.48 + 0.126


def test_functions_of_a_replication_and_paired_differences() -> None:
    reps = [{"a": 10.0 + i, "b": 9.0 + i + 0.01 * (-1) ** i} for i in range(6)]
    per_b = compare(Comparison("a / b", lambda m: m["a"] / m["b"], 1.1), reps, 0.95)
    assert per_b.simulated.n == 6
    # a - b is 1 ± 0.01 in every pair although a and b vary a lot: the paired interval is narrow
    paired = compare(Comparison("a - b", "a", 1.0, reference=lambda m: m["b"]), reps, 0.95)
    assert paired.passed and paired.simulated.half_width < 0.02
    assert not compare(Comparison("a - b", "a", 1.05, reference=lambda m: m["b"]), reps, 0.95).passed


def test_an_undefined_metric_in_every_replication_fails() -> None:
    reps = [{"x": math.nan}, {"x": math.nan}]
    assert not compare(Comparison("x", "x", 1.0), reps, 0.95).passed


# --------------------------------------------------------------------------- the catalogue


def test_check_names_are_unique_and_measures_are_metrics() -> None:
    assert len(BY_NAME) == len(CHECKS) == len(MODEL_CHECKS) + len(RARE_CHECKS) + len(SLO_CHECKS)
    for check in CHECKS:
        assert check.description and check.comparisons
        for c in check.comparisons:
            if isinstance(c.measure, str) and check.replicate is None:
                assert c.measure in METRICS or c.measure.startswith("availability_"), c.measure
            assert math.isfinite(c.analytic)


@pytest.mark.parametrize("check", MODEL_CHECKS, ids=lambda c: c.name)
def test_every_check_builds_a_valid_scenario_whose_horizon_grows_with_scale(check: Check) -> None:
    small = scenario_from_dict(check.build(0.05))
    full = scenario_from_dict(check.build(1.0))
    assert full.horizon_s > small.horizon_s > small.warmup_s
    first = check.build(1.0)
    assert first == check.build(1.0)
    for tier in first["tiers"].values():  # a fresh dict each time: changing one changes no other
        tier["replicas"] = 99
    first["customer"]["max_attempts"] = 99
    again = check.build(1.0)
    assert all(t["replicas"] != 99 for t in again["tiers"].values())
    assert again["customer"]["max_attempts"] != 99


# --------------------------------------------------------------------------- the table


def _outcome(name: str, rows: list[tuple[str, float, float, float, float, float, bool]]) -> CheckOutcome:
    comparisons = tuple(ComparisonOutcome(label, Summary(mean, 0.1, 10, low, high), analytic, bias, ok)
                        for label, mean, low, high, analytic, bias, ok in rows)
    return CheckOutcome(name, comparisons, 10, 1.0, 1, 0.99, 0.5)


def test_table_rows_line_up_under_the_header() -> None:
    checks = [BY_NAME["availability-1of1"], BY_NAME["mm1-quantiles"]]
    table = Table.for_checks(checks)
    header, rule = table.header().splitlines()
    rows = table.rows(_outcome("availability-1of1", [
        ("availability", 0.66606, 0.654128, 0.677992, 2 / 3, 0.0, True),
        ("mean outage length (s)", 1813.09, 1752.73, 1873.45, 1800.0, 0.0, True)]))
    rows += "\n" + table.rows(_outcome("mm1-quantiles", [
        ("p95 latency (s)", 1.0207, -1.2345678e-05, math.nan, 0.998577, 0.005, False)]))
    lines = rows.splitlines()
    assert len(rule) == len(header) and set(rule) == {"-"}
    verdict_at = header.index("verdict")
    assert [line[verdict_at:] for line in lines] == ["PASS", "PASS", "FAIL"]
    analytic_end = header.index("analytic") + len("analytic")
    assert lines[0][:analytic_end].endswith("0.666667")
    assert lines[2][:analytic_end].endswith("0.998577")
    assert lines[0].startswith("availability-1of1  availability ")
    assert lines[1].startswith(" " * len("availability-1of1") + "  mean outage length (s)")
    assert "±0.5%" in lines[2] and "–" in lines[2]  # the allowance, and an undefined CI bound
    assert "-1.23457e-05" in lines[2]


def test_run_checks_prints_the_level_a_header_and_one_row_per_comparison() -> None:
    lines: list[str] = []
    outcomes = run_checks(["outage-no-retries"], replications=3, scale=0.05, seed=SEED, workers=1,
                          echo=lines.append)
    text = "\n".join(lines)
    assert [o.name for o in outcomes] == ["outage-no-retries"]
    assert f"{CONFIDENCE:.2%}" in text and f"{COMPARISONS} comparisons" in text
    rows = [line for line in text.splitlines() if line.rstrip().endswith(("PASS", "FAIL"))]
    assert len(rows) == len(BY_NAME["outage-no-retries"].comparisons)
    assert rows[0].startswith("outage-no-retries")


def test_run_checks_rejects_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="nosuchcheck"):
        run_checks(["nosuchcheck"], echo=lambda _line: None)


# --------------------------------------------------------------------------- validation (slow)


@pytest.mark.slow
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_check_passes_at_the_default_seed(check: Check) -> None:
    outcome = run_check(check, replications=10, scale=1.0, seed=SEED, workers=1)
    assert outcome.passed, _report(outcome)


# --------------------------------------------------------------------------- would fail if wrong


@pytest.mark.slow
def test_a_wrong_analytic_value_fails() -> None:
    """λD off by 3% is outside the interval of the lost customers per outage (λD itself passes)."""
    check = BY_NAME["outage-no-retries"]
    wrong = dataclasses.replace(check, comparisons=tuple(
        dataclasses.replace(c, analytic=c.analytic * 1.03) for c in check.comparisons))
    outcome = run_check(wrong, replications=10, scale=1.0, seed=SEED, workers=1)
    assert [c.passed for c in outcome.comparisons] == [False, False], _report(outcome)


@pytest.mark.slow
def test_a_wrong_repair_crew_limit_is_detected() -> None:
    """Two crews where the theory has one: availability and outage length both fail."""
    check = _mutated("availability-2of3", lambda raw: raw["tiers"]["app"].update(repair_crews=2))
    outcome = run_check(check, replications=10, scale=0.25, seed=SEED, workers=1)
    assert [c.passed for c in outcome.comparisons] == [False, False], _report(outcome)


@pytest.mark.slow
def test_a_service_rate_three_percent_off_is_detected() -> None:
    """M/M/c with 3% faster service than the theory assumes: W and L both fail."""
    check = _mutated("erlang-c", lambda raw: raw["tiers"]["app"].update(service_time=0.1 * 0.97))
    outcome = run_check(check, replications=10, scale=1.0, seed=SEED, workers=1)
    assert [c.passed for c in outcome.comparisons] == [False, False], _report(outcome)


@pytest.mark.slow
def test_littles_law_detects_time_in_system_missing_from_latency() -> None:
    """Customers who renege spend time in the system but add no latency: L > λ_eff·W must fail."""
    check = _mutated("littles-law", lambda raw: raw["customer"].update(patience="200ms"))
    outcome = run_check(check, replications=10, scale=1.0, seed=SEED, workers=1)
    assert not outcome.passed, _report(outcome)


# --------------------------------------------------------------------------- sim validate


def test_cli_validate_one_check() -> None:
    result = CliRunner().invoke(
        cli, ["validate", "--only", "outage-no-retries", "--replications", "4", "--scale", "0.2"])
    assert result.exit_code == 0, result.output
    assert "outage-no-retries" in result.output and "PASS" in result.output
    assert "1 passed, 0 failed" in result.output


def test_cli_validate_unknown_check_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["validate", "--only", "nosuchcheck"])
    assert result.exit_code == 2
    assert "nosuchcheck" in result.output and "erlang-b" in result.output
