"""The infrastructure process alone: replicas, repair crews, zones and injected outages, no customers.

Customers react to the infrastructure but never change it, so its path over [0, T) can be
simulated on its own, in microseconds per event, and the customer model run only where it is
not healthy. This module mirrors :mod:`sim.model.failures` and :mod:`sim.model.tier` exactly:

- a replica fails after a draw of its tier's ``mtbf``, queues FIFO for one of the tier's
  ``repair_crews`` (unlimited when ``inf``), is repaired after a draw of ``mttr`` and draws its
  next time to failure only then (its failure clock keeps running while its zone is down);
- a zone outage takes down every replica placed in it (replica i of a tier sits in zone
  ``zones[i mod len(zones)]``) and needs no crew; an injected outage takes its replicas down
  for its window; a replica serves again only when every reason it was down has ended;
- a tier is available while at least ``min_healthy`` replicas are up, and the checkout path is
  down while any tier (path tier or shared dependency) is unavailable. The failover delay and
  health checks only decide where the load balancer routes requests, never availability, so
  they play no part here.

Every law is drawn from the same named streams as the full model (``failure:{tier}:{i}``,
``repair:{tier}:{i}``, ``zone-failure:{zone}``, ``zone-repair:{zone}``), so with the same seed
and replication index the infrastructure path is the full model's path, draw for draw (common
random numbers between an infrastructure-only run and a full run).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sim.random.distributions import is_never
from sim.random.streams import Streams
from sim.scenario.spec import ALL_REPLICAS, Scenario

Interval = tuple[float, float]

# event kinds, in the order SimPy would resolve simultaneous events created in this order
_FAIL, _REPAIRED, _ZONE_DOWN, _ZONE_UP, _OUTAGE_START, _OUTAGE_END = range(6)


@dataclass(frozen=True)
class InfrastructureTrace:
    """What the infrastructure did over [0, horizon_s): its not-healthy and path-down intervals.

    ``incidents`` are the maximal intervals in which some replica was down (its own failure, its
    zone or an injected outage); ``path_down`` the maximal intervals in which some tier had fewer
    than ``min_healthy`` replicas up. Intervals that started before the horizon are followed to
    their end, so an end may lie beyond ``horizon_s``; nothing starting at or after it is kept.
    """

    horizon_s: float
    incidents: tuple[Interval, ...]
    path_down: tuple[Interval, ...]
    events: int  # failures, repairs, zone and outage changes processed (for speed figures)
    # with ``record=True``: every replica's down/up changes, (time, tier index, replica index,
    # down), in the order they happened (a handful a day), to replay inside an incident window
    changes: tuple[tuple[float, int, int, bool], ...] = ()

    def path_down_time_s(self, start_s: float = 0.0, end_s: float | None = None) -> float:
        """Path-down time inside [start_s, end_s) (default: the whole horizon)."""
        end_s = self.horizon_s if end_s is None else end_s
        return sum(max(0.0, min(b, end_s) - max(a, start_s)) for a, b in self.path_down)


class _Tier:
    """Counts for one tier: replicas down, crews busy, the FIFO queue waiting for a crew."""

    __slots__ = ("busy", "crews", "down", "min_healthy", "n", "name", "queue", "reasons", "ttf", "ttr")

    def __init__(self, name: str, n: int, min_healthy: int, crews: float) -> None:
        self.name = name
        self.n = n
        self.min_healthy = min_healthy
        self.crews = crews
        self.busy = 0
        self.queue: deque[int] = deque()
        self.down = 0
        self.reasons = [0] * n
        self.ttf: list[Callable[[], float]] = []
        self.ttr: list[Callable[[], float]] = []

    @property
    def available(self) -> bool:
        return self.n - self.down >= self.min_healthy


def zone_members(scenario: Scenario, zone: str) -> list[tuple[int, int]]:
    """(tier index, replica index) of every replica placed in ``zone`` (as the model places them)."""
    members = []
    for t, spec in enumerate(scenario.tiers):
        zones = spec.zones
        members.extend((t, i) for i in range(spec.replicas) if zones and zones[i % len(zones)] == zone)
    return members


class InfrastructureSimulator:
    """Event-driven simulation of the infrastructure of ``scenario`` from all-up at time 0.

    A plain binary heap of (time, sequence, kind, target) events; memory holds the state and the
    intervals only (a handful per day), never a list of events.
    """

    def __init__(self, scenario: Scenario, streams: Streams) -> None:
        self.scenario = scenario
        self.tiers = [_Tier(s.name, s.replicas, s.min_healthy, s.repair_crews) for s in scenario.tiers]
        self._heap: list[tuple[float, int, int, tuple[int, ...]]] = []
        self._seq = 0
        self.now = 0.0
        self.unavailable = 0  # tiers below min_healthy
        self.replicas_down = 0
        self.changes: list[tuple[float, int, int, bool]] | None = None  # set by run(record=True)
        for t, spec in enumerate(scenario.tiers):
            tier = self.tiers[t]
            if is_never(spec.mtbf):
                continue
            for i in range(spec.replicas):
                tier.ttf.append(streams.sampler(f"failure:{spec.name}:{i}", spec.mtbf))
                tier.ttr.append(streams.sampler(f"repair:{spec.name}:{i}", spec.mttr))
                self._schedule(tier.ttf[i](), _FAIL, (t, i))
        self._zone_members = [zone_members(scenario, z.name) for z in scenario.zones]
        self._zone_ttf: list[Callable[[], float] | None] = []
        self._zone_ttr: list[Callable[[], float] | None] = []
        for z, zone in enumerate(scenario.zones):
            if is_never(zone.mtbf):
                self._zone_ttf.append(None)
                self._zone_ttr.append(None)
                continue
            self._zone_ttf.append(streams.sampler(f"zone-failure:{zone.name}", zone.mtbf))
            self._zone_ttr.append(streams.sampler(f"zone-repair:{zone.name}", zone.mttr))
            self._schedule(self._zone_ttf[z](), _ZONE_DOWN, (z,))
        self._outage_members: list[list[tuple[int, int]]] = []
        for o, outage in enumerate(scenario.outages):
            if outage.zone is not None:
                members = zone_members(scenario, outage.zone)
            else:
                t = [s.name for s in scenario.tiers].index(outage.tier)
                count = scenario.tiers[t].replicas if outage.replicas == ALL_REPLICAS else outage.replicas
                members = [(t, i) for i in range(count)]
            self._outage_members.append(members)
            self._schedule(outage.start_s, _OUTAGE_START, (o,))

    # -- events ------------------------------------------------------------------------------
    def _schedule(self, delay: float, kind: int, target: tuple[int, ...]) -> None:
        if math.isinf(delay):
            return  # a duration that never elapses (e.g. a deterministic infinite MTBF)
        self._seq += 1
        heapq.heappush(self._heap, (self.now + delay, self._seq, kind, target))

    def _take_down(self, t: int, i: int) -> None:
        tier = self.tiers[t]
        tier.reasons[i] += 1
        if tier.reasons[i] == 1:
            if self.changes is not None:
                self.changes.append((self.now, t, i, True))
            was = tier.available
            tier.down += 1
            self.replicas_down += 1
            if was and not tier.available:
                self.unavailable += 1

    def _bring_up(self, t: int, i: int) -> None:
        tier = self.tiers[t]
        tier.reasons[i] -= 1
        if tier.reasons[i] == 0:
            if self.changes is not None:
                self.changes.append((self.now, t, i, False))
            was = tier.available
            tier.down -= 1
            self.replicas_down -= 1
            if not was and tier.available:
                self.unavailable -= 1

    def _start_repair(self, t: int, i: int) -> None:
        tier = self.tiers[t]
        tier.busy += 1
        self._schedule(tier.ttr[i](), _REPAIRED, (t, i))

    def step(self) -> bool:
        """Process the next event; False when none is left (nothing can fail any more)."""
        if not self._heap:
            return False
        self.now, _, kind, target = heapq.heappop(self._heap)
        if kind == _FAIL:
            t, i = target
            self._take_down(t, i)
            tier = self.tiers[t]
            if tier.busy < tier.crews:
                self._start_repair(t, i)
            else:
                tier.queue.append(i)
        elif kind == _REPAIRED:
            t, i = target
            tier = self.tiers[t]
            tier.busy -= 1
            if tier.queue:  # the crew goes straight to the longest-waiting replica
                self._start_repair(t, tier.queue.popleft())
            self._bring_up(t, i)
            self._schedule(tier.ttf[i](), _FAIL, (t, i))
        elif kind == _ZONE_DOWN:
            (z,) = target
            for t, i in self._zone_members[z]:
                self._take_down(t, i)
            self._schedule(self._zone_ttr[z](), _ZONE_UP, (z,))
        elif kind == _ZONE_UP:
            (z,) = target
            for t, i in self._zone_members[z]:
                self._bring_up(t, i)
            self._schedule(self._zone_ttf[z](), _ZONE_DOWN, (z,))
        elif kind == _OUTAGE_START:
            (o,) = target
            for t, i in self._outage_members[o]:
                self._take_down(t, i)
            self._schedule(self.scenario.outages[o].duration_s, _OUTAGE_END, (o,))
        else:
            (o,) = target
            for t, i in self._outage_members[o]:
                self._bring_up(t, i)
        return True

    @property
    def next_time(self) -> float:
        return self._heap[0][0] if self._heap else math.inf

    def run(self, horizon_s: float, record: bool = False) -> InfrastructureTrace:
        """Simulate [0, horizon_s) and follow intervals open at the horizon to their end; with
        ``record`` keep every replica's down/up changes too (for scripted window runs)."""
        if record:
            self.changes = []
        incidents: list[Interval] = []
        path_down: list[Interval] = []
        incident_start = path_start = math.nan
        events = 0
        while True:
            in_incident, in_path_down = self.replicas_down > 0, self.unavailable > 0
            if self.next_time >= horizon_s and not (in_incident or in_path_down):
                break
            if not self.step():
                break
            events += 1
            now = self.now
            if not in_incident and self.replicas_down > 0 and now < horizon_s:
                incident_start = now
            elif in_incident and self.replicas_down == 0 and not math.isnan(incident_start):
                incidents.append((incident_start, now))
                incident_start = math.nan
            if not in_path_down and self.unavailable > 0 and now < horizon_s:
                path_start = now
            elif in_path_down and self.unavailable == 0 and not math.isnan(path_start):
                path_down.append((path_start, now))
                path_start = math.nan
            if now >= horizon_s and math.isnan(incident_start) and math.isnan(path_start):
                break
        changes = tuple(self.changes) if self.changes is not None else ()
        return InfrastructureTrace(horizon_s, tuple(incidents), tuple(path_down), events, changes)


def simulate_infrastructure(
    scenario: Scenario, seed: int, replication: int, horizon_s: float | None = None, record: bool = False
) -> InfrastructureTrace:
    """The infrastructure path of replication ``replication`` of ``scenario`` (the full model's, draw
    for draw) over [0, horizon_s) (default: the scenario's horizon); ``record``: keep the changes."""
    horizon = scenario.horizon_s if horizon_s is None else horizon_s
    return InfrastructureSimulator(scenario, Streams(seed, replication)).run(horizon, record)
