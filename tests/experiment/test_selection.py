"""KN++ selection: exact decisions on constructed data (clear best, ties, budget), stopping early,
and the probability of correct selection in the least favourable configuration (slow)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.experiment.selection import kn_plus_plus, select_best
from sim.scenario import scenario_from_dict


def _normal_sampler(means: list[float], sigma: float, rho: float, seed: int):
    """Normal outputs with a common component (correlation rho between systems: common random numbers)."""
    rng = np.random.default_rng(seed)
    store: dict[int, np.ndarray] = {}

    def sample(systems, first, count):
        for j in range(first, first + count):
            if j not in store:
                common = rng.standard_normal()
                own = rng.standard_normal(len(means))
                store[j] = np.array(means) + sigma * (np.sqrt(rho) * common + np.sqrt(1 - rho) * own)
        return {i: [float(store[j][i]) for j in range(first, first + count)] for i in systems}

    return sample


def test_a_clearly_best_system_is_picked_at_the_first_stage() -> None:
    sel = kn_plus_plus(["a", "b", "c"], _normal_sampler([10.0, 0.0, 5.0], 1.0, 0.5, 1), delta=1.0,
                       maximize=True, n0=10)
    assert sel.stopped == "selected" and sel.best == 0 and sel.survivors == (0,)
    assert sel.observations == (10, 10, 10) and sel.eliminated_at == (None, 10, 10)
    assert sel.statement() == "a is best (or within δ = 1 of the best) in value with probability ≥ 95%"


def test_minimising_picks_the_smallest() -> None:
    sel = kn_plus_plus(["a", "b"], _normal_sampler([3.0, 1.0], 1.0, 0.0, 2), delta=0.5, n0=10)
    assert sel.best == 1 and sel.stopped == "selected" and sel.means[1] < sel.means[0]


def test_equal_deterministic_systems_are_a_tie_and_the_budget_is_honoured() -> None:
    def constant(systems, first, count):
        return {i: [7.0] * count for i in systems}

    tie = kn_plus_plus(["a", "b", "c"], constant, delta=1.0)
    assert tie.stopped == "tie" and tie.survivors == (0, 1, 2) and "exactly equal" in tie.statement()
    budget = kn_plus_plus(["a", "b"], _normal_sampler([0.0, 0.0], 1.0, 0.0, 3), delta=0.01, n0=5, batch=7,
                          max_replications=40)
    assert budget.stopped == "budget" and budget.survivors == (0, 1) and budget.observations == (40, 40)
    assert "no selection within 40 replications" in budget.statement()


def test_batches_give_the_same_decisions_as_one_at_a_time() -> None:
    one = kn_plus_plus(["a", "b", "c", "d"], _normal_sampler([0.0, 0.3, 0.5, 1.0], 1.0, 0.3, 9), 0.5,
                       maximize=True, n0=8)
    many = kn_plus_plus(["a", "b", "c", "d"], _normal_sampler([0.0, 0.3, 0.5, 1.0], 1.0, 0.3, 9), 0.5,
                        maximize=True, n0=8, batch=16)
    assert (one.best, one.observations) == (many.best, many.observations)
    assert one.eliminated_at == many.eliminated_at


def test_bad_arguments_and_missing_values_are_refused() -> None:
    with pytest.raises(ValueError, match="at least two"):
        kn_plus_plus(["a"], _normal_sampler([0.0], 1, 0, 1), 1.0)
    with pytest.raises(ValueError, match="indifference zone"):
        kn_plus_plus(["a", "b"], _normal_sampler([0.0, 0.0], 1, 0, 1), 0.0)

    def nan(systems, first, count):
        return {i: [float("nan")] * count for i in systems}

    with pytest.raises(ValueError, match="no value in some replication of a"):
        kn_plus_plus(["a", "b"], nan, 1.0)


def test_select_best_on_the_simulator_stops_early_when_one_is_clearly_best() -> None:
    def scenario(mtbf: str) -> object:
        return scenario_from_dict({"scenario": {"horizon": "6h"}, "traffic": {"arrival_rate": 0.05},
                                   "path": {"tiers": ["web"]},
                                   "tiers": {"web": {"service_time": "10ms", "mtbf": mtbf, "mttr": "30m"}}})

    systems = [scenario("10m"), scenario("inf"), scenario("30m")]  # availability about 25%, 100%, 50%
    sel = select_best(systems, ["flaky", "solid", "middling"], "availability", delta=0.05, seed=1, workers=1,
                      n0=10)
    assert sel.stopped == "selected" and sel.best == 1 and sel.observations == (10, 10, 10)


@pytest.mark.slow
def test_correct_selection_rate_in_the_least_favourable_configuration() -> None:
    """Slippage configuration: the best exactly δ above three others (σ = 1, δ = 0.5, CRN ρ = 0.3).
    KN++ promises P(correct selection) ≥ 95%; over 300 independent macro-replications the 99%
    one-sided Clopper–Pearson upper bound of the observed rate must reach 95%."""
    correct = 0
    runs = 300
    for m in range(runs):
        sel = kn_plus_plus(["best", "b", "c", "d"], _normal_sampler([0.5, 0.0, 0.0, 0.0], 1.0, 0.3, 1000 + m),
                           0.5, maximize=True, n0=10, batch=8)
        correct += sel.best == 0
    upper = stats.binomtest(correct, runs).proportion_ci(0.98, method="exact").high
    assert upper >= 0.95, (correct, runs)
