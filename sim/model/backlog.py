"""Asynchronous processing: the order is accepted at once and the tier's work is done later.

A tier with ``async = true`` (typically payment) does not keep the customer waiting: the
attempt succeeds as soon as the order is queued in the backlog. A background worker then sends
the order to the tier's replicas like any request. While the tier has no replica to send to,
orders wait (FIFO) and are sent when one joins the pool again; an order whose request fails
is retried after ``RETRY_S``. An order not done within ``max_delay_s`` is cancelled (lost) then.
A full backlog rejects the attempt (the customer sees an error and may retry).
"""

from __future__ import annotations

import math
from collections import deque

from sim.model.state import Customer
from sim.model.tier import Tier
from sim.model.timers import Timer
from sim.scenario.spec import AsyncSpec
from sim.stats.metrics import Recorder

RETRY_S = 5.0  # how long the background worker waits before retrying a failed order


class Order:
    """A checkout whose order was accepted and awaits processing; replicas serve it like a request."""

    __slots__ = (
        "accepted_at", "arrived", "attempt", "attempt_started", "deadline", "first_service", "measured",
        "pending", "service_s", "slot", "stage", "tries",
    )

    def __init__(self, c: Customer, now: float, max_delay_s: float) -> None:
        self.arrived = c.arrived
        self.measured = c.measured
        self.attempt = c.attempt  # the customer's attempts (a retried checkout is deferred anyway)
        self.attempt_started = c.attempt_started
        self.first_service = c.first_service
        self.stage = len(c.first_service) - 1
        self.accepted_at = now
        self.deadline = now + max_delay_s
        self.tries = 0  # sends to the tier, counting sends that found it down
        self.pending = None
        self.service_s = 0.0
        self.slot = None


class Backlog:
    """Orders accepted but not yet processed by an asynchronous tier."""

    def __init__(self, env, tier: Tier, spec: AsyncSpec, recorder: Recorder, draw_service) -> None:
        self.env = env
        self.tier = tier
        self.spec = spec
        self.recorder = recorder
        self._draw_service = draw_service
        self.size = 0
        self._parked: deque[Order] = deque()  # orders waiting for the tier to come back
        tier.on_pool_join = self._resume

    def accept(self, c: Customer) -> bool:
        """Queue the customer's order; False when the backlog is full."""
        if self.size >= self.spec.queue_capacity:
            return False
        now = self.env.now
        self.size += 1
        order = Order(c, now, self.spec.max_delay_s)
        self.recorder.attempt_accepted(now)
        self._dispatch(order)
        return True

    def _dispatch(self, order: Order) -> None:
        env = self.env
        if env.now >= order.deadline:
            self._cancel(order)
            return
        replica = self.tier.route()
        if replica is None:
            order.tries += 1  # a try that found the tier down: the order will be late
            order.pending = Timer(env, order.deadline - env.now, self._expire, order)
            self._parked.append(order)
            return
        order.tries += 1
        if order.measured:  # a call routed to a replica reached the tier
            self.recorder.path_calls[order.stage] += 1
        if replica.down_reasons:  # not yet detected as failed: try again shortly
            Timer(env, min(RETRY_S, order.deadline - env.now), self._retry, order)
            return
        service_s = order.first_service[order.stage] if order.tries == 1 else self._draw_service()
        replica.accept(order, service_s)

    def _retry(self, timer: Timer) -> None:
        self._dispatch(timer._value)

    def _resume(self) -> None:
        """A replica joined the pool: send the waiting orders (expired ones are already gone)."""
        parked, self._parked = self._parked, deque()
        while parked:
            order = parked.popleft()
            if order.pending is not None:  # its expiry timer: still waiting
                order.pending.cancel()
                order.pending = None
                self._dispatch(order)

    def _expire(self, timer: Timer) -> None:
        """A waiting order reached its maximum delay: cancelled (lost) at that moment."""
        order = timer._value
        if order.pending is timer:
            order.pending = None
            self._cancel(order)

    def _cancel(self, order: Order) -> None:
        self.size -= 1
        self.recorder.lost_checkout(self.env.now, order.measured)

    # -- called by the tier's replicas -------------------------------------------------------
    def served(self, order: Order) -> None:
        order.pending = None
        self.size -= 1
        late = order.tries > 1 or order.attempt > 1
        self.recorder.async_completed(
            self.env.now, order.arrived, order.accepted_at, order.attempt_started, late, order.measured
        )

    def attempt_failed(self, order: Order, reason: str) -> None:
        order.pending = None
        remaining = order.deadline - self.env.now
        if remaining <= 0 or math.isclose(remaining, 0.0, abs_tol=1e-9):
            self._cancel(order)
        else:
            Timer(self.env, min(RETRY_S, remaining), self._retry, order)

    def timed_out(self, timer: Timer) -> None:
        order = timer._value
        if order.pending is timer:
            order.slot = None
            self.attempt_failed(order, "timeout")
