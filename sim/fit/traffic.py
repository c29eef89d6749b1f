"""Request counts per interval (``timestamp,count``) read into the scenario's traffic keys.

The rows are counts over equal, consecutive intervals of one hour or a divisor of it (the spacing
of the timestamps), covering at least one whole day so that every hour of the day is seen.

* **Spikes** are flagged first, by a robust z-score of the Pearson residual
  (count − m)/√m, where m is the median count of the interval's hour of day (so quiet and busy
  hours are judged on the same Poisson scale): the residuals' median and MAD (scaled by 1.4826 to
  estimate a standard deviation, which absorbs day-to-day variation beyond Poisson; never below 1,
  the Poisson value) over all intervals. An interval is a spike when z exceeds the normal quantile
  that keeps the chance of any false alarm among the n intervals at 1% (z > Φ⁻¹(1 − 0.01/n),
  about 4 for two weeks of hours); consecutive spikes merge. Spikes
  are reported, not written as ``[[traffic.spikes]]``: a past flash sale does not recur at the
  same simulated time, and they are left out of the rates below.
* ``arrival_rate`` is the mean, over the 24 hours of the day, of each hour's mean rate (customers
  per second); ``daily_profile[h]`` is hour h's mean rate divided by it, so the profile averages
  1 and ``arrival_rate × daily_profile[h]`` is hour h's rate. Hours are UTC.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from scipy import stats

from sim.fit.incidents import FitInputError, parse_timestamp, read_text
from sim.scenario.errors import quoted, shorten

FALSE_ALARM = 0.01  # chance that ordinary noise flags any interval of the file
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class TrafficFit:
    """Arrival rate, hourly profile and flagged spikes from request counts."""

    arrival_rate_per_s: float
    daily_profile: tuple[float, ...]
    spikes: tuple[dict, ...]
    threshold_z: float
    interval_s: float
    intervals: int
    start: datetime
    end: datetime

    def to_dict(self) -> dict:
        return {"arrival_rate": self.arrival_rate_per_s, "daily_profile": list(self.daily_profile),
                "spikes": list(self.spikes), "interval_s": self.interval_s, "intervals": self.intervals,
                "start": self.start.isoformat(), "end": self.end.isoformat(),
                "spike_rule": f"robust z-score (median, MAD × {MAD_TO_SD}) of (count − m)/√m, m the "
                              f"hour-of-day median (never below 1), above {self.threshold_z:.3g}"}


def read_counts(path: str | Path) -> TrafficFit:
    """Read, check and fit a request-count CSV."""
    return counts_from_text(read_text(path), shorten(str(path), 300))


def counts_from_text(text: str, source: str = "<counts>") -> TrafficFit:
    """The traffic fit of the CSV ``text``; errors name ``source`` and the line."""
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if header != ["timestamp", "count"]:
        raise FitInputError(f"{source}: line 1: the header must be timestamp,count")
    stamps: list[datetime] = []
    counts: list[int] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise FitInputError(f"{source}: line {line}: {len(row)} fields; expected 2 (timestamp,count)")
        try:
            stamp = parse_timestamp(row[0])
        except ValueError:
            raise FitInputError(f"{source}: line {line}: timestamp {quoted(row[0].strip())}: not an ISO 8601 "
                                "timestamp such as 2026-03-01T14:00:00Z") from None
        try:
            count = int(row[1].strip())
        except ValueError:
            count = -1
        if count < 0:
            raise FitInputError(f"{source}: line {line}: count {quoted(row[1].strip())}: must be a whole "
                                "number >= 0")
        if stamps and stamp <= stamps[-1]:
            raise FitInputError(f"{source}: line {line}: timestamp {row[0].strip()} is not after the "
                                "previous one")
        if len(stamps) >= 2 and stamp - stamps[-1] != stamps[1] - stamps[0]:
            raise FitInputError(f"{source}: line {line}: timestamp {row[0].strip()}: intervals must be equal "
                                f"and consecutive ({(stamps[1] - stamps[0]).total_seconds():g} s so far)")
        stamps.append(stamp)
        counts.append(count)
    if len(stamps) < 2:
        raise FitInputError(f"{source}: needs at least a whole day of counts, got {len(stamps)} row(s)")
    step = (stamps[1] - stamps[0]).total_seconds()
    if step > 3600 or 3600 % step:
        raise FitInputError(f"{source}: intervals of {step:g} s; they must be one hour or divide it "
                            "(e.g. 1h, 15m, 1m)")
    return fit_counts(stamps, np.asarray(counts, dtype=float), step, source)


def fit_counts(stamps: list[datetime], counts: np.ndarray, step: float, source: str) -> TrafficFit:
    """Spikes, arrival rate and hourly profile of equal-interval counts (see the module docstring)."""
    hours = np.array([s.hour for s in stamps])
    if len(set(hours.tolist())) < 24:
        raise FitInputError(f"{source}: counts must cover every hour of the day (UTC) at least once")
    median = np.array([np.median(counts[hours == h]) for h in range(24)])
    z = _robust_z(counts, median[hours])
    threshold = float(stats.norm.isf(FALSE_ALARM / len(counts)))
    spike = z > threshold
    keep = ~spike
    rate = np.array([counts[keep & (hours == h)].sum() / (step * (keep & (hours == h)).sum())
                     if (keep & (hours == h)).any() else median[h] / step for h in range(24)])
    arrival = float(rate.mean())
    if arrival <= 0:
        raise FitInputError(f"{source}: every count is zero; no arrival rate can be derived")
    profile = tuple(float(r / arrival) for r in rate)
    spikes = _spikes(stamps, counts, rate[hours] * step, z, spike, step)
    return TrafficFit(arrival, profile, spikes, threshold, step, len(stamps), stamps[0], stamps[-1])


def _robust_z(counts: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    # +0.5 keeps the residual finite for an hour whose median count is zero
    ratio = (counts - baseline) / np.sqrt(baseline + 0.5)
    scale = max(1.0, MAD_TO_SD * float(np.median(np.abs(ratio - np.median(ratio)))))
    return (ratio - np.median(ratio)) / scale


def _spikes(stamps: list[datetime], counts: np.ndarray, expected: np.ndarray, z: np.ndarray,
            spike: np.ndarray, step: float) -> tuple[dict, ...]:
    found: list[dict] = []
    for i in np.flatnonzero(spike).tolist():
        if found and found[-1]["_last"] == i - 1:
            current = found[-1]
        else:
            current = {"start": stamps[i].isoformat(), "duration_s": 0.0, "_count": 0.0, "_expected": 0.0,
                       "max_z": 0.0}
            found.append(current)
        current["duration_s"] += step
        current["_count"] += float(counts[i])
        current["_expected"] += float(expected[i])
        current["max_z"] = max(current["max_z"], float(z[i]))
        current["_last"] = i
    return tuple({"start": s["start"], "duration_s": s["duration_s"],
                  "multiplier": s["_count"] / s["_expected"] if s["_expected"] > 0 else math.inf,
                  "max_z": s["max_z"]} for s in found)
