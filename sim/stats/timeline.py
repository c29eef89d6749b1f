"""An incident timeline of one replication, at a fixed number of time buckets.

For plots of an incident unfolding: attempt success rate and p95 latency per bucket, healthy
replicas per tier, path-down, status-page and service-incident windows (an incident runs from its
first failed attempt until the 1-minute success rate is back to 99%). Memory is fixed by the number of buckets
(the bucket width grows with the horizon), not by the number of customers.
"""

from __future__ import annotations

import math

import numpy as np

from sim.stats.metrics import Recorder

MAX_BUCKETS = 720
MIN_BUCKET_S = 10.0
# latency bins for per-bucket quantiles: 10 ms .. 10^7 s (~116 days), ~26% wide. A latency above
# the last edge is counted in an overflow bin; a p95 that falls there is reported as censored
# (at least the last edge), never silently as the edge itself.
_LAT_EDGES = np.geomspace(0.01, 1e7, 90)
LATENCY_TOP_S = float(_LAT_EDGES[-1])


class TimelineRecorder(Recorder):
    """A :class:`Recorder` that also keeps a bucketed timeline of the whole run."""

    def __init__(
        self, warmup_s: float, horizon_s: float, tier_names: tuple[str, ...], tier_replicas: dict[str, int]
    ) -> None:
        super().__init__(warmup_s, horizon_s, tier_names)
        self.bucket_s = max(MIN_BUCKET_S, horizon_s / MAX_BUCKETS)
        n = math.ceil(horizon_s / self.bucket_s)
        self.n_buckets = n
        self.ok = np.zeros(n, dtype=np.int64)
        self.failed = np.zeros(n, dtype=np.int64)
        self.lost_per_bucket = np.zeros(n, dtype=np.int64)
        self.lat_counts = np.zeros((n, len(_LAT_EDGES) + 1), dtype=np.int64)
        self._lat_buffer: list[tuple[int, float]] = []
        self.healthy = {name: np.full(n, float(tier_replicas[name])) for name in tier_names}
        self._healthy_now = dict(tier_replicas)
        self._healthy_since = dict.fromkeys(tier_names, 0.0)
        self._healthy_area = {name: np.zeros(n) for name in tier_names}
        self.path_down: list[list[float]] = []
        self.status_page: list[list[float]] = []
        self.service_incidents: list[list[float]] = []

    def _bucket(self, now: float) -> int:
        return min(int(now / self.bucket_s), self.n_buckets - 1)

    def attempt_failed(self, now: float, measured: bool) -> None:
        super().attempt_failed(now, measured)
        if now < self.horizon_s:
            self.failed[self._bucket(now)] += 1

    def completed_checkout(
        self, now: float, arrived: float, attempt_started: float, attempt: int, measured: bool
    ) -> None:
        super().completed_checkout(now, arrived, attempt_started, attempt, measured)
        if now < self.horizon_s:
            b = self._bucket(now)
            self.ok[b] += 1
            self._lat_buffer.append((b, now - arrived))
            if len(self._lat_buffer) >= 4096:
                self._flush()

    def attempt_accepted(self, now: float) -> None:
        """An order accepted for asynchronous processing: for the customer, the attempt succeeded."""
        super().attempt_accepted(now)
        if now < self.horizon_s:
            self.ok[self._bucket(now)] += 1

    def async_completed(
        self, now: float, arrived: float, accepted_at: float, attempt_started: float, late: bool,
        measured: bool,
    ) -> None:
        """The customer's latency ended at acceptance: it goes into the bucket of the acceptance."""
        super().async_completed(now, arrived, accepted_at, attempt_started, late, measured)
        if accepted_at < self.horizon_s:
            self._lat_buffer.append((self._bucket(accepted_at), accepted_at - arrived))
            if len(self._lat_buffer) >= 4096:
                self._flush()

    def lost_checkout(self, now: float, measured: bool) -> None:
        super().lost_checkout(now, measured)
        if now < self.horizon_s:
            self.lost_per_bucket[self._bucket(now)] += 1

    def _flush(self) -> None:
        if not self._lat_buffer:
            return
        arr = np.asarray(self._lat_buffer)
        self._lat_buffer = []
        bins = np.searchsorted(_LAT_EDGES, arr[:, 1])
        np.add.at(self.lat_counts, (arr[:, 0].astype(np.int64), bins), 1)

    def healthy_replicas(self, now: float, tier: str, count: int) -> None:
        self._integrate_healthy(tier, now)
        self._healthy_now[tier] = count

    def _integrate_healthy(self, tier: str, until: float) -> None:
        """Add the time-weighted healthy count since the last change into the buckets."""
        start = self._healthy_since[tier]
        until = min(until, self.horizon_s)
        value = self._healthy_now[tier]
        area = self._healthy_area[tier]
        while start < until:
            b = self._bucket(start)
            end = min(until, (b + 1) * self.bucket_s)
            area[b] += value * (end - start)
            start = end
        self._healthy_since[tier] = max(self._healthy_since[tier], until)

    def path_state(self, now: float, up: bool) -> None:
        super().path_state(now, up)
        if not up:
            self.path_down.append([now, math.nan])
        elif self.path_down:
            self.path_down[-1][1] = now

    def status_page_state(self, now: float, showing: bool) -> None:
        if showing:
            self.status_page.append([now, math.nan])
        elif self.status_page and math.isnan(self.status_page[-1][1]):
            self.status_page[-1][1] = now

    def service_incident(self, start: float, end: float) -> None:
        self.service_incidents.append([start, end])

    def timeline(self) -> dict:
        """The timeline as JSON-able lists (call at the end of the run)."""
        self._flush()
        for tier in self.healthy:
            self._integrate_healthy(tier, self.horizon_s)
            widths = np.minimum(self.bucket_s, self.horizon_s - np.arange(self.n_buckets) * self.bucket_s)
            self.healthy[tier] = self._healthy_area[tier] / widths
        attempts = self.ok + self.failed
        with np.errstate(invalid="ignore", divide="ignore"):
            success = np.where(attempts > 0, self.ok / np.maximum(attempts, 1), np.nan)
        p95 = [_bucket_quantile(row, 0.95) for row in self.lat_counts]
        censored = [bool(math.isinf(v)) for v in p95]
        p95 = [LATENCY_TOP_S if c else v for v, c in zip(p95, censored, strict=True)]
        close = [[s, self.horizon_s if math.isnan(e) else e] for s, e in self.path_down]
        page = [[s, self.horizon_s if math.isnan(e) else e] for s, e in self.status_page]
        return {
            "bucket_s": self.bucket_s,
            "t_s": (np.arange(self.n_buckets) * self.bucket_s).tolist(),
            "attempts": attempts.tolist(),
            "successes": self.ok.tolist(),
            "lost": self.lost_per_bucket.tolist(),
            "success_rate": success.tolist(),
            "latency_p95_s": p95,
            "latency_p95_above_top": censored,  # p95 beyond the last bin: at least latency_top_s
            "latency_top_s": LATENCY_TOP_S,
            "healthy_replicas": {t: v.tolist() for t, v in self.healthy.items()},
            "path_down": close,
            "status_page": page,
            "service_incidents": [list(w) for w in self.service_incidents],
        }


def _bucket_quantile(counts: np.ndarray, q: float) -> float:
    total = counts.sum()
    if total == 0:
        return math.nan
    i = int(np.searchsorted(np.cumsum(counts), q * total))
    if i == 0:
        return float(_LAT_EDGES[0])
    if i >= len(_LAT_EDGES):
        return math.inf  # in the overflow bin: above the last edge (the caller marks it censored)
    return float(math.sqrt(_LAT_EDGES[i - 1] * _LAT_EDGES[i]))  # geometric middle of the bin
