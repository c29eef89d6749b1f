"""Failures and repairs: replicas that break and get fixed, zones that go dark, injected outages.

Each of these is a SimPy process. They only take replicas down and bring them back; what that
means for requests and availability is the tier's business (:mod:`sim.model.tier`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence

import simpy

from sim.model.replica import Replica
from sim.model.tier import Tier


def take_down(tier: Tier, replica: Replica) -> None:
    """Add one reason for ``replica`` to be down (its failure, its zone, an outage)."""
    replica.down_reasons += 1
    if replica.down_reasons == 1:
        tier.replica_down(replica)


def bring_up(tier: Tier, replica: Replica) -> None:
    """Remove one reason for ``replica`` to be down; it serves again when none is left."""
    replica.down_reasons -= 1
    if replica.down_reasons == 0:
        tier.replica_up(replica)


def replica_lifecycle(
    env: simpy.Environment,
    tier: Tier,
    replica: Replica,
    time_to_failure: Callable[[], float],
    time_to_repair: Callable[[], float],
    crews: simpy.Resource | None,
) -> Generator:
    """Fail after a time to failure, wait for a repair crew, get repaired, start again."""
    while True:
        yield env.timeout(time_to_failure())
        take_down(tier, replica)
        if crews is None:
            yield env.timeout(time_to_repair())
        else:
            with crews.request() as crew:
                yield crew
                yield env.timeout(time_to_repair())
        bring_up(tier, replica)


def zone_lifecycle(
    env: simpy.Environment,
    members: Sequence[tuple[Tier, Replica]],
    time_to_failure: Callable[[], float],
    time_to_repair: Callable[[], float],
) -> Generator:
    """A zone outage takes down every replica placed in the zone at once (correlated failure)."""
    while True:
        yield env.timeout(time_to_failure())
        for tier, replica in members:
            take_down(tier, replica)
        yield env.timeout(time_to_repair())
        for tier, replica in members:
            bring_up(tier, replica)


def injected_outage(
    env: simpy.Environment, members: Sequence[tuple[Tier, Replica]], start_s: float, duration_s: float
) -> Generator:
    """The incident under study: ``members`` down from ``start_s`` for ``duration_s``."""
    yield env.timeout(start_s)
    for tier, replica in members:
        take_down(tier, replica)
    yield env.timeout(duration_s)
    for tier, replica in members:
        bring_up(tier, replica)


def scripted_infrastructure(
    env: simpy.Environment, changes: Sequence[tuple[float, Tier, Replica, bool]]
) -> Generator:
    """Replay a known infrastructure path: at each time, one replica goes down (True) or comes back.

    Each change is one reason for the replica to be down, so the tier sees exactly what the drawn
    failures, zones and outages would have done; failover and health checks still apply (routing).
    """
    for time_s, tier, replica, down in changes:
        if time_s > env.now:
            yield env.timeout(time_s - env.now)
        if down:
            take_down(tier, replica)
        else:
            bring_up(tier, replica)
