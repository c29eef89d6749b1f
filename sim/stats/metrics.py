"""Streaming measurement of one replication: counters, time-weighted state, quantiles.

The model reports domain events (a customer arrived, an attempt failed, a checkout completed,
a tier went down); the :class:`Recorder` keeps only what the metrics need, so memory does not
grow with the simulated horizon. Customers are attributed to the measured window by their
arrival time; path availability is measured over ``[warmup, horizon)``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from sim.stats.quantiles import LogHistogram

#: Metric names, in the order tables show them, with their meaning (for reports and --help).
METRICS: dict[str, str] = {
    "attempted_checkouts": "customers who started a checkout in the measured window",
    "completed_checkouts": "checkouts that completed (first try or after retries)",
    "deferred_checkouts": "checkouts that completed only after at least one failed attempt",
    "lost_checkouts": "checkouts abandoned or out of attempts",
    "lost_fraction": "lost / attempted",
    "mean_extra_delay_s": "mean delay added to deferred checkouts by failed attempts and waits (s)",
    "availability": "fraction of time every tier on the path (and every dependency) has min_healthy replicas",
    "outage_count": "periods in which the path was unavailable",
    "mean_recovery_time_s": "mean length of those periods, path down until back up (s)",
    "mean_service_recovery_time_s": "mean time from the first failed attempt of an incident until the "
    "1-minute success rate is back to 99% (s)",
    "latency_p50_s": "median checkout latency, arrival to completion (s)",
    "latency_p95_s": "95th percentile checkout latency (s)",
    "latency_p99_s": "99th percentile checkout latency (s)",
    "latency_mean_s": "mean checkout latency (s)",
    "retry_load_factor": "attempts per checkout",
    "throughput_per_s": "completed checkouts per second of measured time",
    "mean_in_system": "time-average number of customers in a checkout",
    "lost_revenue": "lost checkouts × order value",
    "infrastructure_cost": "replica-hours × cost per replica-hour over the measured window",
    # the sums behind the per-incident means, pooled over replications as ratios of sums
    "outage_time_total_s": "total length of the path outages counted in mean_recovery_time_s (s)",
    "outages_recovered": "path outages that began in the window and ended (mean_recovery_time_s's count)",
    "service_recovery_total_s": "total of the service recovery times counted in "
    "mean_service_recovery_time_s (s)",
    "service_recovery_count": "service incidents that began in the window and recovered",
}


#: Metrics only ``sim map`` adds to a replication's: measured from the trigger it injects.
TRIGGER_METRICS: dict[str, str] = {
    "trigger_recovery_s": "time from the end of a map's trigger until the 1-minute success rate is back to "
    "99% for good (past the map's stuck limit: stuck) (s)",
}


def metric_bounds(name: str) -> tuple[float, float]:
    """The values a metric can take: fractions lie in [0, 1], attempts per checkout are at least 1,
    everything else is non-negative."""
    if name == "availability_nines":  # −log10(1 − A)
        return (0.0, math.inf)
    if name.startswith("availability") or name == "lost_fraction":
        return (0.0, 1.0)
    if name == "retry_load_factor":
        return (1.0, math.inf)
    return (0.0, math.inf)


SUCCESS_BUCKET_S = 10.0  # resolution of the success-rate window used for service recovery
SUCCESS_WINDOW_BUCKETS = 6  # 1-minute sliding window
SUCCESS_OBJECTIVE = 0.99


@dataclass
class _Period:
    """Tracks periods in which a boolean state is false (down), time-weighted."""

    up: bool = True
    since: float = 0.0
    down_time: float = 0.0  # accumulated inside the window
    count: int = 0  # down periods that started inside the window
    open_started_in_window: bool = False
    lengths_total: float = 0.0  # full lengths of down periods started inside the window
    lengths_n: int = 0


class Recorder:
    """Collects the metrics of one replication."""

    def __init__(self, warmup_s: float, horizon_s: float, tier_names: tuple[str, ...]) -> None:
        self.warmup_s = warmup_s
        self.horizon_s = horizon_s
        self.tier_names = tier_names
        self.customers = 0  # every arrival, measured or not (for speed figures)
        self.attempted = 0
        self.completed = 0
        self.deferred = 0
        self.lost = 0
        self.attempts = 0
        self.extra_delay_total = 0.0
        self.latency = LogHistogram()
        # customers in the system, time-weighted (for Little's law)
        self.in_system = 0
        self.measured_in_system = 0  # of those, customers who arrived in the measured window
        self._in_system_area = 0.0
        self._in_system_last = 0.0
        self._area_at_warmup = 0.0
        self._area_at_horizon: float | None = None
        self.path = _Period()
        self.tiers = {name: _Period() for name in tier_names}
        # service recovery: success rate over a sliding window of buckets
        self._bucket_ok = 0
        self._bucket_fail = 0
        self._bucket_first_fail = math.inf
        self._window: deque[tuple[int, int, float]] = deque()
        self._window_ok = 0
        self._window_fail = 0
        self._incident_start: float | None = None
        self._service_recovery_total = 0.0
        self._service_recovery_n = 0
        # calls that reached each path tier (the model fills this list, path order) and charges
        self.path_calls: list[int] = []
        self.charging = False  # a tier charges (has idempotency set): duplicate charges are reported
        self.duplicate_charges = 0

    # -- customers -------------------------------------------------------------------------
    def _advance_area(self, now: float) -> None:
        self._in_system_area += self.in_system * (now - self._in_system_last)
        self._in_system_last = now

    def arrival(self, now: float) -> bool:
        """A customer starts a checkout; returns whether it belongs to the measured window."""
        # _advance_area inlined here and below: these run once per customer (the hot path)
        self._in_system_area += self.in_system * (now - self._in_system_last)
        self._in_system_last = now
        self.in_system += 1
        self.customers += 1
        measured = self.warmup_s <= now < self.horizon_s
        if measured:
            self.attempted += 1
            self.measured_in_system += 1
        return measured

    def attempt(self, measured: bool) -> None:
        if measured:
            self.attempts += 1

    def attempt_failed(self, now: float, measured: bool) -> None:
        self._bucket_fail += 1
        if now < self._bucket_first_fail:
            self._bucket_first_fail = now

    def completed_checkout(
        self, now: float, arrived: float, attempt_started: float, attempt: int, measured: bool
    ) -> None:
        self._in_system_area += self.in_system * (now - self._in_system_last)
        self._in_system_last = now
        self.in_system -= 1
        self._bucket_ok += 1
        if measured:
            self.measured_in_system -= 1
            self.completed += 1
            self.latency.add(now - arrived)
            if attempt > 1:
                self.deferred += 1
                self.extra_delay_total += attempt_started - arrived

    def attempt_accepted(self, now: float) -> None:
        """An attempt ended with the order accepted for asynchronous processing."""
        self._bucket_ok += 1

    def async_completed(
        self,
        now: float,
        arrived: float,
        accepted_at: float,
        attempt_started: float,
        late: bool,
        measured: bool,
    ) -> None:
        """An asynchronously processed order is done; the customer's latency ended at acceptance.

        ``late``: the order needed more than one try (customer retries or background retries):
        it counts as deferred, delayed by the time before its last attempt plus the processing wait.
        """
        self._in_system_area += self.in_system * (now - self._in_system_last)
        self._in_system_last = now
        self.in_system -= 1
        if measured:
            self.measured_in_system -= 1
            self.completed += 1
            self.latency.add(accepted_at - arrived)
            if late:
                self.deferred += 1
                self.extra_delay_total += (attempt_started - arrived) + (now - accepted_at)

    def duplicate_charge(self, measured: bool) -> None:
        """A checkout was charged again (a repeated call completed without an idempotency key)."""
        if measured:
            self.duplicate_charges += 1

    def lost_checkout(self, now: float, measured: bool) -> None:
        self._in_system_area += self.in_system * (now - self._in_system_last)
        self._in_system_last = now
        self.in_system -= 1
        if measured:
            self.measured_in_system -= 1
            self.lost += 1

    def unfinished_lost(self, now: float) -> None:
        """The run is over with customers still in a checkout: each is lost, and counted as a lost
        checkout only if it arrived in the measured window (a warmup customer never is)."""
        measured = self.measured_in_system
        for _ in range(measured):
            self.lost_checkout(now, True)
        for _ in range(self.in_system):
            self.lost_checkout(now, False)

    # -- window edges ------------------------------------------------------------------------
    def at_warmup(self, now: float) -> None:
        self._advance_area(now)
        self._area_at_warmup = self._in_system_area

    def at_horizon(self, now: float) -> None:
        self._advance_area(now)
        self._area_at_horizon = self._in_system_area

    # -- availability ----------------------------------------------------------------------
    def _set(self, period: _Period, now: float, up: bool) -> None:
        if up == period.up:
            return
        in_window = self.warmup_s <= now < self.horizon_s
        if not up:
            period.up = False
            period.since = now
            period.open_started_in_window = in_window
            if in_window:
                period.count += 1
        else:
            if now > self.warmup_s:
                start = max(period.since, self.warmup_s)
                end = min(now, self.horizon_s)
                if end > start:
                    period.down_time += end - start
            if period.open_started_in_window:
                period.lengths_total += now - period.since
                period.lengths_n += 1
            period.up = True
            period.open_started_in_window = False

    def path_state(self, now: float, up: bool) -> None:
        self._set(self.path, now, up)

    def healthy_replicas(self, now: float, tier: str, count: int) -> None:
        """How many replicas of ``tier`` are up (kept only by timeline recorders)."""

    def status_page_state(self, now: float, showing: bool) -> None:
        """Whether the status page shows an incident (kept only by timeline recorders)."""

    def service_incident(self, start: float, end: float) -> None:
        """A service incident that began in the window has ended (kept only by timeline recorders)."""

    def tier_state(self, now: float, tier: str, up: bool) -> None:
        self._set(self.tiers[tier], now, up)

    @property
    def open_outage_in_window(self) -> bool:
        """Whether a path outage that began in the window is still going (the run waits for it)."""
        return self.path.open_started_in_window

    # -- success-rate window (service recovery) ---------------------------------------------
    def success_tick(self, now: float) -> None:
        """Close a success-rate bucket; called every SUCCESS_BUCKET_S of simulated time."""
        window = self._window
        ok, fail = self._bucket_ok, self._bucket_fail
        window.append((ok, fail, self._bucket_first_fail))
        self._window_ok += ok
        self._window_fail += fail
        if len(window) > SUCCESS_WINDOW_BUCKETS:
            old_ok, old_fail, _ = window.popleft()
            self._window_ok -= old_ok
            self._window_fail -= old_fail
        self._bucket_ok = self._bucket_fail = 0
        self._bucket_first_fail = math.inf
        total_ok, total_fail = self._window_ok, self._window_fail
        healthy = total_fail == 0 or total_ok >= SUCCESS_OBJECTIVE * (total_ok + total_fail)
        if self._incident_start is None:
            if not healthy:
                self._incident_start = min(b[2] for b in window)
        elif healthy:
            if self.warmup_s <= self._incident_start < self.horizon_s:
                self._service_recovery_total += now - self._incident_start
                self._service_recovery_n += 1
                self.service_incident(self._incident_start, now)
            self._incident_start = None

    @property
    def open_incident_in_window(self) -> bool:
        start = self._incident_start
        return start is not None and self.warmup_s <= start < self.horizon_s

    # -- results -----------------------------------------------------------------------------
    def _down_time(self, period: _Period) -> float:
        """Down time inside the window, including a period still open at the end of the run."""
        total = period.down_time
        if not period.up:
            start, end = max(period.since, self.warmup_s), self.horizon_s
            if end > start:
                total += end - start
        return total

    def results(self, order_value: float, cost_per_hour: float) -> dict[str, float]:
        """The metrics of this replication (call after the run has drained).

        Besides :data:`METRICS`: ``availability_<tier>`` per tier, ``calls_per_checkout_<tier>`` per
        path tier (calls routed to one of its replicas — first tries and retries from any source —
        per attempted checkout) and, when a tier charges, ``duplicate_charges`` (charges after a
        checkout's first, counted for checkouts that arrived in the window) and
        ``duplicate_charge_value`` (× order value)."""
        measured_s = self.horizon_s - self.warmup_s
        area_end = self._area_at_horizon if self._area_at_horizon is not None else self._in_system_area
        nan = math.nan
        out = {
            "attempted_checkouts": float(self.attempted),
            "completed_checkouts": float(self.completed),
            "deferred_checkouts": float(self.deferred),
            "lost_checkouts": float(self.lost),
            "lost_fraction": self.lost / self.attempted if self.attempted else nan,
            "mean_extra_delay_s": self.extra_delay_total / self.deferred if self.deferred else nan,
            "availability": 1.0 - self._down_time(self.path) / measured_s,
            "outage_count": float(self.path.count),
            "mean_recovery_time_s": (
                self.path.lengths_total / self.path.lengths_n if self.path.lengths_n else nan
            ),
            "mean_service_recovery_time_s": (
                self._service_recovery_total / self._service_recovery_n if self._service_recovery_n else nan
            ),
            "latency_p50_s": self.latency.quantile(0.50),
            "latency_p95_s": self.latency.quantile(0.95),
            "latency_p99_s": self.latency.quantile(0.99),
            "latency_mean_s": self.latency.mean,
            "retry_load_factor": self.attempts / self.attempted if self.attempted else nan,
            "throughput_per_s": self.completed / measured_s,
            "mean_in_system": (area_end - self._area_at_warmup) / measured_s,
            "lost_revenue": self.lost * order_value,
            "infrastructure_cost": cost_per_hour * measured_s / 3600.0,
            "outage_time_total_s": self.path.lengths_total,
            "outages_recovered": float(self.path.lengths_n),
            "service_recovery_total_s": self._service_recovery_total,
            "service_recovery_count": float(self._service_recovery_n),
        }
        for name, period in self.tiers.items():
            out[f"availability_{name}"] = 1.0 - self._down_time(period) / measured_s
        for name, calls in zip(self.tier_names, self.path_calls, strict=False):  # path tiers come first
            out[f"calls_per_checkout_{name}"] = calls / self.attempted if self.attempted else nan
        if self.charging:
            out["duplicate_charges"] = float(self.duplicate_charges)
            out["duplicate_charge_value"] = self.duplicate_charges * order_value
        return out
