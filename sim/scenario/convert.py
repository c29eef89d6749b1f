"""A scenario back to its TOML-shaped dict, its content hash and its one-line description."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from sim.scenario.durations import format_duration
from sim.scenario.spec import (
    ALL_REPLICAS,
    RetryControlSpec,
    Scenario,
    TierSpec,
)


def _inf(x: float) -> float | str:
    return "inf" if math.isinf(x) else x


def _count(x: float) -> int | str:
    """A count the spec stores as a float (so it can be inf), written as TOML writes it."""
    return "inf" if math.isinf(x) else int(x)


def _control_dict(c: RetryControlSpec) -> dict[str, Any]:
    """A retry control as its table form (durations in seconds, keys without the _s)."""
    durations = {"ttl_s": "ttl", "window_s": "window"}
    return {"kind": c.kind, **{durations.get(name, name): value for name, value in c.params}}


def _tier_dict(t: TierSpec) -> dict[str, Any]:
    d: dict[str, Any] = {
        "replicas": t.replicas, "service_time": t.service_time.to_dict(),
        "concurrency": _count(t.concurrency), "queue_limit": _count(t.queue_limit),
        "mtbf": "inf" if t.mtbf is None else t.mtbf.to_dict(),
        "mttr": t.mttr.to_dict(), "repair_crews": _count(t.repair_crews), "min_healthy": t.min_healthy,
        "mode": t.mode, "load_balancing": t.load_balancing, "failure_mode": t.failure_mode,
        "zones": list(t.zones), "replica_cost_per_hour": t.replica_cost_per_hour,
        "async": t.async_processing is not None}
    if t.health_check_interval_s is None:
        d["failover_delay"] = t.failover_delay_s
    else:  # the failover delay is derived from these two
        d["health_check_interval"] = t.health_check_interval_s
        d["unhealthy_threshold"] = t.unhealthy_threshold
    if t.service_time_per_in_flight_s:  # absent when 0, so existing scenarios keep their hash
        d["service_time_per_in_flight"] = t.service_time_per_in_flight_s
    if (a := t.async_processing) is not None:
        d["async_queue_capacity"] = _count(a.queue_capacity)
        d["async_max_delay"] = a.max_delay_s
    if (b := t.circuit_breaker) is not None:
        d["circuit_breaker"] = {"failure_rate_threshold": b.failure_rate_threshold, "window": b.window_s,
                                "min_calls": b.min_calls, "open_duration": b.open_duration_s,
                                "half_open_probes": b.half_open_probes}
        # absent at their defaults, so scenarios without them keep their hash
        if b.scope != "tier":
            d["circuit_breaker"]["scope"] = b.scope
        if b.kind != "threshold":
            d["circuit_breaker"] = {"window": b.window_s, "min_calls": b.min_calls, "kind": b.kind,
                                    "defensiveness": b.defensiveness,
                                    **({"scope": b.scope} if b.scope != "tier" else {})}
    if (r := t.retry) is not None:
        d["retry"] = {"attempts": r.attempts, "timeout": _inf(r.timeout_s), "backoff": r.backoff.to_dict(),
                      "backoff_policy": r.backoff_policy, "backoff_multiplier": r.backoff_multiplier,
                      "backoff_cap": _inf(r.backoff_cap_s), "budget_scope": r.budget_scope}
        if r.budget is not None:
            d["retry"]["budget"] = _control_dict(r.budget)
    if t.idempotency is not None:
        d["idempotency"] = t.idempotency
    return d


def scenario_to_dict(s: Scenario) -> dict[str, Any]:
    """The TOML-shaped, JSON-serialisable form with every key explicit (durations in seconds).

    Optional parts that are absent stay absent: ``traffic.ramp``, ``[communication]``, a tier's
    ``circuit_breaker``, and keys only allowed together with another key (``async_*`` without
    async, ``unhealthy_threshold`` without ``health_check_interval``, ``failover_delay`` with it).
    ``scenario_from_dict(scenario_to_dict(s))`` equals ``s`` apart from ``source``.
    """
    tr, c, m = s.traffic, s.customer, s.communication
    d: dict[str, Any] = {
        "scenario": {"name": s.name, "description": s.description, "horizon": s.horizon_s,
                     "warmup": s.warmup_s, "replications": s.replications, "seed": s.seed},
        "traffic": {"arrival_rate": tr.arrival_rate_per_s, "daily_profile": list(tr.daily_profile),
                    "spikes": [{"start": x.start_s, "duration": x.duration_s, "multiplier": x.multiplier}
                               for x in tr.spikes]},
        "customer": {"max_attempts": c.max_attempts, "retry_backoff": c.retry_backoff.to_dict(),
                     "patience": c.patience.to_dict(), "backoff_multiplier": c.backoff_multiplier,
                     "backoff_cap": _inf(c.backoff_cap_s), "backoff_policy": c.backoff_policy,
                     "abandon_probability": c.abandon_probability,
                     **({"retry_budget": _control_dict(c.retry_budget)} if c.retry_budget else {})},
        "path": {"tiers": list(s.path), "dependencies": list(s.dependencies)},
        "tiers": {t.name: _tier_dict(t) for t in s.tiers},
        "zones": {z.name: {"mtbf": "inf" if z.mtbf is None else z.mtbf.to_dict(), "mttr": z.mttr.to_dict()}
                  for z in s.zones},
        "outages": [{**({"tier": o.tier, "replicas": "all" if o.replicas == ALL_REPLICAS else o.replicas}
                        if o.tier is not None else {"zone": o.zone}),
                     "start": o.start_s, "duration": o.duration_s} for o in s.outages],
        "costs": {"order_value": s.costs.order_value, "currency": s.costs.currency},
    }
    if tr.closed:  # no rate of its own; open traffic has no model key, so its hash is unchanged
        d["traffic"] = {"model": "closed", "clients": tr.clients, "think_time": tr.think_time.to_dict()}  # type: ignore[union-attr]  # closed: set
    if tr.ramp is not None:
        d["traffic"]["ramp"] = {"start": tr.ramp.start_s, "duration": tr.ramp.duration_s,
                                "to_multiplier": tr.ramp.to_multiplier}
    if (o := s.slo) is not None:  # absent without [slo], so existing scenarios keep their hash
        d["slo"] = {"window": o.window_s, **{k: v for k, v in (
            ("availability", o.availability), ("checkout_success", o.checkout_success),
            ("latency_p95", o.latency_p95_s)) if v is not None}}
    if m is not None:
        d["communication"] = {"status_page": m.status_page, "detection_delay": m.detection_delay_s,
                              "return_after": m.return_after.to_dict(),
                              "return_probability": m.return_probability}
    return d


def scenario_hash(s: Scenario) -> str:
    """Content identity of a scenario: 12 hex digits of sha256, independent of its ``source``."""
    canonical = json.dumps(scenario_to_dict(s), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


#: Keys whose change leaves a scenario's own description true (the header states them itself).
_NOT_DESCRIBED = ("scenario.name", "scenario.description", "scenario.replications", "scenario.seed",
                  "scenario.horizon", "scenario.warmup", "slo.")


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key → value of every leaf of a TOML-shaped dict (list items by index)."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, v in items:
        out.update(_leaves(v, f"{prefix}.{key}" if prefix else str(key)))
    return out


def changed_keys(s: Scenario, base: Scenario) -> list[str]:
    """Dotted keys whose value differs between ``s`` and ``base`` (e.g. the file before overrides),
    leaving out those that do not change what a description talks about (replications, seed, horizon)."""
    a, b = _leaves(scenario_to_dict(s)), _leaves(scenario_to_dict(base))
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k) and not k.startswith(_NOT_DESCRIBED))


def arrival_rates(s: Scenario) -> tuple[float, float]:
    """Mean and peak arrival rate (customers/s) over the measured window, daily profile, spikes
    and ramp included (sampled every minute at most, and at every spike's start)."""
    tr = s.traffic
    if not tr.time_varying:
        return tr.arrival_rate_per_s, tr.arrival_rate_per_s
    start, end = s.warmup_s, s.horizon_s
    steps = max(1, min(20_000, math.ceil((end - start) / 60.0)))
    width = (end - start) / steps
    samples = [tr.multiplier(start + (i + 0.5) * width) for i in range(steps)]
    peak = max(samples + [tr.multiplier(x.start_s) for x in tr.spikes if start <= x.start_s < end])
    return tr.arrival_rate_per_s * sum(samples) / steps, tr.arrival_rate_per_s * peak


def _rate_text(s: Scenario) -> str:
    if s.traffic.closed:
        return (f"closed population of {s.traffic.clients:,} clients (think time "
                f"{format_duration(s.traffic.think_time.mean)} mean)")  # type: ignore[union-attr]  # closed: set
    if not s.traffic.time_varying:
        return f"open arrivals, {s.traffic.arrival_rate_per_s:g} customers/s"
    mean, peak = arrival_rates(s)
    return f"open arrivals, {mean:.3g} customers/s on average (peak {peak:.3g})"


def describe(s: Scenario, base: Scenario | None = None) -> str:
    """One line: name, tiers × replicas, arrival rate (mean and peak when it varies), horizon,
    replications, then the scenario's own description.

    ``base`` is the scenario as its file says (before overrides): when an override changed
    anything the description may talk about, the description is marked
    ``(file description; overridden: KEY, ...)`` so the header never claims what does not run.
    """
    modes = {t.mode for t in s.path_tiers}
    one_mode = len(modes) == 1
    line = " → ".join(f"{t.name}×{t.replicas}" + ("" if one_mode else f" ({t.mode})") for t in s.path_tiers)
    parts = [line + (f" ({modes.pop()})" if one_mode else "")]
    if s.dependencies:
        parts[0] += " + " + ", ".join(f"{n}×{s.tier(n).replicas}" for n in s.dependencies)
    parts += [_rate_text(s), f"horizon {format_duration(s.horizon_s)}",
              f"{s.replications} replication" + ("s" if s.replications != 1 else "")]
    if s.outages:
        parts.append(f"{len(s.outages)} injected outage" + ("s" if len(s.outages) > 1 else ""))
    text = f"{s.name}: " + ", ".join(parts)
    if not s.description:
        return text
    changed = changed_keys(s, base) if base is not None else []
    if not changed:
        return f"{text} — {s.description}"
    shown = ", ".join(changed[:4]) + (f" and {len(changed) - 4} more" if len(changed) > 4 else "")
    return f"{text} — {s.description} (file description; overridden: {shown})"
