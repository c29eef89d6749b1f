"""Arrivals: the rate multiplier of a daily curve, a flash-sale spike and a stress ramp, and
thinning that reproduces the expected counts."""

from __future__ import annotations

import math

import pytest
import simpy
from scipy import stats

from sim.model.traffic import Arrivals
from sim.random.streams import Streams
from sim.scenario.spec import RampSpec, SpikeSpec, TrafficSpec

DAILY = tuple([0.5] * 12 + [2.0] * 12)


def test_multiplier_combines_daily_curve_spike_and_ramp() -> None:
    traffic = TrafficSpec(10.0, daily_profile=DAILY, spikes=(SpikeSpec(3600.0, 600.0, 3.0),),
                          ramp=RampSpec(7200.0, 3600.0, 5.0))
    assert traffic.multiplier(0.0) == 0.5
    assert traffic.multiplier(3600.0) == 1.5  # spike ×3 on the night's 0.5
    assert traffic.multiplier(4200.0) == 0.5  # spike over (end excluded)
    assert traffic.multiplier(7200.0 + 1800.0) == pytest.approx(0.5 * 3.0)  # half-way up the ramp: ×3
    assert traffic.multiplier(13 * 3600.0) == pytest.approx(2.0 * 5.0)  # ramp done, day rate
    assert traffic.multiplier(24 * 3600.0) == 0.5 * 5.0  # the curve repeats daily; the ramp stays up
    assert traffic.max_multiplier() == 2.0 * 3.0 * 5.0


def _count(traffic: TrafficSpec, until_s: float, windows: list[tuple[float, float]], seed: int) -> list[int]:
    env = simpy.Environment()
    counts = [0] * len(windows)

    def arrive() -> None:
        for i, (a, b) in enumerate(windows):
            if a <= env.now < b:
                counts[i] += 1

    Arrivals(env, traffic, Streams(seed, 0), arrive)
    env.run(until=until_s)
    return counts


def test_thinning_gives_poisson_counts_of_the_integrated_rate() -> None:
    """Counts in windows of different rates are Poisson with mean λ·∫m(t)dt (two-sided 99.9% bands)."""
    traffic = TrafficSpec(2.0, spikes=(SpikeSpec(1000.0, 500.0, 4.0),), ramp=RampSpec(2000.0, 1000.0, 3.0))
    windows = [(0.0, 1000.0), (1000.0, 1500.0), (2000.0, 3000.0), (3000.0, 4000.0)]
    expected = [2.0 * 1000.0, 2.0 * 4.0 * 500.0, 2.0 * 1000.0 * 2.0, 2.0 * 1000.0 * 3.0]  # ramp 1→3: mean 2
    counts = _count(traffic, 4000.0, windows, seed=3)
    for got, mean in zip(counts, expected, strict=True):
        low, high = stats.poisson.interval(0.999, mean)
        assert low <= got <= high, (got, mean)


def test_flat_traffic_is_not_thinned() -> None:
    traffic = TrafficSpec(5.0)
    (n,) = _count(traffic, 1000.0, [(0.0, math.inf)], seed=1)
    low, high = stats.poisson.interval(0.999, 5000.0)
    assert low <= n <= high
