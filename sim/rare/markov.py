"""The infrastructure as a continuous-time Markov chain, when every failure and repair law is exponential.

A state records, for each tier, the replicas failed on their own in the order they failed (a
FIFO queue for the repair crews: the first ``repair_crews`` of them are being repaired), each
replica named by its zone group, and which zones are down. Replicas of a tier in the same zone
are exchangeable, and with at least as many crews as replicas the order is irrelevant, so those
states are kept sorted; with one group and enough crews a tier's state is just its failed count.

Transitions from a state (rates per second), mirroring :mod:`sim.rare.infrastructure`:

- a failure of a not-yet-failed replica of tier t in zone group g: (# such replicas)/MTBF_t;
  replicas whose zone is down still fail on their own (their failure clock keeps running);
- the repair of each replica being repaired: 1/MTTR_t (the next one in the queue then starts);
- a zone outage: 1/MTBF_zone; the end of a zone outage: 1/MTTR_zone.

A tier is down when fewer than ``min_healthy`` of its replicas are up (failed or in a down zone);
the path is down when any tier is. Injected outages are time-dependent and have no place here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sim.random.distributions import Exponential, is_never
from sim.scenario.spec import Scenario

State = tuple[tuple[tuple[int, ...], ...], tuple[bool, ...]]


@dataclass(frozen=True)
class MarkovTier:
    """One tier as the chain sees it: its replicas grouped by zone, its rates and crews."""

    name: str
    group_sizes: tuple[int, ...]  # replicas per zone group
    group_zone: tuple[int, ...]  # index into the scenario's zones, -1 for "no zone"
    min_healthy: int
    failure_rate_per_s: float  # per replica; 0 for a tier that never fails
    repair_rate_per_s: float
    crews: float

    @property
    def replicas(self) -> int:
        return sum(self.group_sizes)

    @property
    def ordered(self) -> bool:
        """Whether the FIFO order of failed replicas matters (fewer crews than replicas, several groups)."""
        return self.crews < self.replicas and len(self.group_sizes) > 1


@dataclass(frozen=True)
class Transition:
    """One way out of a state: where to, at what rate, and whether it is a failure."""

    target: State
    rate_per_s: float
    failure: bool


class InfrastructureChain:
    """The CTMC of a scenario's infrastructure; raises ``ValueError`` when it is not Markov."""

    def __init__(self, scenario: Scenario) -> None:
        problems = markov_problems(scenario)
        if problems:
            raise ValueError("the infrastructure is not a Markov chain: " + "; ".join(problems))
        zone_index = {z.name: k for k, z in enumerate(scenario.zones)}
        tiers = []
        for spec in scenario.tiers:
            groups: dict[int, int] = {}
            for i in range(spec.replicas):
                z = zone_index[spec.zones[i % len(spec.zones)]] if spec.zones else -1
                groups[z] = groups.get(z, 0) + 1
            order = sorted(groups)
            tiers.append(
                MarkovTier(
                    spec.name,
                    tuple(groups[z] for z in order),
                    tuple(order),
                    spec.min_healthy,
                    0.0 if is_never(spec.mtbf) else 1.0 / spec.mtbf.mean,
                    1.0 / spec.mttr.mean,
                    spec.repair_crews,
                )
            )
        self.tiers = tuple(tiers)
        self.zone_names = tuple(z.name for z in scenario.zones)
        self.zone_rates = tuple(
            (0.0 if is_never(z.mtbf) else 1.0 / z.mtbf.mean, 1.0 / z.mttr.mean) for z in scenario.zones
        )
        self.all_up: State = (tuple(() for _ in self.tiers), tuple(False for _ in self.zone_names))

    # -- state properties --------------------------------------------------------------------
    def tier_down_count(self, t: int, state: State) -> int:
        tier, failed = self.tiers[t], state[0][t]
        zones_down = state[1]
        down = 0
        for g, size in enumerate(tier.group_sizes):
            z = tier.group_zone[g]
            down += size if (z >= 0 and zones_down[z]) else failed.count(g)
        return down

    def path_down(self, state: State) -> bool:
        """Whether some tier has fewer than ``min_healthy`` replicas up in ``state``."""
        tiers = enumerate(self.tiers)
        return any(tier.replicas - self.tier_down_count(t, state) < tier.min_healthy for t, tier in tiers)

    # -- transitions -------------------------------------------------------------------------
    def transitions(self, state: State) -> list[Transition]:
        """Every transition out of ``state``, failures first, in a fixed order (deterministic draws)."""
        failed_all, zones_down = state
        out: list[Transition] = []
        repairs: dict[State, float] = {}
        for t, tier in enumerate(self.tiers):
            failed = failed_all[t]
            if tier.failure_rate_per_s > 0.0:
                for g, size in enumerate(tier.group_sizes):
                    working = size - failed.count(g)
                    if working:
                        grown = (*failed, g) if tier.ordered else tuple(sorted((*failed, g)))
                        rate = working * tier.failure_rate_per_s
                        out.append(Transition(_with(state, t, grown), rate, True))
            in_repair = len(failed) if math.isinf(tier.crews) else min(len(failed), int(tier.crews))
            for pos in range(in_repair):
                target = _with(state, t, failed[:pos] + failed[pos + 1 :])
                repairs[target] = repairs.get(target, 0.0) + tier.repair_rate_per_s
        for z, (fail_rate, repair_rate) in enumerate(self.zone_rates):
            flipped = (failed_all, (*zones_down[:z], not zones_down[z], *zones_down[z + 1:]))
            if zones_down[z]:
                repairs[flipped] = repairs.get(flipped, 0.0) + repair_rate
            elif fail_rate > 0.0:
                out.append(Transition(flipped, fail_rate, True))
        out.extend(Transition(target, rate, False) for target, rate in repairs.items())
        return out

    def states(self) -> Iterator[State]:
        """Every state reachable from all-up, in breadth-first order."""
        seen = {self.all_up}
        frontier = [self.all_up]
        while frontier:
            nxt = []
            for s in frontier:
                yield s
                for tr in self.transitions(s):
                    if tr.target not in seen:
                        seen.add(tr.target)
                        nxt.append(tr.target)
            frontier = nxt


