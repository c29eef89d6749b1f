"""Retry control: what stops retries from multiplying the load on a failing service.

A caller (a replica of the tier before, the whole tier, or all customers together) asks its
control before every request: :meth:`admit` with ``retry=False`` for a first try, ``True`` for
a retry; a refused retry is not sent (the caller gives up), a refused first try fails locally.
It then reports each sent request's outcome. Three kinds, with the published defaults as presets
(:data:`sim.scenario.spec.RETRY_CONTROL_PRESETS`):

- :class:`RetryBudget` (Finagle): every request deposits ``ratio`` of a retry; a retry may go
  while ``min_per_s × ttl + ratio × requests − retries`` ≥ 1, counting requests and retries of
  the last ``ttl`` seconds only (deposits expire). Over any ttl-long window retries are then at
  most ``ratio`` × requests + ``min_per_s`` × ttl.
- :class:`TokenBucket` (the AWS SDK's retry quota; Brooker's token bucket): starts full at
  ``capacity``; a retry takes ``retry_cost`` tokens (``timeout_retry_cost`` after a timeout) and
  is refused when there are not enough; every success puts back ``success_deposit``.
- :class:`AdaptiveThrottle` (Google SRE book, "Handling overload"): any request is refused
  locally with probability max(0, (requests − k × accepts) / (requests + 1)), both counted over
  the last ``window`` seconds; refused requests count as requests.

Windows are kept exactly, as deques of event times: memory is bounded by the request rate × the
window, not the horizon. State is per owner, and owners are made by name (see :func:`controls`),
never keyed by object identity.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from sim.scenario.spec import RetryControlSpec

_EPS = 1e-9  # a balance of 0.1 × 10 deposits is one retry, whatever the float rounding


class RetryControl:
    """The interface every control has (the base class admits everything)."""

    def admit(self, now: float, retry: bool, after_timeout: bool = False) -> bool:
        """May this request be sent now? Counting it if it may."""
        return True

    def outcome(self, now: float, ok: bool) -> None:
        """A sent request succeeded (``ok``) or failed."""


def _expire(events: deque[float], since: float) -> None:
    while events and events[0] <= since:
        events.popleft()


class RetryBudget(RetryControl):
    """Finagle's retry budget: a share of recent requests plus a floor per second."""

    def __init__(self, ratio: float, min_per_s: float, ttl_s: float) -> None:
        self.ratio, self.ttl_s = ratio, ttl_s
        self.reserve = min_per_s * ttl_s
        self.requests: deque[float] = deque()
        self.retries: deque[float] = deque()

    def balance(self, now: float) -> float:
        """Retries that may go now."""
        since = now - self.ttl_s
        _expire(self.requests, since)
        _expire(self.retries, since)
        return self.reserve + self.ratio * len(self.requests) - len(self.retries)

    def admit(self, now: float, retry: bool, after_timeout: bool = False) -> bool:
        if not retry:
            self.requests.append(now)
            return True
        if self.balance(now) < 1.0 - _EPS:
            return False
        self.retries.append(now)
        return True


class TokenBucket(RetryControl):
    """A retry quota: retries spend tokens, successes earn some back."""

    def __init__(self, capacity: float, retry_cost: float, timeout_retry_cost: float,
                 success_deposit: float) -> None:
        self.capacity, self.tokens = capacity, capacity
        self.retry_cost, self.timeout_retry_cost = retry_cost, timeout_retry_cost
        self.success_deposit = success_deposit

    def admit(self, now: float, retry: bool, after_timeout: bool = False) -> bool:
        if not retry:
            return True
        cost = self.timeout_retry_cost if after_timeout else self.retry_cost
        if self.tokens < cost - _EPS:
            return False
        self.tokens -= cost
        return True

    def outcome(self, now: float, ok: bool) -> None:
        if ok:
            self.tokens = min(self.capacity, self.tokens + self.success_deposit)


class AdaptiveThrottle(RetryControl):
    """Client-side adaptive throttling: refuse locally as the backend's accept rate falls."""

    def __init__(self, k: float, window_s: float, uniform: Callable[[], float]) -> None:
        self.k, self.window_s = k, window_s
        self._uniform = uniform
        self.requests: deque[float] = deque()
        self.accepts: deque[float] = deque()

    def reject_probability(self, now: float) -> float:
        since = now - self.window_s
        _expire(self.requests, since)
        _expire(self.accepts, since)
        n = len(self.requests)
        return max(0.0, (n - self.k * len(self.accepts)) / (n + 1))

    def admit(self, now: float, retry: bool, after_timeout: bool = False) -> bool:
        p = self.reject_probability(now)
        self.requests.append(now)
        # a draw only when refusing is possible, so a healthy backend costs no random numbers
        return p <= 0.0 or self._uniform() >= p

    def outcome(self, now: float, ok: bool) -> None:
        if ok:
            self.accepts.append(now)


def make_control(spec: RetryControlSpec, uniform: Callable[[], Callable[[], float]]) -> RetryControl:
    """The control ``spec`` describes; ``uniform()`` gives its U(0, 1) stream when it needs one."""
    p = dict(spec.params)
    if spec.kind == "finagle":
        return RetryBudget(p["ratio"], p["min_per_s"], p["ttl_s"])
    if spec.kind == "adaptive-throttling":
        return AdaptiveThrottle(p["k"], p["window_s"], uniform())
    return TokenBucket(p["capacity"], p["retry_cost"], p["timeout_retry_cost"], p["success_deposit"])


def controls(spec: RetryControlSpec | None, owner: str, callers: int, shared: bool,
             uniform: Callable[[str], Callable[[], float]]) -> list[RetryControl | None]:
    """One control per caller index (the same one for all when ``shared``), or Nones without a spec.

    Streams are named ``retry-control:OWNER`` (shared) or ``retry-control:OWNER:INDEX``.
    """
    if spec is None:
        return [None] * callers
    if shared:
        one = make_control(spec, lambda: uniform(f"retry-control:{owner}"))
        return [one] * callers
    return [make_control(spec, lambda i=i: uniform(f"retry-control:{owner}:{i}")) for i in range(callers)]
