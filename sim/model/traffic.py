"""Arrivals: customers starting a checkout as a (possibly time-varying) Poisson process."""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.model.timers import Timer
from sim.random.distributions import Exponential
from sim.random.streams import Streams, block_sampler
from sim.scenario.spec import TrafficSpec


class Arrivals:
    """Schedules each arrival and calls ``on_arrival()`` for it until :meth:`stop`.

    A time-varying rate λ(t) = rate·m(t) is sampled by thinning (Lewis and Shedler, 1979):
    candidates at the peak rate, each kept with probability λ(t)/λ_max. Rejected candidates
    cost two draws and no event. A rate so small that the mean gap overflows to infinity (a
    subnormal rate) means no arrival at all.
    """

    def __init__(self, env, traffic: TrafficSpec, streams: Streams, on_arrival: Callable[[], None]) -> None:
        self.env = env
        self.traffic = traffic
        self.on_arrival = on_arrival
        self.stopped = False
        self._peak = traffic.max_multiplier() if traffic.time_varying else 1.0
        mean_gap_s = 1.0 / (traffic.arrival_rate_per_s * self._peak)
        rng = streams.generator("arrivals")
        self._gap = block_sampler(Exponential(mean_gap_s), rng)
        self._accept = streams.uniform("arrivals-thinning") if traffic.time_varying else None
        self._schedule(self._next_gap(env.now))  # a run may start later than 0

    def _schedule(self, gap_s: float) -> None:
        if gap_s < math.inf:  # an infinite gap: the next arrival never comes
            Timer(self.env, gap_s, self._arrive)

    def _next_gap(self, now: float) -> float:
        if self._accept is None:
            return self._gap()
        t = now
        multiplier, peak, accept = self.traffic.multiplier, self._peak, self._accept
        while True:
            t += self._gap()
            if t == math.inf:
                return math.inf
            if accept() * peak < multiplier(t):
                return t - now

    def _arrive(self, timer: Timer) -> None:
        if self.stopped:
            return
        self._schedule(self._next_gap(self.env.now))
        self.on_arrival()

    def stop(self) -> None:
        """No more arrivals (the horizon is reached)."""
        self.stopped = True
