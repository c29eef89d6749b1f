"""Exact incident measures from the infrastructure's embedded jump chain.

An incident starts with the first failure out of the all-up state and ends on the return to it
(:mod:`sim.rare.cycles`). With P the jump probabilities and 1/q the mean holding times:

- the mean incident length E[I] = Σ_j P(all-up, j)·h_j, where (I − P_NN)·h = 1/q on the
  not-all-up states N (first-step analysis), and the mean up period 1/q(all-up);
- the *first-failure survival* probabilities: for each state j one jump from all-up (a single
  replica down), P(all-up, j)·s_j with s_j the probability of returning to all-up before the path
  goes down, (I − P_UU)·s = P_U,all-up on the states U that are neither all-up nor path-down
  (absorption probabilities; s_j = 0 when j itself is path-down).

Both are linear solves on the chain's reachable states, exact up to floating point.
"""

from __future__ import annotations

import numpy as np

from sim.rare.markov import InfrastructureChain, State


class JumpChain:
    """The embedded jump chain of ``chain`` over its reachable states (all-up first)."""

    def __init__(self, chain: InfrastructureChain) -> None:
        self.chain = chain
        self.states: list[State] = list(chain.states())
        index = {s: k for k, s in enumerate(self.states)}
        m = len(self.states)
        self.jump = np.zeros((m, m))
        self.hold = np.zeros(m)
        for s in self.states:
            trs = chain.transitions(s)
            q = sum(tr.rate_per_s for tr in trs)
            self.hold[index[s]] = 1.0 / q
            for tr in trs:
                self.jump[index[s], index[tr.target]] += tr.rate_per_s / q
        self.down = np.array([chain.path_down(s) for s in self.states])

    def mean_incident_and_up(self) -> tuple[float, float]:
        """E[I], the mean incident length, and 1/q(all-up), the mean up period (seconds)."""
        m = len(self.states)
        h = np.linalg.solve(np.eye(m - 1) - self.jump[1:, 1:], self.hold[1:])
        return float(self.jump[0, 1:] @ h), float(self.hold[0])

    def first_failure_survival(self) -> dict[State, float]:
        """For each state reached by the first failure, P(first jump to it and the path never goes
        down before all-up again) — the states with probability zero are left out."""
        up = [k for k in range(1, len(self.states)) if not self.down[k]]
        survive = np.zeros(len(self.states))
        if up:
            sub = self.jump[np.ix_(up, up)]
            survive[up] = np.linalg.solve(np.eye(len(up)) - sub, self.jump[up, 0])
        out = {}
        for k in np.flatnonzero(self.jump[0] > 0.0):
            p = float(self.jump[0, k] * survive[k])
            if p > 0.0:
                out[self.states[int(k)]] = p
        return out
