"""Scenarios for the rare-event tests: two k-out-of-n tiers in series with exponential laws."""

from __future__ import annotations

from sim.scenario.load import scenario_from_dict
from sim.scenario.spec import Scenario


def k_out_of_n_path(
    replicas: int, min_healthy: int, mtbf: str, mttr: str, crews: int, payment_mtbf: str | None = None
) -> Scenario:
    """web and payment, ``replicas`` each (payment fails at ``payment_mtbf``, default ``mtbf``)."""

    def tier(tier_mtbf: str) -> dict:
        return {
            "replicas": replicas, "service_time": "100ms", "mtbf": tier_mtbf, "mttr": mttr,
            "min_healthy": min_healthy, "repair_crews": crews,
        }

    return scenario_from_dict({
        "scenario": {"name": "k-of-n", "horizon": "1d"},
        "traffic": {"arrival_rate": 1.0},
        "path": {"tiers": ["web", "payment"]},
        "tiers": {"web": tier(mtbf), "payment": tier(payment_mtbf or mtbf)},
    })
