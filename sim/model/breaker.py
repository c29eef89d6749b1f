"""A circuit breaker in front of a tier: fail fast while the tier is failing, probe to close.

Closed: calls pass; their outcomes are counted over a sliding time window. When at least
``min_calls`` calls in the window failed at a rate of ``failure_rate_threshold`` or more, the
breaker opens: calls fail at once, without loading the tier, for ``open_duration_s``. Then it
is half-open: up to ``half_open_probes`` calls pass; if they all succeed it closes, and if one
fails it opens again.
"""

from __future__ import annotations

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
