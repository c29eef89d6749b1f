"""Asynchronous processing: the order is accepted at once and the tier's work is done later.

A tier with ``async = true`` (typically payment) does not keep the customer waiting: the
attempt succeeds as soon as the order is queued in the backlog. A background worker then sends
the order to the tier's replicas like any request. While the tier has no replica to send to,
orders wait (FIFO) and are sent when one joins the pool again; an order whose request fails
is retried after ``RETRY_S``. An order not done within ``max_delay_s`` is cancelled (lost).
A full backlog rejects the attempt (the customer sees an error and may retry).
"""

from __future__ import annotations

import math
from collections import deque

from sim.metrics import Recorder
from sim.model.state import Customer
from sim.model.tier import Tier
from sim.model.timers import Timer
from sim.spec import AsyncSpec

RETRY_S = 5.0  # how long the background worker waits before retrying a failed order


class Backlog:
    """Orders accepted but not yet processed by an asynchronous tier."""

    def __init__(self, env, tier: Tier, spec: AsyncSpec, recorder: Recorder, draw_service) -> None:
        self.env = env
        self.tier = tier
        self.spec = spec
        self.recorder = recorder
        self._draw_service = draw_service
        self.size = 0
        self.peak = 0
        self._parked: deque[Customer] = deque()  # orders waiting for the tier to come back
        tier.on_pool_join = self._resume

    def accept(self, c: Customer) -> bool:
        """Queue the customer's order; False when the backlog is full."""
        if self.size >= self.spec.queue_capacity:
            return False
        now = self.env.now
        self.size += 1
        self.peak = max(self.peak, self.size)
        order = Customer(c.arrived, c.measured, 0, c.first_service)
        order.attempt = c.attempt  # the customer's attempts (a retried checkout is deferred anyway)
        order.attempt_started = c.attempt_started
        order.prev_backoff = now  # reused: when the order was accepted
        order.budget = 0  # dispatches to the tier so far
        order.stage = len(c.first_service) - 1
        order.deadline = now + self.spec.max_delay_s
        self.recorder.attempt_accepted(now)
        self._dispatch(order)
        return True

    def _dispatch(self, order: Customer) -> None:
        env = self.env
        if env.now >= order.deadline:
            self._cancel(order)
            return
        replica = self.tier.route()
        if replica is None:
            order.budget += 1  # a try that found the tier down: the order will be late
            self._parked.append(order)
            return
        order.budget += 1
        if replica.down_reasons:  # not yet detected as failed: try again shortly
            Timer(env, min(RETRY_S, order.deadline - env.now), self._retry, order)
            return
        service_s = order.first_service[order.stage] if order.budget == 1 else self._draw_service()
        replica.accept(order, service_s)

    def _retry(self, timer: Timer) -> None:
        self._dispatch(timer._value)

    def _resume(self) -> None:
        """A replica joined the pool: send the waiting orders (expired ones are cancelled)."""
        parked, self._parked = self._parked, deque()
        while parked:
            self._dispatch(parked.popleft())

    def _cancel(self, order: Customer) -> None:
        self.size -= 1
        self.recorder.lost_checkout(self.env.now, order.measured)

    # -- called by the tier's replicas -------------------------------------------------------
    def served(self, order: Customer) -> None:
        order.pending = None
        self.size -= 1
        late = order.budget > 1 or order.attempt > 1
        self.recorder.async_completed(
            self.env.now, order.arrived, order.prev_backoff, order.attempt_started, late, order.measured
        )

    def attempt_failed(self, order: Customer, reason: str) -> None:
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
