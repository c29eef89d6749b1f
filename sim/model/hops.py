"""Hop calls: a tier's replicas calling the next tier, with per-call timeouts, retries, retry
control, breakers and charges.

A tier with a ``[retry]`` table or an ``idempotency`` key is *called*: the replica of the tier
before it that served the attempt (the caller) makes the call and keeps its slot busy until the
call returns — success, or failure after its last try — as a thread blocked on a downstream call
does. That is part of why layered retries hurt: a slow callee ties up its callers' slots too.
Only such scenarios change their sequencing; any other tier is entered as before, after the
previous tier has released its slot, so scenarios without these keys give the same results.

Each try is a :class:`Call`, the request the callee's replica serves. A try fails at once when
no replica is routable, when it lands on a failed replica (``failure_mode = "error"``), when the
queue is full or the replica crashes; it times out after ``timeout`` (or when the customer's
patience runs out, whichever is first). A timed-out call is *orphaned*, not cancelled: the
callee does not know the caller gave up, so it keeps its queue place and its slot until the work
is done. After a failed try the caller retries, after a backoff, while tries are left, the
customer is still waiting and its retry control admits the retry; otherwise the attempt fails
for the customer. A breaker refusal or a retry control's local refusal is never retried.

One call covers the callee's own work: the path's tiers are visited in order, so after a call
returns the attempt moves on to the next tier (whose caller, if it is called, is the replica
that served this one). An orphaned call's work ends at its own tier.

Charges: at a tier with ``idempotency`` set, every completed call — orphaned or not — charges
the checkout. Without an idempotency key (``false``) each charge after the first is a duplicate
charge; with one (``true``) the payment service recognises the key and charges once.

Retry controls and breakers are kept per caller replica (indexed by the replica's index) or
one for the tier, by the scenario's scope; their random streams are named, never keyed by
object identity.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.model.backoff import Backoff
from sim.model.breaker import breakers
from sim.model.replica import Replica
from sim.model.retry_control import RetryControl, controls
from sim.model.state import Customer
from sim.model.tier import Tier
from sim.model.timers import Timer
from sim.random.distributions import Deterministic
from sim.random.streams import Streams
from sim.scenario.spec import HopRetrySpec, TierSpec
from sim.stats.metrics import Recorder

_ONE_TRY = HopRetrySpec(attempts=1, timeout_s=math.inf, backoff=Deterministic(0.0))

#: Held slot: the caller replica and the service timer that stays in its ``in_service``.
Hold = tuple["HoldingReplica", Timer]


class Call:
    """One try of a call from a caller replica to the next tier (what the callee serves)."""

    __slots__ = ("arrived", "customer", "deadline", "measured", "orphaned", "patience_bound", "pending",
                 "previous_backoff", "service_s", "slot", "timer", "try_no", "via")

    def __init__(self, customer: Customer, via: Hold | None, try_no: int, previous_backoff: float) -> None:
        self.customer = customer
        self.arrived = customer.arrived
        self.measured = customer.measured
        self.via = via
        self.try_no = try_no  # 1 for the first try
        self.previous_backoff = previous_backoff
        self.deadline = math.inf  # the callee never times a call out; the caller does
        self.pending = None
        self.service_s = 0.0
        self.slot = None
        self.timer: Timer | None = None
        self.orphaned = False  # the caller gave up on it; the callee still does the work
        self.patience_bound = False  # its timer is the customer's patience, not the call's timeout


class HoldingReplica(Replica):
    """A replica whose attempts go on to a called tier: it holds the slot until the call returns."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.next_hop: Hop | None = None
        self.held: dict[Timer, Customer] = {}  # insertion-ordered: a crash fails them in this order

    def _done(self, timer: Timer) -> None:
        r = timer._value
        if r.pending is timer and not (type(r) is Call and r.orphaned):
            c = r.customer if type(r) is Call else r
            self.held[timer] = c
            c.via = (self, timer)
            self.flow.served(r)  # the attempt moves on to the called tier, whose Hop takes c.via
            return
        super()._done(timer)

    def release(self, timer: Timer) -> None:
        """The call made from this slot has returned: free the slot (and start queued work)."""
        if self.held.pop(timer, None) is not None:
            super()._done(timer)

    def crash(self) -> None:
        held = list(self.held.values())
        self.held.clear()
        super().crash()
        for c in held:  # their calls' responses have nowhere to go
            self.next_hop.caller_crashed(c)


