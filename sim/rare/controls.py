"""A control variate for the requests a first failure catches in flight.

In an incident that starts from all-up, the first failure crashes one replica and fails the
requests it holds (in service and waiting). X, that count read just before the crash, follows
the incident's lost checkouts closely when customers do not retry, and its mean over the
path-up incidents is known but for one healthy quantity:

    E[X·1{¬D}] = Σ_r q_r·m_r,

q_r = P(the first failure takes replica r down and the path does not go down before all-up) —
exact, from the jump chain (:meth:`sim.rare.jumps.JumpChain.first_failure_survival`) — and m_r
the healthy stationary mean of the requests outstanding at replica r. Why the product: customers
never change the infrastructure, the first failure's time and replica are independent of the
customer state, and that state at the failure is the healthy stationary one (the incident
windows' warm-up assumption, :func:`sim.rare.cycles.cycle_window_times`); the rest of the
incident's path is independent of the customers too. m_r is estimated from the healthy segments,
which run on their own streams, by reading the replicas at evenly spaced times after their
warm-up: unbiased for m_r and independent of the incidents. The estimator of
:mod:`sim.rare.cycles` replaces each path-up incident's lost count e by e − β·X and adds
β·Σ q_r·m̂_r back, unbiased for any β fixed in advance (:mod:`sim.rare.batches` fits it on the
pilot, whose streams no batch uses).
"""

from __future__ import annotations

import math

import numpy as np

from sim.rare.incidents import script_jump
from sim.rare.jumps import JumpChain

#: readings of the replicas per healthy run, and blocks for the variance of their mean
SNAPSHOTS = 2000
_BLOCKS = 20


class CrashControl:
    """The replicas a first failure can take down, with q_r (module docstring), in a fixed order."""

    def __init__(self, jumps: JumpChain, replicas: list[list[list[int]]], names: list[str]) -> None:
        weights: dict[tuple[int, int], float] = {}
        for state, p in jumps.first_failure_survival().items():
            changes: list[tuple[float, int, int, bool]] = []  # the replica the incidents script down
            script_jump(replicas, jumps.states[0], state, 0.0, [[[] for _ in g] for g in replicas], changes)
            for _, ti, i, _ in changes:
                weights[ti, i] = weights.get((ti, i), 0.0) + p
        keys = sorted(weights)
        self.replicas: list[tuple[str, int]] = [(names[ti], i) for ti, i in keys]
        self.q = np.array([weights[k] for k in keys])

    @staticmethod
    def snapshot_times(start_s: float, length_s: float, n: int = SNAPSHOTS) -> list[float]:
        """``n`` evenly spaced reading times in [start, start + length), mid-interval."""
        return [start_s + (k + 0.5) * length_s / n for k in range(n)]

    def known_part(self, readings: list[list[int]]) -> tuple[float, float]:
        """Σ q_r·m̂_r from the healthy readings (rows: times, columns: ``replicas``) and its variance
        by batch means over :data:`_BLOCKS` consecutive blocks (0 with too few readings)."""
        if not self.replicas or not readings:
            return 0.0, 0.0
        s = np.asarray(readings, dtype=float) @ self.q
        blocks = [b.mean() for b in np.array_split(s, min(_BLOCKS, s.size)) if b.size]
        var = float(np.var(blocks, ddof=1)) / len(blocks) if len(blocks) > 1 else math.nan
        return float(s.mean()), var
