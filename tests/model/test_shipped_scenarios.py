"""The scenarios shipped in scenarios/: each runs from the CLI, and the incident scenarios show
what their mechanisms are for (paired comparisons on common random numbers)."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.experiment import run
from sim.scenario import builtin_scenario_names, load_scenario
from sim.stats.intervals import paired_difference, summarize

SHIPPED = [
    "baseline", "single-instance", "active-passive", "active-active", "active-active-3", "multi-zone",
    "async-payment", "circuit-breaker-status-page", "peak-payment-outage", "retry-storm",
]


def test_every_documented_scenario_is_shipped() -> None:
    assert set(SHIPPED) <= set(builtin_scenario_names())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_runs_from_the_cli(name: str) -> None:
    early = ["--set", "outages.0.start=30m"] if load_scenario(name).outages else []
    result = CliRunner().invoke(cli, ["run", f"scenarios/{name}.toml", "--horizon", "1h",
                                      "--replications", "2", "--workers", "1", *early])
    assert result.exit_code == 0, result.output
    assert "lost_checkouts" in result.output and name in result.output


# the incident moved early so a short horizon holds it (the shape is the same as at 20:00)
INCIDENT_EARLY = ["scenario.horizon=2h", "outages.0.start=30m"]
REPLICATIONS = 6


@pytest.fixture(scope="module")
def peak() -> dict[str, list[float]]:
    result = run(load_scenario("peak-payment-outage", INCIDENT_EARLY), replications=REPLICATIONS, seed=11,
                 workers=2)
    return {m: [r[m] for r in result.per_replication] for m in ("lost_checkouts", "deferred_checkouts",
                                                                "retry_load_factor", "attempted_checkouts")}


@pytest.mark.slow
def test_async_payment_turns_lost_checkouts_into_deferred_ones(peak: dict[str, list[float]]) -> None:
    scenario = load_scenario("async-payment", INCIDENT_EARLY)
    result = run(scenario, replications=REPLICATIONS, seed=11, workers=2)
    lost = [r["lost_checkouts"] for r in result.per_replication]
    deferred = [r["deferred_checkouts"] for r in result.per_replication]
    assert [r["attempted_checkouts"] for r in result.per_replication] == peak["attempted_checkouts"]  # CRN
    less_lost = paired_difference(lost, peak["lost_checkouts"])
    more_deferred = paired_difference(deferred, peak["deferred_checkouts"])
    assert less_lost.ci_high < 0.0, less_lost
    assert more_deferred.ci_low > 0.0, more_deferred
    # most of what the synchronous architecture lost is now deferred, not lost
    assert summarize(lost).mean < 0.1 * summarize(peak["lost_checkouts"]).mean


@pytest.mark.slow
def test_breaker_and_status_page_save_checkouts_and_take_load_off(peak: dict[str, list[float]]) -> None:
    result = run(load_scenario("circuit-breaker-status-page", INCIDENT_EARLY), replications=REPLICATIONS,
                 seed=11, workers=2)
    lost = [r["lost_checkouts"] for r in result.per_replication]
    saved = paired_difference(lost, peak["lost_checkouts"])
    assert saved.ci_high < 0.0, saved
    attempts = [r["retry_load_factor"] for r in result.per_replication]
    load = paired_difference(attempts, peak["retry_load_factor"])
    assert load.ci_high < 0.0, load


@pytest.mark.slow
def test_time_varying_arrivals_follow_the_daily_curve() -> None:
    """Thinning gives E[arrivals] = λ·∫m(t)dt: checked against the CI over replications."""
    scenario = load_scenario("single-instance", ["tiers.web.mtbf=inf", "tiers.payment.mtbf=inf",
                                                  "zones.a.mtbf=inf", "scenario.horizon=6h",
                                                  "traffic.arrival_rate=1.0"])
    result = run(scenario, replications=10, seed=5, workers=2)
    profile = scenario.traffic.daily_profile
    expected = 1.0 * 3600.0 * sum(profile[:6])
    attempted = result.metrics["attempted_checkouts"]
    assert attempted.contains(expected), (attempted, expected)
    assert not math.isnan(attempted.ci_low)