class Hop:
    """Calls into one called tier at ``stage`` of the path; reports to the checkout flow."""

    def __init__(self, env, stage: int, tier: Tier, flow, recorder: Recorder, streams: Streams,
                 callers: int, calls: list[int], retry_service: Callable[[], float]) -> None:
        spec: TierSpec = tier.spec
        self.env, self.stage, self.tier, self.flow, self.recorder = env, stage, tier, flow, recorder
        self.calls = calls  # calls that reached each tier of the path (measured customers)
        self.retry = r = spec.retry or _ONE_TRY
        name = spec.name
        self.backoff = Backoff(r.backoff, r.backoff_policy, r.backoff_multiplier, r.backoff_cap_s,
                               streams.sampler(f"hop-backoff:{name}", r.backoff),
                               streams.uniform(f"hop-choices:{name}"))
        self._retry_service = retry_service  # a customer's later attempts
        self._hop_retry_service = streams.sampler(f"hop-retry-service:{name}", spec.service_time)
        self.controls = controls(r.budget, f"hop:{name}", callers, r.budget_scope == "tier", streams.uniform)
        self.breakers = breakers(spec.circuit_breaker, name, callers, streams.uniform)
        self.hang = spec.failure_mode == "hang"
        self.charging = spec.idempotency is not None
        self.idempotent = spec.idempotency is True

    # -- a call and its tries -----------------------------------------------------------
    def start(self, c: Customer) -> None:
        """The attempt reached this tier: the caller (``c.via``) makes the call."""
        via, c.via = getattr(c, "via", None), None  # unset before the first called tier
        i = via[0].index if via is not None else 0
        control = self.controls[i]
        if control is not None and not control.admit(self.env.now, False):
            self._final(c, via, "throttled")
            return
        service_s = c.first_service[self.stage] if c.attempt == 1 else self._retry_service()
        self._send(c, via, 1, 0.0, service_s)

    def _send(self, c: Customer, via: Hold | None, try_no: int, previous_backoff: float,
              service_s: float) -> None:
        env = self.env
        now = env.now
        breaker = self.breakers[via[0].index if via is not None else 0]
        if breaker is not None and not breaker.allow(now):
            self._final(c, via, "breaker")
            return
        call = Call(c, via, try_no, previous_backoff)
        c.pending = call
        replica = self.tier.route()
        if replica is None:
            self._failed(call, "unavailable")
            return
        if c.measured:
            self.calls[self.stage] += 1
        limit = min(self.retry.timeout_s, c.deadline - now)
        call.patience_bound = limit < self.retry.timeout_s
        if limit < math.inf:
            call.timer = Timer(env, limit, self._expired, call)
        if replica.down_reasons:  # the load balancer has not noticed the failure yet
            if not (self.hang and call.timer is not None):
                self._failed(call, "error")
            return  # hangs until its timer
        replica.accept(call, service_s)

    def _failed(self, call: Call, reason: str, give_up: bool = False) -> None:
        """A try failed (not orphaned): record it, then retry or (``give_up``, no tries left, no
        patience left) fail the attempt."""
        now = self.env.now
        c, via = call.customer, call.via
        control = self._outcome(call, now, False)
        if give_up or call.try_no >= self.retry.attempts or now >= c.deadline:
            self._final(c, via, reason)
            return
        if control is not None and not control.admit(now, True, reason == "timeout"):
            self._final(c, via, reason)
            return
        delay = self.backoff.delay(call.try_no - 1, call.previous_backoff)
        if now + delay >= c.deadline:
            c.pending = Timer(self.env, c.deadline - now, self._patience_out, (c, via))
        else:
            c.pending = Timer(self.env, delay, self._retry, (c, via, call.try_no + 1, delay))

    def _outcome(self, call: Call, now: float, ok: bool) -> RetryControl | None:
        """A try ended (``ok``: served): stop its timer and tell the caller replica's (or the tier's)
        breaker and retry control; returns that retry control."""
        if call.timer is not None:
            call.timer.cancel()
        i = call.via[0].index if call.via is not None else 0
        breaker, control = self.breakers[i], self.controls[i]
        if breaker is not None:
            breaker.record(now, ok)
        if control is not None:
            control.outcome(now, ok)
        return control

    def _retry(self, timer: Timer) -> None:
        c, via, try_no, delay = timer._value
        if c.pending is timer:
            self._send(c, via, try_no, delay, self._hop_retry_service())

    def _patience_out(self, timer: Timer) -> None:
        c, via = timer._value
        if c.pending is timer:
            self._final(c, via, "timeout")

    def _expired(self, timer: Timer) -> None:
        """The caller stops waiting for this try (its timeout, or the customer's patience)."""
        call = timer._value
        if call.customer.pending is call:
            call.orphaned = True
            call.timer = None
            self._failed(call, "timeout", call.patience_bound)

    def _final(self, c: Customer, via: Hold | None, reason: str) -> None:
        c.pending = None  # before the release: the caller's slot must not serve c again
        if via is not None:
            via[0].release(via[1])
        self.flow.attempt_failed(c, reason)

    def caller_crashed(self, c: Customer) -> None:
        """The replica holding this call's slot went down: the attempt fails, the call is orphaned."""
        pending = c.pending
        if type(pending) is Call:
            pending.orphaned = True
            if pending.timer is not None:
                pending.timer.cancel()
        elif pending is not None:
            pending.cancel()
        c.pending = None
        self.flow.attempt_failed(c, "crash")

    # -- what the callee's replicas report ----------------------------------------------
    def served(self, call: Call) -> None:
        """The callee finished a call's work."""
        c = call.customer
        if self.charging:
            self._charge(c)
        if call.orphaned:
            return  # nobody waits for it: the work is wasted (or a charge nobody asked for twice)
        now = self.env.now
        call.pending = None
        via = call.via
        self._outcome(call, now, True)
        c.pending = None
        if via is not None:
            via[0].release(via[1])
        self.flow.served(c)

    def attempt_failed(self, call: Call, reason: str) -> None:
        """The callee failed a call (crash, full queue)."""
        if not call.orphaned:
            self._failed(call, reason)

    def timed_out(self, timer: object) -> None:
        """Never called: a call's deadline at the callee is unlimited (the caller keeps the time)."""

    def _charge(self, c: Customer) -> None:
        c.charges = getattr(c, "charges", 0) + 1  # unset before the first charge
        if c.charges > 1 and not self.idempotent:
            self.recorder.duplicate_charge(c.measured)
