"""A sweep folder as written by ``sim sweep``, read for reports: its points, the swept keys'
values (durations as numbers) and each metric's mean and CI from ``summary.csv``; objectives
such as ``lost_fraction<0.001`` and the cheapest point that meets one."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.report.figures import Estimate
from sim.report.output import ReportError, read_json
from sim.scenario.durations import parse_duration
from sim.stats.objective import EXAMPLE, Condition
from sim.stats.objective import parse_objective as _parse

DEFAULT_OBJECTIVE = EXAMPLE
# the last part of a dotted key that holds a duration (its values are seconds or "45m")
DURATION_KEYS = frozenset({
    "horizon", "warmup", "mtbf", "mttr", "service_time", "failover_delay", "health_check_interval",
    "patience", "retry_backoff", "backoff_cap", "detection_delay", "return_after", "window",
    "open_duration", "async_max_delay", "start", "duration",
})


# ---------------------------------------------------------------------------------------------
# Reading the folder.


@dataclass(frozen=True)
class SweepPoint:
    """One point: its values of the swept keys and every metric's mean and CI (from summary.csv)."""

    index: int
    values: dict[str, object]
    metrics: dict[str, Estimate]
    replications: int


@dataclass(frozen=True)
class SweepData:
    folder: Path
    manifest: dict
    keys: tuple[str, ...]
    points: tuple[SweepPoint, ...]
    metrics: tuple[str, ...]

    @property
    def factorial(self) -> bool:
        """Whether the points are a full grid of the keys' values (no sampled keys)."""
        return not self.manifest.get("design", {}).get("lhs") and \
            len(self.points) == math.prod(len(distinct(self, k)) for k in self.keys)

    @property
    def currency(self) -> str:
        return self.manifest.get("scenario", {}).get("costs", {}).get("currency", "")

    @property
    def horizon_s(self) -> float:
        return float(self.manifest.get("scenario", {}).get("scenario", {}).get("horizon", math.nan))


def _cell(text: str) -> float:
    return math.nan if text in ("", "nan", "None") else float(text)


def load_sweep(folder: Path) -> SweepData:
    """A sweep folder's manifest and per-point summaries, exactly as stored."""
    folder = Path(folder)
    manifest = read_json(folder / "manifest.json")
    if "points" not in manifest or "design" not in manifest:
        raise ReportError(f"{folder / 'manifest.json'}: not a sweep folder (no design and points)")
    summary = folder / "summary.csv"
    if not summary.is_file():
        raise ReportError(f"{summary}: missing; the sweep has not finished: run the same `sim sweep` "
                          "command again to complete it")
    with summary.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        columns = reader.fieldnames or []
    metrics = tuple(c.removesuffix("_mean") for c in columns
                    if c.endswith("_mean") and not c.endswith("_diff_mean"))
    by_point = {int(p["point"]): p for p in manifest["points"]}
    keys = tuple(k for k in (manifest["points"][0] if manifest["points"] else {}) if k != "point")
    points = []
    for row in rows:
        index = int(row["point"])
        if index not in by_point:
            raise ReportError(f"{summary}: point {index} is not in the manifest")
        try:
            estimates = {m: Estimate(*(_cell(row[f"{m}_{part}"]) for part in ("mean", "ci_low", "ci_high")))
                         for m in metrics}
        except (KeyError, TypeError, ValueError) as err:
            raise ReportError(f"{summary}: point {index}: malformed row ({err})") from None
        values = {k: v for k, v in by_point[index].items() if k != "point"}
        points.append(SweepPoint(index, values, estimates, int(row.get("replications") or 0)))
    if not points:
        raise ReportError(f"{summary}: no points")
    return SweepData(folder, manifest, keys, tuple(sorted(points, key=lambda p: p.index)), metrics)


# ---------------------------------------------------------------------------------------------
# Keys: their values as numbers where they are numbers (durations in seconds).


def is_duration_key(data: SweepData, key: str) -> bool:
    if key.split(".")[-1] in DURATION_KEYS:
        return True
    return any(isinstance(p.values[key], str) and _duration(p.values[key]) is not None for p in data.points)


def _duration(value: object) -> float | None:
    try:
        return parse_duration(value)
    except ValueError:
        return None


def numeric(value: object) -> float | None:
    """A key's value as a number (durations in seconds), or None for a category."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return _duration(value)
    return None


def distinct(data: SweepData, key: str) -> list[object]:
    """The key's values in the sweep, sorted numerically where they are numbers."""
    seen: list[object] = []
    for p in data.points:
        if all(p.values[key] != v for v in seen):
            seen.append(p.values[key])
    if all(numeric(v) is not None for v in seen):
        return sorted(seen, key=lambda v: numeric(v))
    return seen


@dataclass(frozen=True)
class KeyAxis:
    """How a swept key is drawn: position of each value on the axis, and the axis label."""

    key: str
    label: str
    scale: float  # seconds → plotted unit for durations
    categories: tuple[object, ...]  # non-numeric values, in order (empty when numeric)

    def position(self, value: object) -> float:
        if self.categories:
            return float(self.categories.index(value))
        return float(numeric(value)) * self.scale

    def text(self, value: object) -> str:
        if self.categories:
            return str(value)
        return f"{float(numeric(value)) * self.scale:g}"


def key_axis(data: SweepData, key: str) -> KeyAxis:
    values = distinct(data, key)
    nums = [numeric(v) for v in values]
    if any(n is None for n in nums):
        return KeyAxis(key, key, 1.0, tuple(values))
    if is_duration_key(data, key):
        top = max(nums)
        scale, unit = (1 / 3600, "h") if top >= 2 * 3600 else (1 / 60, "min") if top >= 120 else (1.0, "s")
        return KeyAxis(key, f"{key} ({unit})", scale, ())
    return KeyAxis(key, key, 1.0, ())


def short_label(point: SweepPoint, keys: Sequence[str]) -> str:
    """``web.replicas=2, payment.replicas=3``: the last two parts of each key."""
    return ", ".join(f"{'.'.join(k.split('.')[-2:])}={value_text(point.values[k])}" for k in keys)


def value_text(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


# ---------------------------------------------------------------------------------------------
# Objectives.


def parse_objective(text: str, metrics: Sequence[str] | None = None) -> tuple[Condition, ...]:
    """``"lost_fraction<0.001 and latency_p95_s<2"`` (see :mod:`sim.stats.objective`); a bad objective
    raises :class:`ReportError` naming what is wrong."""
    try:
        return _parse(text, metrics)
    except ValueError as err:
        raise ReportError(f"--objective {err}") from None


def meets(point: SweepPoint, objective: Sequence[Condition]) -> bool:
    """Whether the point's means satisfy every condition."""
    return all(c.holds(point.metrics.get(c.metric, Estimate(math.nan)).mean) for c in objective)


def cheapest_meeting(data: SweepData, objective: Sequence[Condition],
                     cost: str = "infrastructure_cost", loss: str = "lost_revenue") -> SweepPoint | None:
    """The point of lowest mean cost that meets the objective (ties: lower loss, then lower index)."""
    ok = [p for p in data.points if meets(p, objective) and not math.isnan(p.metrics[cost].mean)]
    if not ok:
        return None
    return min(ok, key=lambda p: (p.metrics[cost].mean, p.metrics.get(loss, Estimate(0.0)).mean, p.index))
