"""A circuit breaker in front of a tier: fail fast while the tier is failing, probe to close.

Closed: calls pass; their outcomes are counted over a sliding time window. When at least
``min_calls`` calls in the window failed at a rate of ``failure_rate_threshold`` or more, the
breaker opens: calls fail at once, without loading the tier, for ``open_duration_s``. Then it
is half-open: up to ``half_open_probes`` calls pass; if they all succeed it closes, and if one
fails it opens again.

The adaptive breaker (``kind = "adaptive"``) has no open state: a proportional controller, it
refuses each call with probability min(1, ``defensiveness`` × the window's failure rate) once
the window holds ``min_calls`` calls. Refused calls are not outcomes, so as the window slides
past the failures the refusals fade and calls probe the tier again.

A breaker's *scope* (``tier``: one shared by every caller; ``caller-replica``: one per replica
of the calling tier, each seeing only its own calls) is decided by whoever owns the breakers
(:func:`breakers`); the state here is one breaker's.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.scenario.spec import CircuitBreakerSpec

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
_BUCKETS = 10  # the sliding window is kept as this many time buckets


class CircuitBreaker:
    """The state of one breaker; the caller asks :meth:`allow` and reports outcomes."""

    def __init__(self, spec: CircuitBreakerSpec) -> None:
        self.spec = spec
        self.state = CLOSED
        self.opened_at = 0.0
        self.opened_count = 0
        self._width = spec.window_s / _BUCKETS
        self._calls = [0] * _BUCKETS
        self._fails = [0] * _BUCKETS
        self._bucket = 0  # absolute index of the newest bucket
        self._probes_out = 0
        self._probes_ok = 0

    def allow(self, now: float) -> bool:
        """May a call go to the tier now?"""
        if self.state == CLOSED:
            return True
        if self.state == OPEN:
            if now - self.opened_at < self.spec.open_duration_s:
                return False
            self.state = HALF_OPEN
            self._probes_out = self._probes_ok = 0
        if self._probes_out < self.spec.half_open_probes:
            self._probes_out += 1
            return True
        return False

    def record(self, now: float, ok: bool) -> None:
        """The outcome of a call that :meth:`allow` let through."""
        if self.state == HALF_OPEN:
            if not ok:
                self._open(now)
            else:
                self._probes_ok += 1
                if self._probes_ok >= self.spec.half_open_probes:
                    self._close(now)
            return
        if self.state == OPEN:
            return  # a call that started before the breaker opened
        i = self._advance(now)
        self._calls[i] += 1
        if ok:
            return
        self._fails[i] += 1
        calls = sum(self._calls)
        if calls >= self.spec.min_calls and sum(self._fails) >= self.spec.failure_rate_threshold * calls:
            self._open(now)

    def _advance(self, now: float) -> int:
        bucket = int(now / self._width)
        if bucket != self._bucket:
            for b in range(max(self._bucket + 1, bucket - _BUCKETS + 1), bucket + 1):
                self._calls[b % _BUCKETS] = 0
                self._fails[b % _BUCKETS] = 0
            self._bucket = bucket
        return bucket % _BUCKETS

    def _open(self, now: float) -> None:
        self.state = OPEN
        self.opened_at = now
        self.opened_count += 1

    def _close(self, now: float) -> None:
        self.state = CLOSED
        self._calls = [0] * _BUCKETS
        self._fails = [0] * _BUCKETS
        self._bucket = int(now / self._width)


class AdaptiveBreaker(CircuitBreaker):
    """Refuses calls in proportion to the recent failure rate (no open state)."""

    def __init__(self, spec: CircuitBreakerSpec, uniform: Callable[[], float]) -> None:
        super().__init__(spec)
        self._uniform = uniform

    def reject_probability(self, now: float) -> float:
        self._advance(now)
        calls = sum(self._calls)
        if calls < self.spec.min_calls:
            return 0.0
        return min(1.0, self.spec.defensiveness * sum(self._fails) / calls)

    def allow(self, now: float) -> bool:
        p = self.reject_probability(now)
        return p <= 0.0 or self._uniform() >= p  # a draw only when refusing is possible

    def record(self, now: float, ok: bool) -> None:
        i = self._advance(now)
        self._calls[i] += 1
        if not ok:
            self._fails[i] += 1


def breakers(spec: CircuitBreakerSpec | None, tier: str, callers: int,
             uniform: Callable[[str], Callable[[], float]]) -> list[CircuitBreaker | None]:
    """The breakers in front of ``tier``, indexed by caller replica (one shared one for scope
    ``tier``); adaptive ones draw from streams named ``breaker:TIER`` or ``breaker:TIER:INDEX``."""
    if spec is None:
        return [None] * callers

    def make(name: str) -> CircuitBreaker:
        return AdaptiveBreaker(spec, uniform(name)) if spec.kind == "adaptive" else CircuitBreaker(spec)

    if spec.scope == "tier":
        return [make(f"breaker:{tier}")] * callers
    return [make(f"breaker:{tier}:{i}") for i in range(callers)]
