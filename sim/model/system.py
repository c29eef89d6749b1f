"""The checkout system of one replication: tiers, replicas, failures, traffic and customers wired
together on one SimPy environment, reporting to one recorder."""

from __future__ import annotations

import math
from collections.abc import Sequence

import simpy

from sim.model.customer import CheckoutFlow, StatusPage
from sim.model.failures import injected_outage, replica_lifecycle, scripted_infrastructure, zone_lifecycle
from sim.model.hops import HoldingReplica
from sim.model.population import ClosedPopulation
from sim.model.replica import Replica
from sim.model.tier import Tier, expected_phases
from sim.model.timers import Timer
from sim.model.traffic import Arrivals
from sim.random.distributions import is_never
from sim.random.streams import Streams
from sim.scenario.spec import ALL_REPLICAS, Scenario, TierSpec
from sim.stats.metrics import SUCCESS_BUCKET_S, Recorder

DRAIN_CHECK_S = 1.0  # after the horizon, how often to check whether everything has resolved
DRAIN_LIMIT_S = 86400.0  # customers still in a checkout this long after the horizon count as lost


#: A scripted infrastructure path: (time, tier name, replica index, down) in the order to apply.
Script = Sequence[tuple[float, str, int, bool]]


class CheckoutSystem:
    """Builds the model for ``scenario`` and runs it until the horizon and a drain.

    With ``script`` the replicas do not draw failures, zones and injected outages: they go down
    and come back at the given times instead (an infrastructure path simulated elsewhere, or none
    at all for a healthy-only run); everything else — routing, failover, customers — is unchanged.
    """

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        streams: Streams,
        recorder: Recorder,
        script: Script | None = None,
    ) -> None:
        self.env = env
        self.scenario = scenario
        self.recorder = recorder
        self.unavailable_components = 0
        self.status_page = StatusPage()
        self._path_down_epoch = 0
        self._deps = set(scenario.dependencies)
        self.tiers: dict[str, Tier] = {spec.name: self._build_tier(spec, streams) for spec in scenario.tiers}
        self.flow = CheckoutFlow(
            env,
            scenario.customer,
            [self.tiers[name] for name in scenario.path],
            recorder,
            streams,
            scenario.communication,
            self.status_page,
        )
        for tier in self.tiers.values():
            for replica in tier.replicas:
                replica.flow = self.flow
        if self.flow.backlog is not None:  # an asynchronous tier's replicas work for its backlog
            for replica in self.flow.backlog.tier.replicas:
                replica.flow = self.flow.backlog
        self.flow.wire_hops()
        if script is None:
            self._start_failures(streams)
        elif script:
            tiers = self.tiers
            changes = [(t, tiers[name], tiers[name].replicas[i], down) for t, name, i, down in script]
            env.process(scripted_infrastructure(env, changes))
        if scenario.traffic.closed:
            self.arrivals: Arrivals | ClosedPopulation = ClosedPopulation(env, scenario.traffic, streams,
                                                                          self.flow.arrive)
            self.flow.on_checkout_end = self.arrivals.checkout_ended
        else:
            self.arrivals = Arrivals(env, scenario.traffic, streams, self.flow.arrive)
        self.stopped = env.event()
        if scenario.warmup_s > 0:
            Timer(env, scenario.warmup_s, lambda _t: recorder.at_warmup(env.now))
        Timer(env, scenario.horizon_s, self._at_horizon)
        Timer(env, SUCCESS_BUCKET_S, self._success_tick)

    def _build_tier(self, spec: TierSpec, streams: Streams) -> Tier:
        slowdown_s = spec.service_time_per_in_flight_s
        path = self.scenario.path
        stage = path.index(spec.name) if spec.name in path else -1
        calls_next = 0 <= stage < len(path) - 1 and self.scenario.tier(path[stage + 1]).called_by_replicas
        replica_class = HoldingReplica if calls_next else Replica  # holds its slot while it calls
        replicas = [
            replica_class(self.env, spec.name, i, spec.concurrency, spec.queue_limit, slowdown_s)
            for i in range(spec.replicas)
        ]
        uniform = streams.uniform(f"routing:{spec.name}") if spec.load_balancing == "random" else None
        return Tier(
            self.env,
            spec,
            replicas,
            self._availability_changed,
            uniform,
            expected_phases(spec.replicas, spec.health_check_interval_s),
            lambda tier: self.recorder.healthy_replicas(self.env.now, tier.name, tier.up_count),
        )

    def _start_failures(self, streams: Streams) -> None:
        env, scenario = self.env, self.scenario
        for spec in scenario.tiers:
            tier = self.tiers[spec.name]
            if is_never(spec.mtbf):
                continue
            crews = None if math.isinf(spec.repair_crews) else simpy.Resource(env, int(spec.repair_crews))
            for replica in tier.replicas:
                env.process(
                    replica_lifecycle(
                        env,
                        tier,
                        replica,
                        streams.sampler(f"failure:{spec.name}:{replica.index}", spec.mtbf),
                        streams.sampler(f"repair:{spec.name}:{replica.index}", spec.mttr),
                        crews,
                    )
                )
        for zone in scenario.zones:
            if is_never(zone.mtbf):
                continue
            env.process(
                zone_lifecycle(
                    env,
                    self.zone_members(zone.name),
                    streams.sampler(f"zone-failure:{zone.name}", zone.mtbf),
                    streams.sampler(f"zone-repair:{zone.name}", zone.mttr),
                )
            )
        for outage in scenario.outages:
            if outage.zone is not None:
                members = self.zone_members(outage.zone)
            else:
                tier = self.tiers[outage.tier]
                chosen = (
                    tier.replicas if outage.replicas == ALL_REPLICAS else tier.replicas[: outage.replicas]
                )
                members = [(tier, r) for r in chosen]
            env.process(injected_outage(env, members, outage.start_s, outage.duration_s))

    def zone_members(self, zone: str) -> list[tuple[Tier, Replica]]:
        """Replicas placed in ``zone``: replica i of a tier goes to its zone i mod len(zones)."""
        members = []
        for tier in self.tiers.values():
            zones = tier.spec.zones
            members.extend((tier, r) for r in tier.replicas if zones and zones[r.index % len(zones)] == zone)
        return members

    # -- availability ----------------------------------------------------------------------
    def _availability_changed(self, tier: Tier, available: bool) -> None:
        now = self.env.now
        self.recorder.tier_state(now, tier.name, available)
        if tier.name in self._deps:
            self.flow.dependencies_down += -1 if available else 1
        was_up = self.unavailable_components == 0
        self.unavailable_components += -1 if available else 1
        is_up = self.unavailable_components == 0
        if was_up != is_up:
            self.recorder.path_state(now, is_up)
            self._path_down_epoch += 1
            if is_up and self.status_page.showing:
                self.status_page.showing = False
                self.recorder.status_page_state(now, False)
            elif self.flow.communication is not None:
                Timer(
                    self.env,
                    self.flow.communication.detection_delay_s,
                    self._incident_noticed,
                    self._path_down_epoch,
                )

    def _incident_noticed(self, timer: Timer) -> None:
        if timer._value == self._path_down_epoch and self.unavailable_components:
            self.status_page.showing = True
            self.recorder.status_page_state(self.env.now, True)

    # -- clock -----------------------------------------------------------------------------
    def _success_tick(self, timer: Timer) -> None:
        self.recorder.success_tick(self.env.now)
        if not self.stopped.triggered:
            Timer(self.env, SUCCESS_BUCKET_S, self._success_tick)

    def _at_horizon(self, timer: Timer) -> None:
        self.recorder.at_horizon(self.env.now)
        self.arrivals.stop()
        self._drain_check(timer)

    def _drain_check(self, timer: Timer) -> None:
        rec = self.recorder
        settled = rec.in_system == 0 and not rec.open_outage_in_window and not rec.open_incident_in_window
        if settled or self.env.now >= self.scenario.horizon_s + DRAIN_LIMIT_S:
            self.stopped.succeed()
        else:
            Timer(self.env, DRAIN_CHECK_S, self._drain_check)
