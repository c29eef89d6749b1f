"""A fixed-size log-binned histogram: streaming quantiles with bounded relative error.

Memory is constant whatever the number of observations (no per-customer lists). Values are
buffered and binned with numpy in batches, which keeps the per-observation cost near one
``list.append``.
"""

from __future__ import annotations

import math

import numpy as np

MIN_VALUE_S = 1e-4  # smaller latencies fall into the first bin
MAX_VALUE_S = 1e7  # bins allocated up front; larger values add bins as needed (never capped)
GROWTH = 1.01  # bin width ratio: quantiles are within ±0.5% of the truth
_FLUSH = 4096


class LogHistogram:
    """Counts of positive values in geometrically growing bins."""

    def __init__(self) -> None:
        self._log_growth = math.log(GROWTH)
        self.n_bins = math.ceil(math.log(MAX_VALUE_S / MIN_VALUE_S) / self._log_growth) + 1
        self.counts = np.zeros(self.n_bins, dtype=np.int64)
        self.buffer: list[float] = []
        self.count = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = -math.inf

    def add(self, value: float) -> None:
        buf = self.buffer
        buf.append(value)
        if len(buf) >= _FLUSH:
            self.flush()

    def flush(self) -> None:
        """Move buffered values into the bins."""
        if not self.buffer:
            return
        values = np.asarray(self.buffer)
        self.buffer = []
        self.count += values.size
        self.total += float(values.sum())
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))
        finite = np.minimum(np.maximum(values, MIN_VALUE_S), np.finfo(float).max)
        idx = np.floor((np.log(finite) - math.log(MIN_VALUE_S)) / self._log_growth).astype(np.int64)
        needed = int(idx.max()) + 1
        if needed > self.n_bins:  # a value beyond the last bin: grow (memory is logarithmic in it)
            self.counts = np.concatenate([self.counts, np.zeros(needed - self.n_bins, dtype=np.int64)])
            self.n_bins = needed
        self.counts += np.bincount(idx, minlength=self.n_bins)

    @property
    def mean(self) -> float:
        self.flush()
        return self.total / self.count if self.count else math.nan

    def quantile(self, q: float) -> float:
        """The q-quantile (0 < q < 1), interpolated geometrically inside its bin."""
        self.flush()
        if self.count == 0:
            return math.nan
        target = q * self.count
        cum = np.cumsum(self.counts)
        i = int(np.searchsorted(cum, target, side="left"))
        i = min(i, self.n_bins - 1)
        before = cum[i - 1] if i > 0 else 0
        inside = self.counts[i]
        frac = (target - before) / inside if inside else 0.5
        low = MIN_VALUE_S * GROWTH**i
        value = low * GROWTH**frac
        return float(min(max(value, self.minimum), self.maximum))
