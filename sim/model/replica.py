"""A replica: one instance of a tier that serves ``concurrency`` requests at once and queues more.

Requests are customers' attempts at this tier. The replica knows nothing of retries: it tells
its tier's ``flow`` (the customer logic) when a request is served or has failed.
"""

from __future__ import annotations

import math
from collections import deque

from sim.model.state import Customer, RequestListener
from sim.model.timers import Timer


class Ticket:
    """A place in a replica's queue for a customer with unlimited patience."""

    __slots__ = ("_value",)

    def __init__(self, customer: Customer) -> None:
        self._value = customer

    def cancel(self) -> None:
        """Nothing is scheduled for an unlimited wait."""


class Replica:
    """One instance of a tier: a FIFO queue in front of ``concurrency`` service slots.

    ``down_reasons`` counts what keeps it down (its own failure, its zone, an injected outage);
    it serves only while that count is zero. ``in_pool`` is whether the load balancer still
    sends it requests (it lags a failure by the failover delay).

    With ``slowdown_s`` > 0 service is load-dependent (contention, garbage collection, thrashing):
    a request's service time is its demand plus ``slowdown_s`` × the requests in service here when
    it starts, itself included — orphaned work of customers who timed out counts too, which is
    how a backlog of abandoned requests slows everyone down (congestive collapse). The time is
    fixed when service starts.
    """

    def __init__(self, env, tier_name: str, index: int, concurrency: float, queue_limit: float,
                 slowdown_s: float = 0.0) -> None:
        self.env = env
        self.name = f"{tier_name}[{index}]"
        self.index = index
        self.concurrency = concurrency
        self.queue_limit = queue_limit
        self.slowdown_s = slowdown_s
        self.flow: RequestListener | None = None  # set when the system wires the customers in
        self.down_reasons = 0
        self.failure_epoch = 0
        self.in_pool = True
        # requests in service, in the order they started: a dict used as an insertion-ordered set,
        # so a crash fails them in that order (a set's order follows memory addresses, which
        # differ between processes, and the victims' order decides their next random draws)
        self.in_service: dict[Timer, None] = {}
        self.queue: deque = deque()
        self.waiting = 0

    @property
    def up(self) -> bool:
        return self.down_reasons == 0

    @property
    def outstanding(self) -> int:
        return len(self.in_service) + self.waiting

    def accept(self, c: Customer, service_s: float) -> None:
        """Take a request: serve it now, queue it, or shed it when the queue is full."""
        if len(self.in_service) < self.concurrency:
            self._start(c, service_s)
        elif self.waiting < self.queue_limit:
            now = self.env.now
            c.service_s = service_s
            deadline = c.deadline
            entry = Timer(self.env, deadline - now, self._renege, c) if deadline < math.inf else Ticket(c)
            c.pending = entry
            self.queue.append(entry)
            self.waiting += 1
        else:
            self.flow.attempt_failed(c, "shed")

    def _start(self, c: Customer, service_s: float) -> None:
        env = self.env
        if self.slowdown_s:
            service_s += self.slowdown_s * (len(self.in_service) + 1)
        done = Timer(env, service_s, self._done, c)
        self.in_service[done] = None
        if env.now + service_s > c.deadline:
            # The customer gives up at its deadline; the slot stays busy until the work is done.
            c.pending = Timer(env, c.deadline - env.now, self.flow.timed_out, c)
            c.slot = done
        else:
            c.pending = done

    def _done(self, timer: Timer) -> None:
        in_service = self.in_service
        del in_service[timer]  # a crash cancels the timers of the requests it fails
        queue = self.queue
        while queue and len(in_service) < self.concurrency:
            entry = queue.popleft()
            nxt = entry._value
            if nxt.pending is entry:
                entry.cancel()
                self.waiting -= 1
                self._start(nxt, nxt.service_s)
        c = timer._value
        if c.pending is timer:
            self.flow.served(c)

    def _renege(self, timer: Timer) -> None:
        c = timer._value
        if c.pending is timer:
            self.waiting -= 1
            self.flow.attempt_failed(c, "timeout")

    def crash(self) -> None:
        """Fail every request in service or waiting here (the replica just went down)."""
        victims = []
        for entry in self.queue:
            c = entry._value
            if c.pending is entry:
                entry.cancel()
                victims.append(c)
        self.queue.clear()
        self.waiting = 0
        for timer in self.in_service:
            timer.cancel()  # the service will not end: the request fails now
            c = timer._value
            if c.pending is timer:
                victims.append(c)
            elif c.slot is timer:  # served past its deadline: still waiting for this slot
                c.pending.cancel()
                c.slot = None
                victims.append(c)
        self.in_service.clear()
        for c in victims:
            c.pending = None
            self.flow.attempt_failed(c, "crash")
