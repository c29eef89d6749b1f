"""Customers: attempts through the path's tiers, patience, retries with backoff, giving up.

A customer's checkout is a series of *attempts*. An attempt passes the path's tiers in order and
succeeds when the last tier has served it. It fails when a tier has no replica to route to, a
request lands on a failed replica, a replica crashes mid-request, a queue is full, or the
customer's patience for the attempt runs out. After a failure the customer may give up
(``abandon_probability``), is lost when no attempts are left, and otherwise retries the whole
checkout after a backoff. Everything is callbacks on timers: no process per customer.

A *called* tier (one with hop retries or a charge, see :mod:`sim.model.hops`) is entered through
its :class:`~sim.model.hops.Hop`, which owns that tier's breakers. A customer ``retry_budget``
is one retry control shared by all customers (as a client library's would be): it is asked
before every first attempt and every retry, and a refused retry loses the checkout.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.model.backlog import Backlog
from sim.model.breaker import breakers
from sim.model.hops import Hop
from sim.model.retry_control import controls
from sim.model.state import Customer
from sim.model.tier import Tier
from sim.model.timers import Timer
from sim.random.distributions import Deterministic
from sim.random.streams import Streams
from sim.scenario.spec import CommunicationSpec, CustomerSpec
from sim.stats.metrics import Recorder

# failures that say nothing about the tier the attempt was at (they don't feed its breaker); a
# full asynchronous backlog does: the tier could not take the order
_NOT_THE_TIER = frozenset({"breaker", "dependency"})
_MAX_GROWTH = 1e12  # largest backoff growth factor (multiplier ** retries), so it never overflows
_LOG_MAX_GROWTH = math.log(_MAX_GROWTH)
_MAX_BACKOFF_S = 1e13  # longest backoff: beyond any horizon and drain, so the customer is lost there


class StatusPage:
    """Whether customers are currently told that checkout is degraded."""

    def __init__(self) -> None:
        self.showing = False


class CheckoutFlow:
    """Moves customers through the tiers and decides what happens after a failed attempt."""

    def __init__(
        self,
        env,
        customer: CustomerSpec,
        tiers: list[Tier],
        recorder: Recorder,
        streams: Streams,
        communication: CommunicationSpec | None = None,
        status_page: StatusPage | None = None,
    ) -> None:
        self.env = env
        self.spec = customer
        # told when a checkout ends (completed, lost, or its order queued): a closed population's
        # client then thinks before its next checkout
        self.on_checkout_end: Callable[[], None] | None = None
        self.tiers = tiers
        self.n_stages = len(tiers)
        self.recorder = recorder
        self.dependencies_down = 0  # shared dependencies currently unavailable
        # customer i's service demands come from the i-th draws of these streams, so the same
        # customer needs the same work whatever the architecture (common random numbers)
        self._first_service = [streams.sampler(f"service:{t.name}", t.spec.service_time) for t in tiers]
        self._retry_service = [streams.sampler(f"retry-service:{t.name}", t.spec.service_time) for t in tiers]
        patience = customer.patience
        self._patience_s = patience.value if isinstance(patience, Deterministic) else None
        self._patience = streams.sampler("patience", patience)
        self._backoff = streams.sampler("backoff", customer.retry_backoff)
        self._choice = streams.uniform("customer-choices")
        self._base_backoff_s = customer.retry_backoff.mean
        # fixed per scenario, so worked out once rather than on every retry
        self._cap_s = min(customer.backoff_cap_s, _MAX_BACKOFF_S)
        m = customer.backoff_multiplier
        self._max_growth_k = _LOG_MAX_GROWTH / math.log(m) if m > 1.0 else math.inf
        self._backoff_delay = {
            "sampled": self._sampled_backoff,
            "exponential-full-jitter": self._full_jitter,
            "exponential-equal-jitter": self._equal_jitter,
            "decorrelated-jitter": self._decorrelated_jitter,
        }[customer.backoff_policy]
        self.communication = communication if communication and communication.status_page else None
        self.status_page = status_page or StatusPage()
        if self.communication is not None:
            self._return_after = streams.sampler("return-after", self.communication.return_after)
        self._hang = [t.spec.failure_mode == "hang" for t in tiers]
        # calls that reached each tier, from measured customers (shared with the recorder and hops)
        self._calls = recorder.path_calls = [0] * len(tiers)
        recorder.charging = any(t.spec.idempotency is not None for t in tiers)
        self._hops = [
            Hop(env, stage, t, self, recorder, streams, tiers[stage - 1].spec.replicas if stage else 1,
                self._calls, self._retry_service[stage]) if t.spec.called_by_replicas else None
            for stage, t in enumerate(tiers)
        ]
        self._any_hop = any(h is not None for h in self._hops)
        self._breakers = [  # a called tier's breakers belong to its hop
            None if hop is not None else breakers(t.spec.circuit_breaker, t.name, 1, streams.uniform)[0]
            for hop, t in zip(self._hops, tiers, strict=True)
        ]
        self._any_breaker = any(b is not None for b in self._breakers)
        self._hop_or_breaker = self._any_hop or self._any_breaker
        self._control = controls(customer.retry_budget, "customer", 1, True, streams.uniform)[0]
        self.backlog: Backlog | None = None
        self._async_stage = -1
        for stage, t in enumerate(tiers):
            if t.spec.async_processing is not None:
                self._async_stage = stage
                self.backlog = Backlog(env, t, t.spec.async_processing, recorder, self._retry_service[stage])

    # -- an attempt ------------------------------------------------------------------------
    def arrive(self) -> None:
        """A new customer starts a checkout."""
        now = self.env.now
        c = Customer(
            now, self.recorder.arrival(now), self.spec.max_attempts, [draw() for draw in self._first_service]
        )
        self.start_attempt(c)

    def start_attempt(self, c: Customer) -> None:
        now = self.env.now
        c.attempt += 1
        c.budget -= 1
        c.attempt_started = now
        self.recorder.attempt(c.measured)
        patience = self._patience_s if self._patience_s is not None else self._patience()
        c.deadline = now + patience
        if self.dependencies_down:
            self.attempt_failed(c, "dependency")
            return
        if self._control is not None and c.attempt == 1 and not self._control.admit(now, False):
            self.attempt_failed(c, "throttled")
            return
        self.enter(c, 0)

    def enter(self, c: Customer, stage: int) -> None:
        """Send the attempt to the tier at ``stage`` of the path."""
        c.stage = stage
        if self._hop_or_breaker:  # one test on the plain path
            hop = self._hops[stage]
            if hop is not None:
                hop.start(c)
                return
            breaker = self._breakers[stage]
            if breaker is not None and not breaker.allow(self.env.now):
                self.attempt_failed(c, "breaker")
                return
        if stage == self._async_stage:
            if self.backlog.accept(c):
                c.pending = None  # the order is queued: the customer is done waiting
                if self._control is not None:
                    self._control.outcome(self.env.now, True)
                if self._any_breaker and self._breakers[stage] is not None:
                    self._breakers[stage].record(self.env.now, True)
                if self.on_checkout_end is not None:
                    self.on_checkout_end()
            else:
                self.attempt_failed(c, "backlog-full")
            return
        replica = self.tiers[stage].route()
        if replica is None:
            self.attempt_failed(c, "unavailable")
            return
        if c.measured:  # a tag the recorder tests for truth (not always a bool)
            self._calls[stage] += 1
        service_s = c.first_service[stage] if c.attempt == 1 else self._retry_service[stage]()
        if replica.down_reasons:
            # the load balancer has not noticed the failure yet
            if self._hang[stage] and c.deadline < math.inf:
                c.pending = Timer(self.env, c.deadline - self.env.now, self.timed_out, c)
            else:
                self.attempt_failed(c, "error")
            return
        replica.accept(c, service_s)

    def served(self, c: Customer) -> None:
        """A tier has served the attempt: on to the next tier, or the checkout is complete."""
        if self._any_breaker:
            breaker = self._breakers[c.stage]
            if breaker is not None:
                breaker.record(self.env.now, True)
        stage = c.stage + 1
        if stage < self.n_stages:
            self.enter(c, stage)
            return
        c.pending = None
        if self._control is not None:
            self._control.outcome(self.env.now, True)
        self.recorder.completed_checkout(self.env.now, c.arrived, c.attempt_started, c.attempt, c.measured)
        if self.on_checkout_end is not None:
            self.on_checkout_end()

    def timed_out(self, timer: Timer) -> None:
        """The customer's patience for this attempt ran out."""
        c = timer._value
        if c.pending is timer:
            c.slot = None
            self.attempt_failed(c, "timeout")

    # -- after a failure -------------------------------------------------------------------
    def attempt_failed(self, c: Customer, reason: str) -> None:
        """Decide: give up, come back later (status page), or retry after a backoff."""
        c.pending = None
        env = self.env
        self.recorder.attempt_failed(env.now, c.measured)
        if self._any_breaker and reason not in _NOT_THE_TIER:
            breaker = self._breakers[c.stage]
            if breaker is not None:
                breaker.record(env.now, False)
        control = self._control
        if control is not None and reason != "throttled":
            control.outcome(env.now, False)
        if self.communication is not None and self.status_page.showing:
            # informed customers stop retrying; some come back later for a fresh try
            if self._choice() < self.communication.return_probability:
                c.budget = self.spec.max_attempts
                Timer(env, self._return_after(), self._retry, c)
            else:
                self._lose(c)
            return
        if c.budget <= 0:
            self._lose(c)
            return
        p = self.spec.abandon_probability
        if p > 0.0 and self._choice() < p:
            self._lose(c)
            return
        if control is not None and not control.admit(env.now, True, reason == "timeout"):
            self._lose(c)
            return
        Timer(env, self._backoff_delay(c), self._retry, c)

    def wire_hops(self) -> None:
        """Called tiers' replicas report to their hop; their callers hold slots while calling."""
        for stage, hop in enumerate(self._hops):
            if hop is None:
                continue
            for replica in hop.tier.replicas:
                replica.flow = hop
            if stage:
                for replica in self.tiers[stage - 1].replicas:
                    replica.next_hop = hop

    def _retry(self, timer: Timer) -> None:
        self.start_attempt(timer._value)

    def _lose(self, c: Customer) -> None:
        self.recorder.lost_checkout(self.env.now, c.measured)
        if self.on_checkout_end is not None:
            self.on_checkout_end()

    # -- backoff policies (k = number of retries before this one) ---------------------------
    def _growth(self, c: Customer) -> float:
        # capped before multiplying: many attempts or a huge multiplier would overflow, and a
        # backoff longer than MAX_GROWTH × the base is never waited out anyway
        m, k = self.spec.backoff_multiplier, c.attempt - 1
        if m <= 1.0 or k == 0:
            return 1.0 if k == 0 else m**k
        return m ** min(float(k), self._max_growth_k)

    def _sampled_backoff(self, c: Customer) -> float:
        return min(self._cap_s, self._backoff() * self._growth(c))

    def _full_jitter(self, c: Customer) -> float:
        return self._choice() * min(self._cap_s, self._base_backoff_s * self._growth(c))

    def _equal_jitter(self, c: Customer) -> float:
        ceiling = min(self._cap_s, self._base_backoff_s * self._growth(c))
        return ceiling / 2.0 + self._choice() * ceiling / 2.0

    def _decorrelated_jitter(self, c: Customer) -> float:
        base = self._base_backoff_s
        prev = c.prev_backoff or base
        c.prev_backoff = min(self._cap_s, base + self._choice() * (3.0 * prev - base))
        return c.prev_backoff
