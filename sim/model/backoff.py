"""Backoff between retries of a call: the policies customers use, for any caller.

``k`` is the number of retries made before this one (0 for the first retry). ``sampled`` draws
the base distribution every time (times ``multiplier ** k``); the exponential policies grow the
base mean by ``multiplier`` per retry, with full or equal jitter; decorrelated jitter draws
between the base and three times the previous wait. Every wait is capped at ``cap_s``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.random.distributions import Distribution

_MAX_GROWTH = 1e12  # largest growth factor (multiplier ** k), so it never overflows
_MAX_BACKOFF_S = 1e13  # longest wait: beyond any horizon and drain


class Backoff:
    """Waits before retries: ``delay(k, previous)``; draws come from the given streams."""

    def __init__(self, base: Distribution, policy: str, multiplier: float, cap_s: float,
                 draw: Callable[[], float], uniform: Callable[[], float]) -> None:
        self.base_s = base.mean
        self.multiplier = multiplier
        self.cap_s = min(cap_s, _MAX_BACKOFF_S)
        self._draw, self._uniform = draw, uniform
        self._max_k = math.log(_MAX_GROWTH) / math.log(multiplier) if multiplier > 1.0 else math.inf
        self.delay: Callable[[int, float], float] = {
            "sampled": self._sampled, "exponential-full-jitter": self._full_jitter,
            "exponential-equal-jitter": self._equal_jitter, "decorrelated-jitter": self._decorrelated,
        }[policy]

    def _growth(self, k: int) -> float:
        if self.multiplier <= 1.0 or k == 0:
            return 1.0
        return self.multiplier ** min(float(k), self._max_k)

    def _sampled(self, k: int, previous: float) -> float:
        return min(self.cap_s, self._draw() * self._growth(k))

    def _full_jitter(self, k: int, previous: float) -> float:
        return self._uniform() * min(self.cap_s, self.base_s * self._growth(k))

    def _equal_jitter(self, k: int, previous: float) -> float:
        ceiling = min(self.cap_s, self.base_s * self._growth(k))
        return ceiling / 2.0 + self._uniform() * ceiling / 2.0

    def _decorrelated(self, k: int, previous: float) -> float:
        base = self.base_s
        prev = previous or base
        return min(self.cap_s, base + self._uniform() * (3.0 * prev - base))
