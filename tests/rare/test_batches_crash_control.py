"""Batch sizes with the crash control (sim.rare.batches): the healthy segment's share of the variance
caps each stratum at equal marginal variance per customer, σ_h·H·√λ/(|β|·σ_m·√c_h)."""

from __future__ import annotations

import math

from sim.rare.batches import batch_size, crash_control
from sim.rare.cycles import CycleCustomerEstimates
from sim.scenario.load import load_scenario


def pilot(sd: tuple[float, float], cost: tuple[float, float], known_var_s: float,
          moments: tuple[float, float, float] = (math.nan, math.nan, math.nan)) -> CycleCustomerEstimates:
    p = CycleCustomerEstimates.__new__(CycleCustomerEstimates)
    object.__setattr__(p, "strata_lost_sd", sd)
    object.__setattr__(p, "strata_customers_per_incident", cost)
    object.__setattr__(p, "crash_known_var_s", known_var_s)
    object.__setattr__(p, "crash_moments", moments)
    return p


def test_the_healthy_part_of_the_control_caps_the_strata() -> None:
    scenario = load_scenario("baseline", redundancy=3)  # λ = 2/s: H = 12,500 s
    rate, healthy = 2.0, 12_500.0
    p = pilot((1.0, 1.0), (1000.0, 1000.0), 400.0)
    uncapped = batch_size(scenario, 60.0, p)  # β = 0: the budget's Neyman split, as before
    cap = 1.0 * healthy * math.sqrt(rate) / (2.0 * math.sqrt(400.0) * math.sqrt(1000.0))  # β = 2
    assert uncapped.cycles > cap
    capped = batch_size(scenario, 60.0, p, control=2.0)
    assert (capped.cycles, capped.plain_cycles) == (int(cap), int(cap)) and capped.healthy_s == healthy
    # a stratum with no spread left gets the minimum
    assert batch_size(scenario, 60.0, pilot((1e-20, 0.0), (1000.0, 1000.0), 400.0), control=1.0).cycles == 2


def test_beta_is_the_pilots_regression_slope_and_zero_without_spread() -> None:
    beta, left = crash_control(pilot((0.0, 0.0), (1.0, 1.0), 0.0, (5.0, 2.0, 4.0)))
    assert beta == 0.5 and left == math.sqrt(5.0 - 2 * 0.5 * 2.0 + 0.25 * 4.0)
    assert crash_control(pilot((0.0, 0.0), (1.0, 1.0), 0.0, (5.0, 0.0, 0.0))) == (0.0, math.sqrt(5.0))
