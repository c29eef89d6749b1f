"""A tier: replicas behind a load balancer, with failover and k-out-of-n availability.

The tier decides which replica gets a request (round robin, least outstanding requests or
random over the replicas it believes healthy), notices failures after the failover delay, and
tells the system when it has fewer than ``min_healthy`` healthy replicas.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.model.replica import Replica
from sim.model.timers import Timer
from sim.scenario.spec import TierSpec


class Tier:
    """The replicas of one tier and the load balancer in front of them."""

    def __init__(
        self,
        env,
        spec: TierSpec,
        replicas: list[Replica],
        on_availability: Callable[[Tier, bool], None],
        uniform: Callable[[], float] | None = None,
        health_check_phase_s: list[float] | None = None,
        on_healthy_count: Callable[[Tier], None] | None = None,
    ) -> None:
        self.env = env
        self.spec = spec
        self.name = spec.name
        self.replicas = replicas
        self.min_healthy = spec.min_healthy
        self.up_count = len(replicas)
        self.available = self.up_count >= self.min_healthy
        self._on_availability = on_availability
        self._on_healthy_count = on_healthy_count
        self.on_pool_join: Callable[[], None] | None = None  # e.g. an async backlog waiting for the tier
        self._uniform = uniform
        self._phase = health_check_phase_s or [0.0] * len(replicas)
        self.active_passive = spec.mode == "active-passive"
        # the load balancer's view: replicas it routes to
        self.pool: list[Replica] = [replicas[0]] if self.active_passive else list(replicas)
        self._rr = -1
        policy = spec.load_balancing
        self.route: Callable[[], Replica | None] = {
            "round-robin": self._round_robin,
            "least-outstanding": self._least_outstanding,
            "random": self._random,
        }[policy]

    # -- routing ---------------------------------------------------------------------------
    def _round_robin(self) -> Replica | None:
        pool = self.pool
        if not pool:
            return None
        self._rr = i = (self._rr + 1) % len(pool)
        return pool[i]

    def _least_outstanding(self) -> Replica | None:
        pool = self.pool
        if not pool:
            return None
        if len(pool) == 1:
            return pool[0]
        return min(pool, key=_outstanding)

    def _random(self) -> Replica | None:
        pool = self.pool
        if not pool:
            return None
        return pool[int(self._uniform() * len(pool))]

    # -- failures seen by the load balancer -----------------------------------------------
    def detection_delay(self, replica: Replica, now: float) -> float:
        """How long the load balancer keeps routing to a replica that failed at ``now``."""
        spec = self.spec
        interval = spec.health_check_interval_s
        if interval is None:
            return spec.failover_delay_s
        # health checks run every `interval` from the replica's phase; the failure is noticed
        # at the `unhealthy_threshold`-th failed check
        since_tick = (now - self._phase[replica.index]) % interval
        return (interval - since_tick) + (spec.unhealthy_threshold - 1) * interval

    def replica_down(self, replica: Replica) -> None:
        """A replica stopped serving: fail its requests, notice it later, update availability."""
        replica.failure_epoch += 1
        replica.crash()
        self.up_count -= 1
        self._check_availability()
        if self._on_healthy_count is not None:
            self._on_healthy_count(self)
        if replica.in_pool:
            delay = self.detection_delay(replica, self.env.now)
            if delay <= 0:
                self._eject(replica)
            else:
                Timer(self.env, delay, self._detected, (replica, replica.failure_epoch))

    def _detected(self, timer: Timer) -> None:
        replica, epoch = timer._value
        if not replica.up and replica.failure_epoch == epoch and replica.in_pool:
            self._eject(replica)

    def _eject(self, replica: Replica) -> None:
        replica.in_pool = False
        if replica in self.pool:
            self.pool.remove(replica)
        if self.active_passive and not self.pool:
            for standby in self.replicas:
                if standby.up:  # a healthy standby takes over
                    self._join(standby)
                    break

    def replica_up(self, replica: Replica) -> None:
        """A replica is serving again; it rejoins the pool at once (as primary if none is left)."""
        self.up_count += 1
        self._check_availability()
        if self._on_healthy_count is not None:
            self._on_healthy_count(self)
        if self.active_passive:
            if replica.in_pool:
                return  # the failure was never noticed: it is still the primary
            if not self.pool:
                self._join(replica)
            return
        if not replica.in_pool:
            self._join(replica)

    def _join(self, replica: Replica) -> None:
        replica.in_pool = True
        self.pool.append(replica)
        if self.on_pool_join is not None:
            self.on_pool_join()

    def _check_availability(self) -> None:
        available = self.up_count >= self.min_healthy
        if available != self.available:
            self.available = available
            self._on_availability(self, available)


def _outstanding(replica: Replica) -> float:
    return len(replica.in_service) + replica.waiting


def expected_phases(n: int, interval_s: float | None) -> list[float]:
    """Health-check phases spread evenly over the interval (deterministic, no randomness)."""
    if interval_s is None or math.isinf(interval_s):
        return [0.0] * n
    return [interval_s * i / n for i in range(n)]