def _with(state: State, t: int, failed: tuple[int, ...]) -> State:
    tiers = state[0]
    return ((*tiers[:t], failed, *tiers[t + 1:]), state[1])


def markov_problems(scenario: Scenario) -> list[str]:
    """Why ``scenario``'s infrastructure is not a CTMC (empty when it is)."""
    problems = []
    for spec in scenario.tiers:
        if not is_never(spec.mtbf) and not isinstance(spec.mtbf, Exponential):
            problems.append(f"tiers.{spec.name}.mtbf is {type(spec.mtbf).__name__}, not exponential")
        if not is_never(spec.mtbf) and not isinstance(spec.mttr, Exponential):
            problems.append(f"tiers.{spec.name}.mttr is {type(spec.mttr).__name__}, not exponential")
    for zone in scenario.zones:
        exponential = isinstance(zone.mtbf, Exponential) and isinstance(zone.mttr, Exponential)
        if not is_never(zone.mtbf) and not exponential:
            problems.append(f"zones.{zone.name} has a failure or repair law that is not exponential")
    if scenario.outages:
        problems.append("injected outages happen at fixed times")
    return problems


@dataclass(frozen=True)
class StationaryMeasures:
    """Exact long-run measures of the chain (from its stationary distribution)."""

    unavailability: float  # long-run fraction of time the path is down (down states summed directly)
    outage_rate_per_s: float  # path up -> down transitions per second
    states: int

    @property
    def mean_outage_s(self) -> float:
        return self.unavailability / self.outage_rate_per_s if self.outage_rate_per_s > 0 else math.nan


def stationary(chain: InfrastructureChain) -> StationaryMeasures:
    """Stationary distribution by the GTH algorithm (Grassmann, Taksar & Heyman, Operations
    Research 1985): state reduction with only additions, multiplications and divisions of
    non-negative numbers, so probabilities of 1e-15 keep full relative accuracy, where solving
    πQ = 0 with a general linear solver would lose them in cancellation."""
    states = list(chain.states())
    index = {s: k for k, s in enumerate(states)}
    m = len(states)
    rates = np.zeros((m, m))
    for s in states:
        for tr in chain.transitions(s):
            rates[index[s], index[tr.target]] += tr.rate_per_s
    a = rates.copy()
    for k in range(m - 1, 0, -1):  # eliminate states m-1 .. 1
        out = a[k, :k].sum()
        a[:k, k] /= out
        a[:k, :k] += np.outer(a[:k, k], a[k, :k])
    pi = np.zeros(m)
    pi[0] = 1.0
    for k in range(1, m):
        pi[k] = pi[:k] @ a[:k, k]
    pi /= pi.sum()
    down = np.array([chain.path_down(s) for s in states])
    unavailability = float(pi[down].sum())
    rate = float(pi[~down] @ rates[np.ix_(~down, down)].sum(axis=1))
    return StationaryMeasures(unavailability, rate, m)


def longest_mean_outage_s(chain: InfrastructureChain) -> float:
    """The largest expected time to leave the path-down states, over every down state to start from.

    Every path outage starts in some down state, so its mean length is at most this; it turns a
    one-sided bound on the outage frequency into one on the unavailability when no outage was seen.
    Solves (I - P_DD)·h = 1/q on the down states D (P the jump chain, q the total rates).
    """
    down = [s for s in chain.states() if chain.path_down(s)]
    if not down:
        return 0.0
    index = {s: k for k, s in enumerate(down)}
    m = len(down)
    jump = np.zeros((m, m))
    hold = np.zeros(m)
    for s in down:
        trs = chain.transitions(s)
        q = sum(tr.rate_per_s for tr in trs)
        hold[index[s]] = 1.0 / q
        for tr in trs:
            if tr.target in index:
                jump[index[s], index[tr.target]] += tr.rate_per_s / q
    return float(np.linalg.solve(np.eye(m) - jump, hold).max())
