"""The analytic floor: the availability a scenario's failure laws imply, with no traffic effects.

The simulated ``availability`` counts only the infrastructure (the fraction of the window in which
every tier has ``min_healthy`` replicas up), so it should match this value up to noise and the
all-up start of every replication; the customers' view, 1 − ``lost_fraction``, differs from both
by what traffic adds: failover blips (requests routed to a failed replica before it is taken
out), retries that rescue or lose checkouts, queueing and timeouts. Showing the three side by side
says how much of a loss the architecture explains and how much the traffic does.

How the floor is obtained (each result names its way and whether it is exact):

- **Independent replicas** (every failing tier has at least as many repair crews as replicas).
  Replica i alternates up and down periods of means MTBF and MTTR, independently of the others and
  of the zones (its failure clock keeps running while its zone is down), so in the long run it is
  up with probability a = MTBF/(MTBF + MTTR) for *any* laws (alternating renewal theorem, [Ross]
  §7.5, non-lattice laws). Zones are common causes: conditioned on which zones are down (2^Z
  states, each zone up with its own MTBF/(MTBF + MTTR)), the tiers are independent and tier t is
  down when fewer than k_t of its m eligible replicas are up, a binomial tail. Exact in the long run.
- **Limited repair crews, exponential laws** (no injected outage): the infrastructure CTMC of
  :mod:`sim.rare.markov`, solved exactly (GTH), when it has at most ``MAX_CHAIN_STATES`` states.
- Otherwise an **approximation**: a tier with limited crews is the birth–death chain of its
  eligible replicas with the laws' means (exact for exponential laws and no zone on the tier).

Injected outages hold replicas (or a zone) down at fixed times: the measured window
[warmup, horizon) is cut at their edges and each piece takes the long-run value with those
replicas down (replicas 0..r−1 of the tier, as the model takes them), weighted by its length. It is
an approximation: right after an edge the process is not yet in its long-run state.

[Ross] S. M. Ross, *Introduction to Probability Models*, 12th ed., Academic Press 2019.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import stats

from sim.random.distributions import Exponential, is_never
from sim.rare.markov import InfrastructureChain, markov_problems, stationary
from sim.scenario import ScenarioError, scenario_from_dict
from sim.scenario.spec import ALL_REPLICAS, Scenario, TierSpec
from sim.stats.intervals import Summary
from sim.theory.analytic import k_out_of_n

MAX_CHAIN_STATES = 800  # the dense GTH solve is O(states³): about 1 s at 800
MAX_ZONE_STATES = 2**14  # zones enumerated jointly (each up or down)


@dataclass(frozen=True)
class AnalyticFloor:
    """The no-traffic availability of a scenario's checkout path over its measured window."""

    unavailability: float  # long-run path-down fraction, summed directly (keeps digits near A = 1)
    exact: bool  # True: exact in the long run; False: an approximation (``how`` says which)
    how: str  # one line: the formula used
    tiers: Mapping[str, float]  # each tier's own long-run unavailability (no injected outage)

    @property
    def availability(self) -> float:
        return 1.0 - self.unavailability


def replica_unavailability(spec: TierSpec) -> float:
    """Long-run fraction of time one replica is down on its own: MTTR/(MTBF + MTTR) (any laws)."""
    if is_never(spec.mtbf):
        return 0.0
    return spec.mttr.mean / (spec.mtbf.mean + spec.mttr.mean)


def _limited(spec: TierSpec) -> bool:
    return not is_never(spec.mtbf) and spec.repair_crews < spec.replicas


def _tier_down(spec: TierSpec, eligible: int) -> float:
    """P(fewer than min_healthy of the ``eligible`` replicas up), the others held down."""
    if eligible < spec.min_healthy:
        return 1.0
    if is_never(spec.mtbf):
        return 0.0
    if _limited(spec):
        return k_out_of_n(eligible, spec.min_healthy, spec.mtbf.mean, spec.mttr.mean,
                          spec.repair_crews).unavailability
    # binomial: fewer than k up among ``eligible`` independent replicas up with probability a
    return float(stats.binom.cdf(spec.min_healthy - 1, eligible, 1.0 - replica_unavailability(spec)))


def _zone_of(scenario: Scenario, spec: TierSpec) -> list[int]:
    index = {z.name: k for k, z in enumerate(scenario.zones)}
    return [index[spec.zones[i % len(spec.zones)]] if spec.zones else -1 for i in range(spec.replicas)]


