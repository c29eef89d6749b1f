"""The infrastructure chain: its exact stationary solve against independent formulas."""

from __future__ import annotations

import pytest

from sim.rare.biasing import regenerative_estimates
from sim.rare.markov import InfrastructureChain, stationary
from sim.scenario.load import scenario_from_dict
from sim.theory import analytic as an
from tests.rare.conftest import k_out_of_n_path


@pytest.mark.parametrize(
    ("n", "k", "mtbf_h", "crews"),
    [(2, 1, 8, 1), (3, 2, 50, 2), (4, 1, 156, 2), (4, 1, 1480, 1), (4, 3, 5000, 4)],
)
def test_gth_solve_matches_series_of_k_out_of_n(n: int, k: int, mtbf_h: int, crews: int) -> None:
    """The joint chain of two tiers (Kronecker sum) against the product form: 1e-10 relative."""
    path = k_out_of_n_path(n, k, f"{mtbf_h}h", "1h", crews, payment_mtbf=f"{2 * mtbf_h}h")
    exact = stationary(InfrastructureChain(path))
    web = an.k_out_of_n(n, k, mtbf_h * 3600.0, 3600.0, crews)
    theory = an.series(web, an.k_out_of_n(n, k, 2 * mtbf_h * 3600.0, 3600.0, crews))
    assert exact.states == (n + 1) ** 2
    assert exact.unavailability == pytest.approx(theory.unavailability, rel=1e-10)
    assert exact.outage_rate_per_s == pytest.approx(theory.outage_rate_per_s, rel=1e-10)
    assert exact.mean_outage_s == pytest.approx(theory.mean_outage_s, rel=1e-10)


def _zoned(min_healthy: int, crews: int | str) -> InfrastructureChain:
    return InfrastructureChain(scenario_from_dict({
        "scenario": {"name": "zoned", "horizon": "1d"},
        "traffic": {"arrival_rate": 1.0},
        "path": {"tiers": ["web"]},
        "zones": {"a": {"mtbf": "5d", "mttr": "2h"}, "b": {}},
        "tiers": {"web": {"replicas": 2, "service_time": "10ms", "mtbf": "10h", "mttr": "1h",
                          "min_healthy": min_healthy, "repair_crews": crews, "zones": ["a", "b"]}},
    }))


def test_zone_chain_against_independent_components() -> None:
    """Both replicas needed, a crew each, replica 0 in zone a: three independent on/off components."""
    chain = _zoned(2, "inf")
    exact = stationary(chain)
    replica, zone = an.k_out_of_n(1, 1, 36000.0, 3600.0), an.k_out_of_n(1, 1, 5 * 86400.0, 7200.0)
    theory = an.series(replica, replica, zone)
    assert exact.unavailability == pytest.approx(theory.unavailability, rel=1e-12)
    assert exact.outage_rate_per_s == pytest.approx(theory.outage_rate_per_s, rel=1e-12)


def test_one_crew_keeps_the_failure_order_of_zone_groups() -> None:
    """With one crew and two zone groups the chain tracks the FIFO order: states (), (0,), (1,), (0, 1),
    (1, 0), each with zone a up or down. Biasing agrees with the exact solve (99.9% interval)."""
    chain = _zoned(1, 1)
    exact = stationary(chain)
    assert exact.states == 10
    est = regenerative_estimates(chain, 20_000, seed=6, confidence=0.999)
    assert est.unavailability.contains(exact.unavailability)
    assert est.outage_frequency_per_hour.contains(exact.outage_rate_per_s * 3600.0)
