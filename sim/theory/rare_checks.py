"""Rare-regime validation: the rare-event engine against the k-of-n and series formulas at U = 1e-4 … 1e-11.

Crude simulation cannot check a path that is down 1e-8 of the time (it would need ~1e10 simulated
hours for one outage), so these checks run the rare-event engine instead of the full model, on
paths whose exact answer is known: tiers of exponential replicas (k-out-of-n with a limited
number of repair crews, :func:`sim.theory.analytic.k_out_of_n`) in series
(:func:`sim.theory.analytic.series`), with MTTR 1 h and the MTBF solved so the path's
unavailability is the level in the check's name.

One *replication* of a check is an independent run of the engine under its own replication
index (every stream is keyed by it), so the pass rule of :mod:`sim.theory.validation` applies
unchanged: the analytic value must lie in the Student-t interval of the replications' mean at the
Bonferroni-corrected level. Two estimators are checked:

- the infrastructure alone, regenerative cycles under balanced failure biasing
  (:func:`sim.rare.biasing.regenerative_estimates`): unavailability, outage frequency and mean
  outage length;
- where every tier needs only one replica (so the path is down exactly when some tier has no
  replica up), customers in the loop (:class:`sim.rare.cycles.CycleEstimator`): with zero-time
  requests, one attempt and instant failover a customer is lost exactly when they arrive while
  the path is down, so lost checkouts per arrival = U (PASTA). With ``min_healthy`` above 1 the
  load balancer still serves from the remaining replicas, so that identity does not hold and the
  customer comparison is left out.

``scale`` multiplies the number of cycles per replication (the horizon plays no part).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import optimize

from sim.rare.biasing import regenerative_estimates
from sim.rare.cycles import CycleEstimator
from sim.rare.markov import InfrastructureChain
from sim.scenario.spec import Scenario
from sim.theory import analytic
from sim.theory.checks import Check, Comparison, Metrics

_H = 3600.0
_MTTR_S = 1 * _H
_ARRIVAL_RATE = 0.01  # customers per second: few per incident window, cheap at any level
_ZERO_SERVICE = {"dist": "deterministic", "value": 0}
INFRASTRUCTURE_CYCLES = 10_000  # per replication at scale 1
CUSTOMER_CYCLES = (150, 10)  # biased (path-down) and original-law (path-up) incidents per replication
_HEALTHY_S = 200_000.0  # healthy-segment length: 2,000 customers (zero-time requests lose none)

Tier = tuple[int, int, int]  # replicas, min_healthy, repair crews


def _path(mtbf_s: float, web: Tier, payment: Tier) -> analytic.TierAvailability:
    tiers = (analytic.k_out_of_n(n, k, mtbf_s, _MTTR_S, crews) for n, k, crews in (web, payment))
    return analytic.series(*tiers)


def mtbf_for(unavailability: float, web: Tier, payment: Tier) -> float:
    """The MTBF (seconds, 3 significant digits in hours) at which the path's unavailability is
    closest to ``unavailability`` (solved in log space: U falls monotonically as MTBF grows)."""

    def gap(log_mtbf: float) -> float:
        return math.log(_path(math.exp(log_mtbf), web, payment).unavailability) - math.log(unavailability)

    root = optimize.brentq(gap, math.log(2 * _MTTR_S), math.log(1e12 * _MTTR_S))
    return float(f"{math.exp(root) / _H:.3g}") * _H


def _scenario(name: str, mtbf_s: float, web: Tier, payment: Tier) -> dict:
    def tier(n: int, k: int, crews: int) -> dict:
        return {"replicas": n, "min_healthy": k, "repair_crews": crews, "mtbf": mtbf_s, "mttr": _MTTR_S,
                "service_time": dict(_ZERO_SERVICE), "failover_delay": 0}

    return {
        "scenario": {"name": name, "horizon": "1d"},
        "traffic": {"arrival_rate": _ARRIVAL_RATE},
        "customer": {"max_attempts": 1, "patience": "inf"},
        "path": {"tiers": ["web", "payment"]},
        "tiers": {"web": tier(*web), "payment": tier(*payment)},
    }


def _replicate(customers: bool) -> Callable[[Scenario, int, int, float], Metrics]:
    """One replication of the engine: infrastructure cycles, and customer cycles if ``customers``."""

    def replicate(scenario: Scenario, seed: int, replication: int, scale: float) -> Metrics:
        cycles = max(2, round(INFRASTRUCTURE_CYCLES * scale))
        infra = regenerative_estimates(InfrastructureChain(scenario), cycles, seed, replication=replication)
        metrics = {"unavailability": infra.unavailability.value,
                   "outage_frequency_per_hour": infra.outage_frequency_per_hour.value,
                   "mean_outage_s": infra.mean_outage_s.value}
        if customers:
            rare, plain = (max(2, round(n * scale)) for n in CUSTOMER_CYCLES)
            est = CycleEstimator(scenario, healthy_s=_HEALTHY_S, healthy_segments=4).estimate(
                seed, rare, plain, replication=replication)
            metrics["lost_per_arrival"] = est.rates_per_s["lost_checkouts"].value / _ARRIVAL_RATE
        return metrics

    return replicate


def _rare_check(level: str, web: Tier, payment: Tier) -> Check:
    mtbf = mtbf_for(float(level), web, payment)
    path = _path(mtbf, web, payment)
    customers = web[1] == 1 and payment[1] == 1
    name = f"rare-series-{level}"

    def describe(tier: Tier) -> str:
        n, k, crews = tier
        return f"{k}-of-{n} ({crews} crew{'s' if crews > 1 else ''})"

    comparisons = [
        Comparison("unavailability (rare engine)", "unavailability", path.unavailability),
        Comparison("outages per hour", "outage_frequency_per_hour", path.outage_rate_per_s * _H),
        Comparison("mean outage length (s)", "mean_outage_s", path.mean_outage_s),
    ]
    if customers:
        comparisons.append(Comparison("lost checkouts / arrivals (PASTA)", "lost_per_arrival",
                                      path.unavailability))
    return Check(
        name, f"web {describe(web)} then payment {describe(payment)} in series, MTBF {mtbf / _H:g} h, "
        f"MTTR 1 h: U = {path.unavailability:.3g}; failure biasing"
        + (", customers in the loop" if customers else ""),
        lambda scale: _scenario(name, mtbf, web, payment), tuple(comparisons),
        replicate=_replicate(customers))


RARE_CHECKS: tuple[Check, ...] = (
    _rare_check("1e-4", (2, 1, 1), (3, 2, 1)),
    _rare_check("1e-6", (3, 1, 1), (3, 1, 3)),
    _rare_check("1e-8", (3, 1, 1), (4, 2, 2)),
    _rare_check("1e-11", (4, 1, 1), (4, 1, 1)),
)