def _path_down(scenario: Scenario, forced: Mapping[int, int], zones_forced: frozenset[int]) -> float:
    """Long-run path unavailability with replicas 0..forced[t]−1 of tier t and ``zones_forced`` held down."""
    zone_u = [0.0 if is_never(z.mtbf) else z.mttr.mean / (z.mtbf.mean + z.mttr.mean) for z in scenario.zones]
    random_zones = [z for z, u in enumerate(zone_u) if u > 0.0 and z not in zones_forced]
    if 2 ** len(random_zones) > MAX_ZONE_STATES:
        raise ValueError(f"{len(random_zones)} failing zones are too many to enumerate")
    placement = [_zone_of(scenario, spec) for spec in scenario.tiers]
    total = 0.0
    for downs in itertools.product((False, True), repeat=len(random_zones)):
        pairs = list(zip(random_zones, downs, strict=True))
        weight = math.prod(zone_u[z] if d else 1.0 - zone_u[z] for z, d in pairs)
        if weight == 0.0:
            continue
        down_zones = zones_forced | {z for z, d in pairs if d}
        log_up = 0.0
        for t, spec in enumerate(scenario.tiers):
            held = forced.get(t, 0)
            eligible = sum(1 for i, z in enumerate(placement[t]) if i >= held and z not in down_zones)
            tier_down = _tier_down(spec, eligible)
            log_up += math.log1p(-tier_down) if tier_down < 1.0 else -math.inf
        total += weight * -math.expm1(log_up)
    return total


def _segments(scenario: Scenario) -> list[tuple[float, dict[int, int], frozenset[int]]]:
    """(length, replicas held down per tier, zones held down) of each piece of the measured window."""
    start, end = scenario.warmup_s, scenario.horizon_s
    edges = {start, end}
    for o in scenario.outages:
        edges.update(x for x in (o.start_s, o.start_s + o.duration_s) if start < x < end)
    names = [t.name for t in scenario.tiers]
    zones = [z.name for z in scenario.zones]
    cuts = sorted(edges)
    pieces = []
    for a, b in itertools.pairwise(cuts):
        forced: dict[int, int] = {}
        zones_down: set[int] = set()
        for o in scenario.outages:
            if o.start_s <= a < o.start_s + o.duration_s:
                if o.zone is not None:
                    zones_down.add(zones.index(o.zone))
                else:
                    t = names.index(o.tier)
                    count = scenario.tiers[t].replicas if o.replicas == ALL_REPLICAS else o.replicas
                    forced[t] = max(forced.get(t, 0), count)
        pieces.append((b - a, forced, frozenset(zones_down)))
    return pieces


def analytic_floor(scenario: Scenario) -> AnalyticFloor:
    """The scenario's no-traffic path availability over its measured window (see the module docstring)."""
    tiers = {s.name: _path_down(dataclasses.replace(scenario, tiers=(s,)), {}, frozenset())
             for s in scenario.tiers}
    limited = [s for s in scenario.tiers if _limited(s)]
    if not limited:
        how = "independent replicas, MTBF/(MTBF+MTTR) each, zones as common causes"
        exact = not scenario.outages
        how += "" if scenario.outages else "; exact in the long run for any laws"
    elif not scenario.outages and not markov_problems(scenario):
        chain = InfrastructureChain(scenario)
        if sum(1 for _ in itertools.islice(chain.states(), MAX_CHAIN_STATES + 1)) <= MAX_CHAIN_STATES:
            measures = stationary(chain)
            how = f"exact stationary solve of the infrastructure Markov chain ({measures.states} states)"
            return AnalyticFloor(measures.unavailability, True, how, tiers)
        how = "limited crews: birth-death chain per tier, zones as common causes (chain too large to solve)"
        exact = False
    else:
        exponential = all(isinstance(s.mtbf, Exponential) and isinstance(s.mttr, Exponential)
                          for s in limited)
        how = ("limited crews: birth-death chain per tier with the laws' means"
               + ("" if exponential else " (exact for exponential laws only)") + ", zones as common causes")
        exact = exponential and not scenario.outages and not any(s.zones for s in limited)
    if scenario.outages:
        how += "; injected outages: long-run value with their replicas held down, piece by piece"
    pieces = _segments(scenario)
    window = sum(length for length, _, _ in pieces)
    down = math.fsum(length * _path_down(scenario, forced, zones) for length, forced, zones in pieces)
    return AnalyticFloor(down / window, exact, how, tiers)


