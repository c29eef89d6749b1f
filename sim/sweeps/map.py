"""A metastability map: which triggers a system recovers from, and at which base load it gets stuck.

A metastable failure outlives its trigger: a capacity loss or a traffic spike ends, yet retries
and orphaned work keep the system overloaded. The map sweeps a trigger — replicas of a tier down
(an ``[[outages]]`` entry) or a traffic spike (a ``[[traffic.spikes]]`` entry), magnitude ×
duration — against the base load, and classifies each replication as *recovered* or *stuck*:
stuck when the service is not back within ``stuck_after`` of the trigger's end. "Back" is the
measure behind ``mean_service_recovery_time_s``: the 1-minute success rate at 99% again.

The base load is a fraction of the path's capacity (the smallest replicas × concurrency / mean
service time of its tiers), turned into an arrival rate (open arrivals) or a number of clients
(a closed population: clients = load × capacity × mean think time, rounded). Every point is the
scenario with its injected outages and spikes replaced by the one trigger, the horizon cut to
the trigger's start + the longest duration + ``stuck_after`` + a margin, and replications keep
the sweep's common random numbers. A map is a sweep (:mod:`sim.sweeps.plan`): the same content
hash, folder, resume, processes and Dask, with a classification (:mod:`sim.sweeps.map_run`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sim.scenario import parse_toml_value
from sim.scenario.durations import format_duration
from sim.scenario.spec import ALL_REPLICAS, Scenario, TierSpec
from sim.sweeps.design import DesignError, SweepSpec, split_key_value
from sim.sweeps.plan import SweepPlan, plan_sweep

TRIGGERS = ("outage", "spike")
DEFAULT_LOADS = (0.4, 0.5, 0.6, 0.7, 0.8)
DEFAULT_DURATIONS_S = (60.0, 300.0, 600.0)
DEFAULT_SPIKE_MULTIPLIERS = (1.5, 2.0)
DEFAULT_START_S = 600.0  # when the scenario has no trigger of its own: 10 minutes to settle
DEFAULT_STUCK_AFTER_S = 600.0
MARGIN_S = 120.0  # past the stuck limit: two success-rate windows, so the classification is settled
#: the swept keys, in column order: trigger magnitude, trigger duration, base load
OUTAGE_KEYS = ("outages.0.replicas", "outages.0.duration")
SPIKE_KEYS = ("traffic.spikes.0.multiplier", "traffic.spikes.0.duration")


@dataclass(frozen=True)
class MapSpec:
    """A map as asked; None means the default (see :func:`plan_map`)."""

    scenario: Scenario | str | Path | None = None
    trigger: str | None = None  # "outage" or "spike"; default: the scenario's own trigger, else outage
    tier: str | None = None  # outage: the tier that loses replicas
    magnitudes: Sequence[float] | None = None  # outage: replicas down; spike: rate multipliers
    durations_s: Sequence[float] | None = None
    loads: Sequence[float] | None = None  # fractions of the path's capacity
    start_s: float | None = None
    stuck_after_s: float = DEFAULT_STUCK_AFTER_S
    replications: int | None = None
    seed: int | None = None
    overrides: Sequence[str] | dict[str, object] = field(default_factory=tuple)


@dataclass(frozen=True)
class MapPlan:
    """A checked map: the sweep behind it and what each point's axes mean."""

    sweep: SweepPlan
    trigger: str
    tier: str | None
    magnitudes: tuple[float, ...]
    durations_s: tuple[float, ...]
    loads: tuple[float, ...]
    start_s: float
    stuck_after_s: float
    capacity_per_s: float  # the path's capacity the loads are fractions of
    load_model: str  # "open" or "closed"

    def point_axes(self, point: int) -> tuple[float, float, float]:
        """(magnitude, duration, load) of a point: points run load fastest, then duration."""
        n_load, n_dur = len(self.loads), len(self.durations_s)
        return (self.magnitudes[point // (n_load * n_dur)], self.durations_s[(point // n_load) % n_dur],
                self.loads[point % n_load])

    def trigger_end_s(self, point: int) -> float:
        return self.start_s + self.point_axes(point)[1]

    def trigger_label(self, magnitude: float, duration_s: float) -> str:
        """A trigger in words: "1 of 2 payment replicas down for 5m", "traffic ×2 for 5m"."""
        if self.trigger == "outage":
            total = self.sweep.base.tier(self.tier).replicas  # type: ignore[arg-type]  # outage: a tier
            return f"{magnitude:g} of {total} {self.tier} replicas down for {format_duration(duration_s)}"
        return f"traffic ×{magnitude:g} for {format_duration(duration_s)}"

    def load_text(self) -> str:
        unit = "arrival rate" if self.load_model == "open" else "clients / mean think time"
        return f"base load: {unit} as a fraction of the path's capacity ({self.capacity_per_s:g} checkouts/s)"


def path_capacity(scenario: Scenario) -> float:
    """Checkouts per second the path can serve: its slowest tier's replicas × concurrency / mean service."""
    rates = [t.replicas * t.concurrency / t.service_time.mean
             for t in scenario.path_tiers if t.async_processing is None and t.service_time.mean > 0]
    return min(rates, default=math.inf)


def _floats(flag: str, values: Sequence[object], positive: bool = True) -> tuple[float, ...]:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or \
                (v <= 0 if positive else v < 0):
            raise DesignError(flag, "", f"{v!r}: expected numbers > 0")
        out.append(float(v))
    if not out:
        raise DesignError(flag, "", "an empty list of values")
    if len(set(out)) < len(out):
        raise DesignError(flag, "", f"repeats a value ({', '.join(f'{x:g}' for x in out)})")
    return tuple(sorted(out))


def _own_trigger(scenario: Scenario) -> tuple[str | None, object]:
    """The scenario's own trigger: its only injected tier outage, else its only spike (or none)."""
    outages = [o for o in scenario.outages if o.tier is not None]
    if len(outages) == 1 and len(scenario.outages) == 1:
        return "outage", outages[0]
    if len(scenario.traffic.spikes) == 1 and not scenario.outages:
        return "spike", scenario.traffic.spikes[0]
    return None, None


def plan_map(spec: MapSpec) -> MapPlan:
    """Check a map and resolve it into a sweep; raises :class:`DesignError` (or a scenario error)
    naming the option at fault before any work is done."""
    extra = dict(spec.overrides) if isinstance(spec.overrides, dict) else _pairs(spec.overrides)
    # the scenario as overridden (a one-point sweep: the same overrides as any sweep's), then the map
    base = plan_sweep(SweepSpec(scenario=spec.scenario, overrides=extra)).base
    own_kind, own = _own_trigger(base)
    trigger = spec.trigger or own_kind or "outage"
    if trigger not in TRIGGERS:
        raise DesignError("--trigger", "", f"{trigger!r}: expected one of {', '.join(TRIGGERS)}")
    same = own if own_kind == trigger else None
    capacity = path_capacity(base)
    if not math.isfinite(capacity):
        raise DesignError("--load", "", "the path has no finite capacity (every tier's concurrency is "
                          '"inf"): set tiers.NAME.concurrency so a load can be a fraction of it')
    loads = _floats("--load", DEFAULT_LOADS if spec.loads is None else spec.loads)
    durations = _floats("--duration", DEFAULT_DURATIONS_S if spec.durations_s is None else spec.durations_s)
    start = spec.start_s
    if start is None:
        start = same.start_s if same is not None else DEFAULT_START_S
    if not (isinstance(start, int | float) and math.isfinite(start) and start >= base.warmup_s):
        raise DesignError("--start", "", f"{start!r}: expected a duration >= the scenario's warmup "
                          f"({format_duration(base.warmup_s)}): incidents are measured after it")
    stuck_after = spec.stuck_after_s
    if not (isinstance(stuck_after, int | float) and math.isfinite(stuck_after) and stuck_after > 0):
        raise DesignError("--stuck-after", "", f"{stuck_after!r}: expected a duration > 0")
    horizon = start + max(durations) + stuck_after + MARGIN_S
    overrides: dict[str, object] = {"scenario.horizon": horizon, "outages": [],
                                    "scenario.description": f"metastability map point: {trigger} trigger at "
                                    f"{format_duration(start)}, stuck if the service is not back within "
                                    f"{format_duration(stuck_after)} of its end"}
    if not base.traffic.closed:  # a closed population has no spikes at all
        overrides["traffic.spikes"] = []
    tier = None
    if trigger == "outage":
        tier = spec.tier or (same.tier if same is not None else _bottleneck(base))
        if tier not in base.path:
            raise DesignError("--tier", "", f"{tier!r} is not a tier of the path ({', '.join(base.path)})")
        default = (same.replicas if same is not None and same.replicas != ALL_REPLICAS else 1,)
        magnitudes = _floats("--magnitude", default if spec.magnitudes is None else spec.magnitudes)
        limit = base.tier(tier).replicas
        if any(not m.is_integer() or m > limit for m in magnitudes):
            raise DesignError("--magnitude", "", f"replicas down must be integers from 1 to {tier}'s "
                              f"replicas ({limit}), not {', '.join(f'{m:g}' for m in magnitudes)}")
        overrides["outages"] = [{"tier": tier, "start": start, "duration": durations[0],
                                 "replicas": int(magnitudes[0])}]
        keys = OUTAGE_KEYS
        magnitude_values: list[object] = [int(m) for m in magnitudes]
    else:
        if spec.tier is not None:
            raise DesignError("--tier", "", "applies to --trigger outage only")
        if base.traffic.closed:
            raise DesignError("--trigger", "", 'spike: a closed population (traffic.model = "closed") has '
                              "no arrival rate to multiply; use --trigger outage")
        default = (same.multiplier,) if same is not None else DEFAULT_SPIKE_MULTIPLIERS
        magnitudes = _floats("--magnitude", default if spec.magnitudes is None else spec.magnitudes)
        overrides["traffic.spikes"] = [{"start": start, "duration": durations[0],
                                        "multiplier": magnitudes[0]}]
        keys = SPIKE_KEYS
        magnitude_values = list(magnitudes)
    if base.traffic.closed:
        think = base.traffic.think_time.mean  # type: ignore[union-attr]  # closed: set
        load_key, load_values = "traffic.clients", [max(1, round(x * capacity * think)) for x in loads]
        if len(set(load_values)) < len(load_values):
            raise DesignError("--load", "", f"loads {', '.join(f'{x:g}' for x in loads)} round to repeated "
                              f"client counts ({', '.join(map(str, load_values))}); use fewer or wider loads")
    else:
        load_key, load_values = "traffic.arrival_rate", [float(f"{x * capacity:.12g}") for x in loads]
    sweep_spec = SweepSpec(
        scenario=base, overrides=overrides,
        grid={keys[0]: magnitude_values, keys[1]: list(durations), load_key: load_values},
        replications=spec.replications, seed=spec.seed,
        origins={keys[0]: "--magnitude", keys[1]: "--duration", load_key: "--load"})
    sweep = plan_sweep(sweep_spec)
    return MapPlan(sweep, trigger, tier, magnitudes, durations, loads, start, stuck_after, capacity,
                   base.traffic.model)


def _bottleneck(scenario: Scenario) -> str:
    """The path tier with the least capacity (the first on ties)."""
    def capacity(t: TierSpec) -> float:
        if t.async_processing is not None or not t.service_time.mean > 0:
            return math.inf
        return t.replicas * t.concurrency / t.service_time.mean

    return min(scenario.path_tiers, key=capacity).name


def _pairs(texts: Sequence[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for text in texts:
        key, value = split_key_value("--set", text, "KEY=VALUE such as tiers.payment.queue_limit=12")
        out[key] = parse_toml_value(value)
    return out


def trigger_recovery_s(incidents: Sequence[Sequence[float]], trigger_end_s: float,
                       stuck_after_s: float) -> float:
    """Seconds from the trigger's end until the service is back and stays back past the stuck limit.

    ``incidents`` are [start, end] periods in which the 1-minute success rate was below 99% (the
    timeline's ``service_incidents``). The service is back at the end of the last incident that
    began by trigger end + ``stuck_after_s``; 0 when none reaches past the trigger's end. Above
    ``stuck_after_s`` the replication is *stuck* (an incident was still going at the limit).
    """
    limit = trigger_end_s + stuck_after_s
    ends = [end for start, end in incidents if start <= limit and end > trigger_end_s]
    return max(ends, default=trigger_end_s) - trigger_end_s
