"""Arrivals replayed draw for draw: thinning keeps a candidate of the peak-rate process with
probability λ(t)/λ_max, using the arrival and thinning streams; the peak bounds every multiplier."""

from __future__ import annotations

import simpy

from sim.model.traffic import Arrivals
from sim.random.distributions import Exponential
from sim.random.streams import Streams
from sim.scenario.spec import RampSpec, SpikeSpec, TrafficSpec


def arrival_times(traffic: TrafficSpec, until_s: float) -> list[float]:
    env = simpy.Environment()
    times: list[float] = []
    Arrivals(env, traffic, Streams(3, 0), lambda: times.append(env.now))
    env.run(until=until_s)
    return times


def thinned(traffic: TrafficSpec, until_s: float) -> list[float]:
    """The expected arrivals: candidates at the peak rate, each kept when u·peak < m(t)."""
    streams = Streams(3, 0)
    peak = traffic.max_multiplier()
    gap = streams.sampler("arrivals", Exponential(1.0 / (traffic.arrival_rate_per_s * peak)))
    u = streams.uniform("arrivals-thinning")
    kept, t = [], 0.0
    while True:
        t += gap()
        if t >= until_s:
            return kept
        if u() * peak < traffic.multiplier(t):
            kept.append(t)


def test_thinning_replays_exactly_through_a_spike_and_a_ramp() -> None:
    traffic = TrafficSpec(0.5, spikes=(SpikeSpec(100.0, 50.0, 4.0),), ramp=RampSpec(200.0, 100.0, 3.0))
    got, expected = arrival_times(traffic, 400.0), thinned(traffic, 400.0)
    assert len(got) > 100
    assert got == expected


def test_flat_traffic_takes_every_candidate() -> None:
    traffic = TrafficSpec(0.5)
    gap = Streams(3, 0).sampler("arrivals", Exponential(2.0))
    expected, t = [], gap()
    while t < 200.0:
        expected.append(t)
        t += gap()
    assert arrival_times(traffic, 200.0) == expected


def test_the_peak_bounds_multipliers_below_one() -> None:
    # a lull (spike × 0.5) or a ramp down must not lower the peak below the plain rate
    lull = TrafficSpec(1.0, spikes=(SpikeSpec(0.0, 10.0, 0.5),))
    down = TrafficSpec(1.0, daily_profile=tuple([2.0] * 24), ramp=RampSpec(0.0, 10.0, 0.25))
    assert lull.max_multiplier() == 1.0
    assert down.max_multiplier() == 2.0
    assert lull.multiplier(5.0) == 0.5 and lull.multiplier(10.0) == 1.0
    assert down.multiplier(5.0) == 2.0 * (1.0 - 0.75 * 0.5) and down.multiplier(20.0) == 0.5
