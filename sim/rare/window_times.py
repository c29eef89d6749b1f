"""Window lengths of the incident-window estimator, and per-tier down intervals of a path.

``bound(X)`` is the mean + 6 standard deviations of a law. With k = max attempts:

- attempt A = the patience (bound; 10 × the path's service bound when patience is unlimited);
- look-back c = A + the path's service bound (a customer in a healthy checkout leaves within it);
- warm-up w = max(60 s, 3·c, breaker window + open duration): several healthy lifetimes;
- drain d = k·A + (k − 1)·B + F + async max delay + breaker (window + open duration)
  + [status page: detection delay + bound(return after) + k·A + (k − 1)·B], with B the longest
  backoff (cap, growth, jitter) and F the longest failover (failover delay or health-check
  interval × threshold): the longest a customer who arrives at the end of an incident can still
  be busy. Whether it was long enough is checked on every window (:mod:`sim.rare.windows`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.random.distributions import Deterministic, Distribution
from sim.rare.infrastructure import InfrastructureTrace
from sim.scenario.spec import Scenario

TAIL_SDS = 6.0  # a law's "bound": mean + this many standard deviations
MIN_WARMUP_S = 60.0


@dataclass(frozen=True)
class WindowTimes:
    """The look-back c, warm-up w and drain d of every incident window (seconds)."""

    lookback_s: float
    warmup_s: float
    drain_s: float

    def scaled(self, factor: float) -> WindowTimes:
        return WindowTimes(self.lookback_s * factor, self.warmup_s * factor, self.drain_s * factor)


def _bound(dist: Distribution) -> float:
    return dist.mean + TAIL_SDS * math.sqrt(dist.variance)


def window_times(scenario: Scenario) -> WindowTimes:
    """c, w and d from the scenario's patience, service, retry, async, breaker and status-page times."""
    tiers = {t.name: t for t in scenario.tiers}
    path = [tiers[name] for name in scenario.path]
    service = sum(_bound(t.service_time) for t in path)
    cust = scenario.customer
    patience = cust.patience
    unlimited = isinstance(patience, Deterministic) and math.isinf(patience.value)
    attempt = 10.0 * service if unlimited else _bound(patience)
    k = cust.max_attempts
    growth = max(cust.backoff_multiplier, 3.0 if cust.backoff_policy == "decorrelated-jitter" else 1.0)
    backoff = min(cust.backoff_cap_s, _bound(cust.retry_backoff) * growth ** max(0, k - 2))
    customer_s = k * attempt + (k - 1) * backoff
    failover = max(
        t.health_check_interval_s * t.unhealthy_threshold if t.health_check_interval_s else t.failover_delay_s
        for t in scenario.tiers
    )
    breaker = max(
        (t.circuit_breaker.window_s + t.circuit_breaker.open_duration_s for t in path if t.circuit_breaker),
        default=0.0,
    )
    async_delay = max((t.async_processing.max_delay_s for t in path if t.async_processing), default=0.0)
    drain = customer_s + failover + async_delay + breaker
    comm = scenario.communication
    if comm is not None and comm.status_page:
        drain += comm.detection_delay_s + _bound(comm.return_after) + customer_s
    lookback = attempt + service
    warmup = max(MIN_WARMUP_S, 3.0 * lookback, breaker)
    return WindowTimes(lookback, warmup, drain)



def tier_down_intervals(
    scenario: Scenario, trace: InfrastructureTrace
) -> dict[str, list[tuple[float, float]]]:
    """Intervals in which each tier had fewer than ``min_healthy`` replicas up (from recorded changes)."""
    down = [0] * len(scenario.tiers)
    since = [0.0] * len(scenario.tiers)
    out: dict[str, list[tuple[float, float]]] = {t.name: [] for t in scenario.tiers}
    for at, ti, _i, is_down in trace.changes:
        spec = scenario.tiers[ti]
        was = spec.replicas - down[ti] >= spec.min_healthy
        down[ti] += 1 if is_down else -1
        now_ok = spec.replicas - down[ti] >= spec.min_healthy
        if was and not now_ok:
            since[ti] = at
        elif now_ok and not was:
            out[spec.name].append((since[ti], at))
    return out
