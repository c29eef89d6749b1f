"""The rare-regime checks of ``sim validate``: their scenarios, their levels, and proof that they
catch a wrong model (the rare-event engine against the k-of-n and series formulas)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from sim.rare.markov import InfrastructureChain, stationary
from sim.scenario import scenario_from_dict
from sim.theory import analytic
from sim.theory.rare_checks import RARE_CHECKS, mtbf_for
from sim.theory.validation import run_check

BY_NAME = {c.name: c for c in RARE_CHECKS}
SEED = 2024


def test_the_levels_are_the_four_the_engine_must_reach() -> None:
    assert sorted(BY_NAME) == sorted(f"rare-series-{x}" for x in ("1e-4", "1e-6", "1e-8", "1e-11"))


@pytest.mark.parametrize("check", RARE_CHECKS, ids=lambda c: c.name)
def test_each_scenario_is_a_markov_path_at_its_level(check) -> None:
    scenario = scenario_from_dict(check.build(1.0))
    level = float(check.name.removeprefix("rare-series-"))
    (u,) = [c.analytic for c in check.comparisons if c.measure == "unavailability"]
    # MTBF rounded to 3 significant digits in hours: U within a few percent of the level
    assert u == pytest.approx(level, rel=0.05)
    # the chain's exact stationary solve (GTH) agrees with the closed-form k-of-n and series formulas
    assert stationary(InfrastructureChain(scenario)).unavailability == pytest.approx(u, rel=1e-9)
    assert check.replicate is not None and check.build(1.0) == check.build(0.1)


def test_the_mtbf_solver_hits_the_level() -> None:
    web, payment = (2, 1, 1), (2, 1, 1)
    mtbf = mtbf_for(1e-6, web, payment)
    tier = analytic.k_out_of_n(2, 1, mtbf, 3600.0, 1)
    # 1-of-2 with one crew: U ≈ 2ρ² per tier, two tiers: 4ρ² = 1e-6, ρ = 5e-4, MTBF ≈ 2000 h
    assert mtbf / 3600.0 == pytest.approx(2000.0, rel=0.01)
    assert analytic.series(tier, tier).unavailability == pytest.approx(1e-6, rel=0.01)


def test_customer_comparisons_only_where_lost_equals_down() -> None:
    """lost per arrival = U needs every tier to be down only with no replica up (min_healthy 1)."""
    for check in RARE_CHECKS:
        tiers = check.build(1.0)["tiers"].values()
        has_customers = any(c.measure == "lost_per_arrival" for c in check.comparisons)
        assert has_customers == all(t["min_healthy"] == 1 for t in tiers), check.name
    assert sum(any(c.measure == "lost_per_arrival" for c in ch.comparisons) for ch in RARE_CHECKS) >= 2


def test_rare_check_at_1e8_passes_and_replications_are_independent() -> None:
    outcome = run_check(BY_NAME["rare-series-1e-8"], replications=6, scale=0.5, seed=SEED)
    assert outcome.passed, outcome
    assert outcome.comparisons[0].simulated.std > 0.0  # replications differ: keyed by their index
    assert all(math.isfinite(c.simulated.ci_high) for c in outcome.comparisons)


def test_a_wrong_crew_count_is_detected_at_1e8() -> None:
    """One payment crew where the formulas have two: U rises about 1.5-fold, far outside the interval."""
    check = BY_NAME["rare-series-1e-8"]

    def build(scale: float) -> dict:
        raw = check.build(scale)
        raw["tiers"]["payment"]["repair_crews"] = 1
        return raw

    outcome = run_check(dataclasses.replace(check, build=build), replications=6, scale=0.5, seed=SEED)
    assert not outcome.comparisons[0].passed, outcome


@pytest.mark.slow
def test_customers_in_the_loop_agree_with_the_series_formula_at_1e11() -> None:
    outcome = run_check(BY_NAME["rare-series-1e-11"], replications=6, scale=0.5, seed=SEED)
    assert outcome.passed, outcome
