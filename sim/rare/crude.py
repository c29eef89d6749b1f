"""Crude estimation from independent infrastructure-only runs: the fall-back for any failure law.

When the infrastructure is not a Markov chain (lognormal or Weibull repairs, deterministic
times, injected outages; :func:`sim.rare.markov.markov_problems`) balanced failure biasing does
not apply, but simulating the infrastructure alone is still cheap (no customers), so many runs of
the scenario's horizon from all-up are affordable. The per-horizon measures are estimated as in
the full model (outages counted when they start inside the horizon, down time clipped to it):

- unavailability: mean over runs of (down time)/horizon;
- outage frequency: total outages over total time, a ratio of sums;
- mean outage: total length of the outages over their number (a pooled ratio, not a mean of
  per-run means), with a delta-method interval over runs (:mod:`sim.rare.estimates`).

With no outage in any run the frequency gets the exact one-sided Poisson bound [0, f_upper].
The unavailability is then reported as 0 with the interval [0, inf]: without a Markov model
nothing bounds the length of an outage nobody saw (:mod:`sim.rare.biasing` bounds it by the
chain's longest mean outage), and an honest "unknown" is better than [0, 0].
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from sim.rare.estimates import Estimate, poisson_upper_bound, ratio_estimate, zero_event_estimate
from sim.rare.infrastructure import simulate_infrastructure
from sim.scenario.spec import Scenario

HOUR_S = 3600.0


@dataclass(frozen=True)
class RunEstimates:
    """Per-horizon path measures from ``runs`` independent infrastructure-only runs."""

    runs: int
    horizon_s: float
    unavailability: Estimate
    outage_frequency_per_hour: Estimate
    mean_outage_s: Estimate
    outages: int
    cpu_s: float


def crude_run_estimates(
    scenario: Scenario, seed: int, runs: int, horizon_s: float | None = None
) -> RunEstimates:
    """Estimate the path's measures from runs 0..runs-1 (the full model's replications, draw for draw)."""
    if runs < 2:
        raise ValueError(f"need at least 2 runs, got {runs}")
    horizon = scenario.horizon_s if horizon_s is None else horizon_s
    cpu0 = time.process_time()
    down = np.empty(runs)
    count = np.empty(runs)
    lengths = np.empty(runs)
    for r in range(runs):
        trace = simulate_infrastructure(scenario, seed, r, horizon)
        down[r] = trace.path_down_time_s()
        count[r] = len(trace.path_down)
        lengths[r] = sum(b - a for a, b in trace.path_down)
    cpu_s = time.process_time() - cpu0
    exposure = np.full(runs, horizon)
    outages = int(count.sum())
    if outages == 0:
        f_upper = poisson_upper_bound(0, runs * horizon)
        return RunEstimates(
            runs, horizon, Estimate(0.0, 0.0, math.inf, "no-outage-unbounded-length"),
            zero_event_estimate(f_upper * HOUR_S), Estimate(math.nan, math.nan, math.nan, "none-observed"),
            0, cpu_s,
        )
    unavailability, _ = ratio_estimate(down, exposure)
    frequency, _ = ratio_estimate(count, exposure)
    mean_outage, _ = ratio_estimate(lengths, count)
    return RunEstimates(runs, horizon, unavailability, frequency.scaled(HOUR_S), mean_outage, outages, cpu_s)