def floor_lines(floor: AnalyticFloor, metrics: Mapping[str, Summary]) -> list[str]:
    """The floor beside the simulated availability and the customers' view, with the gaps explained."""
    kind = "exact" if floor.exact else "approximation"
    lines = [f"\nanalytic floor (failure laws alone, no traffic): availability {_pct(floor.availability)} "
             f"({kind}: {floor.how})"]
    avail = metrics.get("availability")
    if avail is not None and not math.isnan(avail.mean):
        if avail.n >= 2 and avail.ci_low == avail.ci_high == avail.mean and "exact" in avail.method:
            gap = (avail.mean - floor.availability) * 100
            lines.append(f"  simulated availability {_pct(avail.mean)} (exact: the infrastructure chain's "
                         f"expectation over the horizon from an all-up start, {gap:+.4f} pp against the "
                         "floor: the transient of starting with every replica up, which fades as the "
                         "horizon grows)")
        elif avail.n >= 2 and avail.method.rpartition("+")[2] == "fixed":
            gap = (avail.mean - floor.availability) * 100
            lines.append(f"  simulated availability {_pct(avail.mean)} (fixed: no replica or zone fails at "
                         "random, so the downtime is the injected outages' alone, the same in every "
                         f"replication; {gap:+.4f} pp against the floor)")
        elif avail.n >= 2 and not math.isnan(avail.ci_low):
            where = ("inside" if avail.ci_low <= floor.availability <= avail.ci_high else
                     "above" if floor.availability > avail.ci_high else "below")
            interval = f"[{_pct(avail.ci_low)}, {_pct(avail.ci_high)}]"
            why = ("noise and the all-up start of each replication, which flatters short horizons" if
                   where == "inside" else "few outages per replication make the t interval understate the "
                   "noise; the all-up start flatters short horizons: run longer or more replications")
            lines.append(f"  simulated availability {_pct(avail.mean)} {interval}: the floor is {where} its "
                         f"interval ({why})")
        else:
            lines.append(f"  simulated availability {_pct(avail.mean)} (one replication: no interval)")
    lost = metrics.get("lost_fraction")
    if lost is not None and not math.isnan(lost.mean):
        gap = (1.0 - lost.mean) - (avail.mean if avail is not None else floor.availability)
        lines.append(f"  customers' view 1 − lost_fraction {_pct(1.0 - lost.mean)} ({gap * 100:+.4f} pp "
                     "against availability): traffic effects — failover blips before a failed replica is "
                     "taken out and timeouts lose checkouts; retries rescue some outage losses; queueing "
                     "adds delay")
    return lines


def _pct(x: float) -> str:
    return f"{x * 100:.4f}%"


def floor_report(scenario: Scenario, metrics: Mapping[str, Summary]) -> list[str]:
    """:func:`floor_lines` for ``scenario``, or one line saying why there is no floor (too many zones)."""
    try:
        return floor_lines(analytic_floor(scenario), metrics)
    except ValueError as err:
        return [f"\nanalytic floor: not computed ({err})"]


def floor_comparison(names: Sequence[str], scenarios: Sequence[dict], results: Sequence[Mapping[str, dict]]
                     ) -> list[str]:
    """One line per stored scenario: its analytic floor, simulated availability and customers' view
    (``scenarios``: the resolved scenario dicts; ``results``: each run's stored metrics)."""
    lines = []
    for name, raw, metrics in zip(names, scenarios, results, strict=True):
        try:
            floor = analytic_floor(scenario_from_dict(raw, source=f"<{name}>"))
        except (ValueError, ScenarioError) as err:
            lines.append(f"{name}: no floor ({err})")
            continue
        avail = (metrics.get("availability") or {}).get("mean")
        lost = (metrics.get("lost_fraction") or {}).get("mean")
        simulated = "–" if avail is None else _pct(avail)
        customers = "–" if lost is None else _pct(1.0 - lost)
        kind = "exact" if floor.exact else "approximation"
        lines.append(f"{name}: floor {_pct(floor.availability)} ({kind}); simulated availability "
                     f"{simulated}; customers' view 1 − lost_fraction {customers}")
    return lines


FLOOR_EXPLAINED = ("The analytic floor is the availability the failure laws alone imply in the long run (no "
                   "traffic): the simulated availability differs from it only by noise and the all-up start "
                   "of each replication; the customers' view differs from both by traffic effects — failover "
                   "blips and timeouts lose checkouts, retries rescue some outage losses.")
