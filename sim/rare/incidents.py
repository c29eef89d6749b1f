"""Incidents sampled on the infrastructure's jump chain, as scripted replica changes.

An incident runs from the first failure out of all-up back to all-up (:mod:`sim.rare.cycles`).
Its jumps are drawn from a :class:`sim.rare.biasing.CompiledChain` — under balanced failure
biasing until the path goes down, under the original law afterwards, or under the original law
throughout — and each jump is turned into the replica that goes down or comes back: replicas of
a tier and zone group are exchangeable for the customers, so a failure takes the lowest-numbered
working one down and a repair brings back the earliest failed one (the chain's FIFO crew queue).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from sim.rare.biasing import CompiledChain
from sim.rare.markov import State


@dataclass
class Incident:
    """One incident: its replica changes, length, path-down time and likelihood ratio."""

    changes: list[tuple[float, int, int, bool]]  # (time from the first failure, tier, replica, down)
    length_s: float
    down_s: float
    likelihood_ratio: float


def sample_incident(compiled: CompiledChain, states: list[State], rng: np.random.Generator, biased: bool,
                    replicas: list[list[list[int]]]) -> Incident:
    """One incident from the first failure back to all-up; ``states`` mirrors ``compiled``'s index
    (extended here as the chain discovers states), ``replicas`` the indices of each tier's groups."""
    down_ids: list[list[list[int]]] = [[[] for _ in groups] for groups in replicas]
    k, lr, t, down_s = 0, 1.0, 0.0, 0.0
    bias = biased
    changes: list[tuple[float, int, int, bool]] = []
    while True:
        nxt, ratio = compiled.jump(k, float(rng.random()), bias)
        lr *= ratio
        if len(states) < len(compiled.hold):
            states.extend(list(compiled.index)[len(states):])
        script_jump(replicas, states[k], states[nxt], t, down_ids, changes)
        if nxt == 0:
            return Incident(changes, t, down_s, lr)
        k = nxt
        h = compiled.hold[k] * float(rng.exponential())
        if compiled.down[k]:
            down_s += h
            bias = False  # the path went down: the rest of the cycle under the original law
        t += h


def script_jump(replicas: list[list[list[int]]], before: State, after: State, t: float,
                down_ids: list[list[list[int]]], changes: list[tuple[float, int, int, bool]]) -> None:
    """Append the replica change of the jump ``before`` → ``after`` at ``t`` (``down_ids``: the
    replicas down per tier and group, in the order they failed)."""
    for ti, (old, new) in enumerate(zip(before[0], after[0], strict=True)):
        if old == new:
            continue
        if len(new) > len(old):
            (g,) = (Counter(new) - Counter(old)).elements()
            i = min(set(replicas[ti][g]) - set(down_ids[ti][g]))
            down_ids[ti][g].append(i)
            changes.append((t, ti, i, True))
        else:
            (g,) = (Counter(old) - Counter(new)).elements()
            changes.append((t, ti, down_ids[ti][g].pop(0), False))
