"""A closed population: a fixed number of clients, each thinking, then checking out, then thinking.

Open arrivals (:mod:`sim.model.traffic`) keep coming whatever the system does; a closed population
cannot send more than its clients, and a slow checkout slows the next one down (each client
waits for its checkout to end, completed or lost after all its attempts, before thinking again).
That bound is why a small closed population recovers from overloads that trap open arrivals.

Clients are interchangeable (same think-time law, independent draws), so the population keeps no
identity per client: when any checkout ends, one client starts thinking. Think times are the
draws of the ``think`` stream in the order thinking starts, so they never touch the streams of a
scenario with open arrivals.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.model.timers import Timer
from sim.random.streams import Streams
from sim.scenario.spec import TrafficSpec


class ClosedPopulation:
    """``traffic.clients`` clients; every one starts thinking at the start of the run.

    The checkout logic calls :meth:`checkout_ended` when a checkout ends; the client then thinks
    and starts the next one (``on_arrival()``), until :meth:`stop`.
    """

    def __init__(self, env, traffic: TrafficSpec, streams: Streams, on_arrival: Callable[[], None]) -> None:
        if traffic.think_time is None or traffic.clients < 1:
            raise ValueError("a closed population needs clients >= 1 and a think time")
        self.env = env
        self.on_arrival = on_arrival
        self.stopped = False
        self.thinking = 0  # clients between checkouts
        self._think = streams.sampler("think", traffic.think_time)
        for _ in range(traffic.clients):
            self._start_thinking()

    def _start_thinking(self) -> None:
        self.thinking += 1
        Timer(self.env, self._think(), self._arrive)

    def _arrive(self, timer: Timer) -> None:
        self.thinking -= 1
        if not self.stopped:
            self.on_arrival()

    def checkout_ended(self) -> None:
        """A client's checkout completed or was lost: it thinks, then starts the next one."""
        if not self.stopped:
            self._start_thinking()

    def stop(self) -> None:
        """No more checkouts start (the horizon is reached)."""
        self.stopped = True
