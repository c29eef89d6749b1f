"""The validation checks: scenarios simple enough to have an exact answer, and that answer.

Each :class:`Check` is a TOML-shaped scenario (built at a horizon ``scale``) and the analytic
values it must reproduce (from :mod:`sim.theory.analytic`). :mod:`sim.theory.validation` runs
them and decides pass or fail.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sim.scenario.spec import Scenario
from sim.theory import analytic

QUANTILE_BIAS = 0.005  # the latency histogram's 1% log bins: quantiles within ±0.5% relative
FLOAT_BIAS = 1e-9  # exact (zero-variance) quantities: allow floating-point rounding only

Metrics = Mapping[str, float]
Measure = str | Callable[[Metrics], float]  # a metric name, or a function of one replication's metrics

_H = 3600.0
_TINY_SERVICE = {"dist": "deterministic", "value": 0.001}  # "negligible" service: 1 ms


@dataclass(frozen=True)
class Comparison:
    """One simulated quantity against its analytic value.

    ``measure`` is evaluated on each replication's metrics; with ``reference`` the compared
    quantity is the paired difference ``measure - reference`` per replication (analytic 0 for
    an identity such as Little's law). ``bias`` is the relative allowance for a known
    discretisation: the interval is widened by ``bias × |analytic|`` on each side.
    """

    label: str
    measure: Measure
    analytic: float
    bias: float = 0.0
    reference: Callable[[Metrics], float] | None = None


@dataclass(frozen=True)
class Check:
    """A scenario with a known answer: ``build(scale)`` gives its TOML-shaped dict.

    ``replicate(scenario, seed, replication, scale)``, when given, produces one replication's
    measures instead of a full run of the model (the rare-event engine, whose effort grows with
    ``scale`` rather than the horizon; :mod:`sim.theory.rare_checks`).
    """

    name: str
    description: str
    build: Callable[[float], dict]
    comparisons: tuple[Comparison, ...]
    replicate: Callable[[Scenario, int, int, float], Metrics] | None = None



# ---------------------------------------------------------------------------------------------
# Scenario building blocks (durations in seconds).


def _tier(replicas: int = 1, *, service_time: object = _TINY_SERVICE, concurrency: object = "inf",
          queue_limit: object = "inf", mtbf: object = "inf", mttr: float = 1800.0,
          repair_crews: object = "inf", min_healthy: int = 1) -> dict:
    """A tier; plain-number mtbf/mttr/service are exponential means, failover is instant."""
    return {"replicas": replicas, "service_time": service_time, "concurrency": concurrency,
            "queue_limit": queue_limit, "mtbf": mtbf, "mttr": mttr, "repair_crews": repair_crews,
            "failover_delay": 0, "min_healthy": min_healthy}


def _scenario(name: str, *, horizon_s: float, warmup_s: float, arrival_rate: float, tiers: dict,
              customer: dict | None = None, outages: Sequence[dict] = ()) -> dict:
    """A fresh scenario dict (nothing shared with the caller's or another build's); customers by
    default try once and wait as long as it takes."""
    return copy.deepcopy({
        "scenario": {"name": name, "horizon": horizon_s, "warmup": warmup_s},
        "traffic": {"arrival_rate": arrival_rate},
        "customer": {"max_attempts": 1, "patience": "inf", **(customer or {})},
        "path": {"tiers": list(tiers)},
        "tiers": tiers,
        "outages": list(outages),
    })


def _per_outage(metric: str) -> Callable[[Metrics], float]:
    """``metric`` divided by the number of path outages of the replication."""

    def per_outage(m: Metrics) -> float:
        return m[metric] / m["outage_count"] if m["outage_count"] else math.nan

    return per_outage


def _littles_l(m: Metrics) -> float:
    """λ_eff·W of one replication: completed per second × mean latency."""
    return m["throughput_per_s"] * m["latency_mean_s"]


def _unavailability(m: Metrics) -> float:
    return 1.0 - m["availability"]


# ---------------------------------------------------------------------------------------------
# The checks. Sizes: each runs in a few CPU-seconds per replication at scale 1.

_AVAIL_HORIZON_S = 2000 * _H  # long horizon, negligible traffic: hundreds of failure cycles
_AVAIL_WARMUP_S = 10 * _H  # everything starts up; the transient dies out within a few cycles
_AVAIL_RATE = 0.01


def _availability_check(name: str, description: str, tiers: dict, expected: dict) -> Check:
    """Path availability and mean outage vs the series of the tiers' k-out-of-n results."""
    path = analytic.series(*expected.values())
    comparisons = [Comparison("availability", "availability", path.availability),
                   Comparison("mean outage length (s)", "mean_recovery_time_s", path.mean_outage_s)]
    if len(tiers) > 1:
        comparisons += [Comparison(f"availability of {t}", f"availability_{t}", a.availability)
                        for t, a in expected.items()]

    def build(scale: float) -> dict:
        return _scenario(name, horizon_s=_AVAIL_WARMUP_S + _AVAIL_HORIZON_S * scale, warmup_s=_AVAIL_WARMUP_S,
                         arrival_rate=_AVAIL_RATE, tiers=tiers)

    return Check(name, description, build, tuple(comparisons))


def _single_replica() -> Check:
    mtbf, mttr = 1 * _H, 0.5 * _H
    return _availability_check(
        "availability-1of1", "one replica, exponential MTBF 1 h / MTTR 30 min (alternating renewal)",
        {"app": _tier(1, mtbf=mtbf, mttr=mttr)}, {"app": analytic.k_out_of_n(1, 1, mtbf, mttr)})


def _k_out_of_n() -> Check:
    mtbf, mttr = 4 * _H, 1 * _H
    return _availability_check(
        "availability-2of3", "2-of-3 replicas, one repair crew, MTBF 4 h / MTTR 1 h (birth-death chain)",
        {"app": _tier(3, mtbf=mtbf, mttr=mttr, repair_crews=1, min_healthy=2)},
        {"app": analytic.k_out_of_n(3, 2, mtbf, mttr, repair_crews=1)})


def _series() -> Check:
    web = {"mtbf": 2 * _H, "mttr": 1 * _H}
    payment = {"mtbf": 6 * _H, "mttr": 0.5 * _H}
    return _availability_check(
        "availability-series", "web 1-of-2 with one crew, then payment 1-of-1, in series",
        {"web": _tier(2, repair_crews=1, **web), "payment": _tier(1, **payment)},
        {"web": analytic.k_out_of_n(2, 1, web["mtbf"], web["mttr"], repair_crews=1),
         "payment": analytic.k_out_of_n(1, 1, payment["mtbf"], payment["mttr"])})


def _lost_fraction() -> Check:
    """(e) No retries, negligible service: a customer is lost iff it arrives while the path is down."""
    mtbf, mttr, rate = 2 * _H, 1 * _H, 0.02
    tier = analytic.k_out_of_n(2, 1, mtbf, mttr, repair_crews=1)

    def build(scale: float) -> dict:
        return _scenario("lost-fraction", horizon_s=_AVAIL_WARMUP_S + _AVAIL_HORIZON_S * scale,
                         warmup_s=_AVAIL_WARMUP_S, arrival_rate=rate,
                         tiers={"app": _tier(2, mtbf=mtbf, mttr=mttr, repair_crews=1)})

    return Check("lost-fraction", "1-of-2 with one crew, no retries: lost fraction = 1 - availability "
                 "(PASTA)", build, (
                     Comparison("lost fraction", "lost_fraction",
                                analytic.lost_fraction_unavailable(tier.availability)),
                     Comparison("lost fraction - (1 - availability), paired", "lost_fraction", 0.0,
                                reference=_unavailability)))


_OUTAGE_RATE = 5.0
_OUTAGE_S = 300.0
_OUTAGE_PERIOD_S = 1800.0  # one injected outage every half hour, 600 s into the period
_OUTAGES_AT_SCALE_1 = 8


def _outage_scenario(name: str, scale: float, customer: dict) -> dict:
    n = max(1, round(_OUTAGES_AT_SCALE_1 * scale))
    outages = [{"tier": "app", "replicas": "all", "start": i * _OUTAGE_PERIOD_S + 600.0,
                "duration": _OUTAGE_S} for i in range(n)]
    return _scenario(name, horizon_s=n * _OUTAGE_PERIOD_S, warmup_s=0.0, arrival_rate=_OUTAGE_RATE,
                     tiers={"app": _tier(1)}, customer=customer, outages=outages)


def _outage_no_retries() -> Check:
    return Check(
        "outage-no-retries", f"injected outages of {_OUTAGE_S:g} s of every replica, "
        f"{_OUTAGE_RATE:g} customers/s, no retries",
        lambda scale: _outage_scenario("outage-no-retries", scale, {}),
        (Comparison("lost per outage", _per_outage("lost_checkouts"),
                    analytic.lost_in_outage(_OUTAGE_RATE, _OUTAGE_S)),
         Comparison("outage length (s)", "mean_recovery_time_s", _OUTAGE_S, bias=FLOAT_BIAS)))


def _outage_with_retries() -> Check:
    retries, backoff_s = 3, 60.0  # exponential backoff, mean 60 s; 1200 s of calm after each outage
    customer = {"max_attempts": retries + 1, "retry_backoff": backoff_s, "patience": "1h"}
    return Check(
        "outage-with-retries", f"as outage-no-retries, {retries} retries after exponential backoffs "
        f"of mean {backoff_s:g} s", lambda scale: _outage_scenario("outage-with-retries", scale, customer),
        (Comparison("lost per outage", _per_outage("lost_checkouts"),
                    analytic.lost_with_retries(_OUTAGE_RATE, _OUTAGE_S, retries, backoff_s)),
         Comparison("deferred per outage", _per_outage("deferred_checkouts"),
                    analytic.deferred_with_retries(_OUTAGE_RATE, _OUTAGE_S, retries, backoff_s))))


_QUEUE_WARMUP_S = 120.0  # queues start empty; the slowest relaxation time below is a few seconds


def _queue_scenario(name: str, scale: float, hours: float, rate: float, tiers: dict) -> dict:
    """No failures, a warmup from empty, then ``hours`` × ``scale`` of measured time."""
    return _scenario(name, horizon_s=_QUEUE_WARMUP_S + hours * _H * scale, warmup_s=_QUEUE_WARMUP_S,
                     arrival_rate=rate, tiers=tiers)


def _erlang_b() -> Check:
    servers, rate, service_s = 10, 16.0, 0.5  # offered load 8 Erlang
    tier = _tier(1, service_time=service_s, concurrency=servers, queue_limit=0)
    return Check(
        "erlang-b", f"one replica, {servers} slots, no queue, offered load {rate * service_s:g} Erlang "
        "(M/M/c/c loss)", lambda scale: _queue_scenario("erlang-b", scale, 3, rate, {"app": tier}),
        (Comparison("lost fraction", "lost_fraction", analytic.erlang_b(servers, rate * service_s)),))


def _erlang_c() -> Check:
    servers, rate, service_s = 4, 32.0, 0.1  # utilisation 0.8
    q = analytic.mmc(rate, 1.0 / service_s, servers)
    tier = _tier(1, service_time=service_s, concurrency=servers)
    return Check(
        "erlang-c", f"one replica, {servers} slots, unlimited queue, utilisation {q.utilisation:g} (M/M/c)",
        lambda scale: _queue_scenario("erlang-c", scale, 1, rate, {"app": tier}),
        (Comparison("mean latency W (s)", "latency_mean_s", q.mean_response_s),
         Comparison("mean in system L", "mean_in_system", q.mean_in_system)))


def _mm1() -> Check:
    rate, service_rate = 7.0, 10.0
    q = analytic.mmc(rate, service_rate, 1)

    def quantile(p: float) -> float:
        """The M/M/1 response time is exponential with rate μ - λ: its p-quantile is -ln(1 - p)/(μ - λ)."""
        return -math.log1p(-p) / (service_rate - rate)

    tier = _tier(1, service_time=1.0 / service_rate, concurrency=1)
    return Check(
        "mm1-quantiles", f"M/M/1 at utilisation {q.utilisation:g}: response time is exponential "
        "with rate μ - λ", lambda scale: _queue_scenario("mm1-quantiles", scale, 4, rate, {"app": tier}),
        (Comparison("mean latency W (s)", "latency_mean_s", q.mean_response_s),
         Comparison("p50 latency (s)", "latency_p50_s", quantile(0.50), bias=QUANTILE_BIAS),
         Comparison("p95 latency (s)", "latency_p95_s", quantile(0.95), bias=QUANTILE_BIAS)))


def _littles_law() -> Check:
    """(h) L = λ_eff·W holds for any stable system: two tiers, non-exponential service."""
    rate = 20.0
    tiers = {"web": _tier(2, service_time={"dist": "lognormal", "mean": 0.15, "cv": 1.5}, concurrency=2),
             "payment": _tier(1, service_time={"dist": "uniform", "low": 0.0, "high": 0.12}, concurrency=2)}
    return Check(
        "littles-law", "web 2×2 slots (lognormal service) then payment 1×2 slots (uniform service), "
        "no failures: L = λ_eff·W per replication",
        lambda scale: _queue_scenario("littles-law", scale, 1, rate, tiers),
        (Comparison("L - λ_eff·W, paired", "mean_in_system", 0.0, reference=_littles_l),))


CHECKS: tuple[Check, ...] = (
    _single_replica(), _k_out_of_n(), _series(), _lost_fraction(), _outage_no_retries(),
    _outage_with_retries(), _erlang_b(), _erlang_c(), _mm1(), _littles_law(),
)
