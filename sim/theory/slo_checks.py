"""SLO validation: the breach probability and budget burned of simulated windows against exact values.

Two Markov cases with a one-day window:

- ``slo-two-state``: one replica (exponential up and down times), availability objective 95%;
  the exact breach probability is Takács' series (:func:`sim.theory.slo.two_state_breach_probability`),
  independent of the uniformization that ``sim run`` uses, and the expected budget burned is the
  transient integral E[D_W] = U·W − U·(1 − e^{−(a+r)W})/(a + r), U = a/(a + r), started up;
- ``slo-k-of-n``: a 2-of-3 tier with one repair crew, objective 98%; exact values by
  uniformization of its chain (:func:`sim.theory.slo.window_downtime`).

One replication of a check is ``WINDOWS`` × ``scale`` independent windows of the infrastructure
(:func:`sim.rare.infrastructure.simulate_infrastructure`, the full model's path draw for draw), each
under its own replication index and started all up; its measures are the share of breaching
windows and their mean budget burned, so :mod:`sim.theory.validation`'s t-interval pass rule applies.
"""

from __future__ import annotations

import copy
import math

from sim.rare.infrastructure import simulate_infrastructure
from sim.rare.markov import InfrastructureChain
from sim.scenario import scenario_from_dict
from sim.scenario.spec import Scenario
from sim.theory.checks import Check, Comparison, Metrics
from sim.theory.slo import two_state_breach_probability, window_downtime

WINDOWS = 300  # per replication at scale 1
_DAY = 86400.0
_H = 3600.0


def _scenario(name: str, replicas: int, min_healthy: int, crews: int, mtbf_s: float, mttr_s: float,
              availability: float) -> dict:
    return {
        "scenario": {"name": name, "horizon": _DAY},
        "traffic": {"arrival_rate": 0.001},
        "path": {"tiers": ["web"]},
        "tiers": {"web": {"replicas": replicas, "min_healthy": min_healthy, "repair_crews": crews,
                          "mtbf": mtbf_s, "mttr": mttr_s, "service_time": 0.001, "failover_delay": 0}},
        "slo": {"window": _DAY, "availability": availability},
    }


def _replicate(scenario: Scenario, seed: int, replication: int, scale: float) -> Metrics:
    slo = scenario.slo
    assert slo is not None and slo.availability is not None  # built with an availability objective
    budget = (1.0 - slo.availability) * slo.window_s
    n = max(2, round(WINDOWS * scale))
    downs = [simulate_infrastructure(scenario, seed, replication * n + i, slo.window_s).path_down_time_s(
        0.0, slo.window_s) for i in range(n)]
    return {"breach_fraction": sum(d > budget for d in downs) / n,
            "budget_burned": sum(downs) / n / budget}


def _two_state() -> Check:
    mtbf, mttr, target = 10 * _H, 0.5 * _H, 0.95
    budget = (1.0 - target) * _DAY
    a, r = 1.0 / mtbf, 1.0 / mttr
    u = a / (a + r)
    expected_down = u * _DAY - u * -math.expm1(-(a + r) * _DAY) / (a + r)
    raw = _scenario("slo-two-state", 1, 1, 1, mtbf, mttr, target)
    return Check("slo-two-state", "one replica, MTBF 10 h, MTTR 30 min, availability SLO 95% per day: "
                 "Takács' downtime distribution", lambda scale: copy.deepcopy(raw),
                 (Comparison("P(SLO breach) per window", "breach_fraction",
                             two_state_breach_probability(mtbf, mttr, _DAY, budget)),
                  Comparison("budget burned per window", "budget_burned", expected_down / budget)),
                 replicate=_replicate)


def _k_of_n() -> Check:
    raw = _scenario("slo-k-of-n", 3, 2, 1, 20 * _H, 2 * _H, 0.98)
    scenario = scenario_from_dict(raw, source="<check slo-k-of-n>")
    exact = window_downtime(InfrastructureChain(scenario), _DAY, 0.02 * _DAY)
    return Check("slo-k-of-n", "2-of-3 replicas, one repair crew, MTBF 20 h, MTTR 2 h, availability SLO 98% "
                 "per day: uniformization of the chain", lambda scale: copy.deepcopy(raw),
                 (Comparison("P(SLO breach) per window", "breach_fraction", exact.breach_probability),
                  Comparison("budget burned per window", "budget_burned", exact.expected_budget_burned)),
                 replicate=_replicate)


SLO_CHECKS: tuple[Check, ...] = (_two_state(), _k_of_n())
