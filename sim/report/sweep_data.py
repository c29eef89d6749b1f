"""A sweep folder as written by ``sim sweep``, read for reports: its points, the swept keys'
values (durations as numbers) and each metric's mean and CI from ``summary.csv``; objectives
such as ``lost_fraction<0.001`` and the cheapest point that meets one with confidence."""

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
    duration: bool = False  # tick labels with their own unit ("5 min", "2 h")

    def position(self, value: object) -> float:
        if self.categories:
            return float(self.categories.index(value))
        return float(numeric(value)) * self.scale

    def text(self, value: object) -> str:
        if self.categories:
            return str(value)
        if self.duration:
            return _duration_text(float(numeric(value)))
        return f"{float(numeric(value)) * self.scale:g}"


def key_axis(data: SweepData, key: str) -> KeyAxis:
    values = distinct(data, key)
    nums = [numeric(v) for v in values]
    if any(n is None for n in nums):
        return KeyAxis(key, key, 1.0, tuple(values))
    if is_duration_key(data, key):
        top = max(nums)
        scale, unit = (1 / 3600, "h") if top >= 2 * 3600 else (1 / 60, "min") if top >= 120 else (1.0, "s")
        return KeyAxis(key, f"{key} ({unit})", scale, (), duration=True)
    return KeyAxis(key, key, 1.0, ())


def short_label(point: SweepPoint, keys: Sequence[str]) -> str:
    """``web.replicas=2, payment.replicas=3``: the last two parts of each key."""
    return ", ".join(f"{'.'.join(k.split('.')[-2:])}={value_text(point.values[k])}" for k in keys)


def point_label(data: SweepData, point: SweepPoint) -> str:
    """Like :func:`short_label`, with durations in their unit."""
    return ", ".join(f"{'.'.join(k.split('.')[-2:])} = {key_value_text(data, k, point.values[k])}"
                     for k in data.keys)


def value_text(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def key_value_text(data: SweepData, key: str, value: object) -> str:
    """A swept key's value as a person reads it: durations with their unit ("5 min", not 300)."""
    if is_duration_key(data, key):
        seconds = numeric(value)
        if seconds is not None:
            return _duration_text(seconds)
    return value_text(value)


def _duration_text(seconds: float) -> str:
    for unit_s, unit in ((86400.0, "d"), (3600.0, "h"), (60.0, "min"), (1.0, "s")):
        if seconds >= unit_s or unit == "s":
            if unit == "s" and 0 < seconds < 1:
                return f"{seconds * 1000:.4g} ms"
            return f"{seconds / unit_s:.4g} {unit}"
    return f"{seconds:g} s"


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


def meets_with_confidence(point: SweepPoint, objective: Sequence[Condition]) -> bool:
    """Whether every condition holds at the unfavourable end of the metric's 95% CI.

    For ``lost_fraction < 0.001`` the CI's upper bound must be below 0.001, not just the mean; a
    point without an interval (one replication) is never confidently meeting anything.
    """
    for c in objective:
        e = point.metrics.get(c.metric, Estimate(math.nan))
        bound = e.high if c.op in ("<", "<=") else e.low
        if not (c.holds(e.mean) and c.holds(bound)):
            return False
    return True


def status(point: SweepPoint, objective: Sequence[Condition]) -> str:
    """``"meets"`` (with 95% confidence), ``"uncertain"`` (on the mean only) or ``"misses"``."""
    if meets_with_confidence(point, objective):
        return "meets"
    return "uncertain" if meets(point, objective) else "misses"


def _overlap(a: Estimate, b: Estimate) -> bool:
    """Whether two 95% CIs overlap (equal means without intervals count as overlapping)."""
    lo_a, hi_a = (a.mean, a.mean) if math.isnan(a.low) else (a.low, a.high)
    lo_b, hi_b = (b.mean, b.mean) if math.isnan(b.low) else (b.low, b.high)
    return lo_a <= hi_b and lo_b <= hi_a


@dataclass(frozen=True)
class Choice:
    """The cheapest point that meets an objective with confidence, and how firm that choice is."""

    chosen: SweepPoint | None  # cheapest meeting it at the CI bound (None: no point does)
    runner_up: SweepPoint | None  # the next cheapest that does
    within_noise: bool  # the runner-up is not distinguishable: cost intervals overlap (and losses do)
    uncertain_cheaper: tuple[SweepPoint, ...]  # cheaper, meeting it on the mean but not at the bound


def cheapest_meeting(data: SweepData, objective: Sequence[Condition],
                     cost: str = "infrastructure_cost", loss: str = "lost_revenue",
                     confident: bool = True) -> SweepPoint | None:
    """The point of lowest mean cost that meets the objective — with 95% confidence unless
    ``confident`` is False (then on the mean) — ties: lower loss, then lower index."""
    test = meets_with_confidence if confident else meets
    ok = [p for p in data.points if test(p, objective) and not math.isnan(p.metrics[cost].mean)]
    if not ok:
        return None
    return min(ok, key=lambda p: _rank(p, cost, loss))


def _rank(p: SweepPoint, cost: str, loss: str) -> tuple[float, float, int]:
    loss_mean = p.metrics.get(loss, Estimate(0.0)).mean
    return (p.metrics[cost].mean, 0.0 if math.isnan(loss_mean) else loss_mean, p.index)


def choose(data: SweepData, objective: Sequence[Condition], cost: str = "infrastructure_cost",
           loss: str = "lost_revenue") -> Choice:
    """:func:`cheapest_meeting` with what a decision needs: the runner-up, whether the two are
    within noise of each other, and cheaper points that meet the objective only on their mean."""
    ranked = sorted((p for p in data.points if not math.isnan(p.metrics[cost].mean)),
                    key=lambda p: _rank(p, cost, loss))
    confident = [p for p in ranked if meets_with_confidence(p, objective)]
    chosen = confident[0] if confident else None
    runner_up = confident[1] if len(confident) > 1 else None
    within_noise = False
    if chosen is not None and runner_up is not None:
        same_cost = _overlap(chosen.metrics[cost], runner_up.metrics[cost])
        no_loss = loss not in chosen.metrics or loss not in runner_up.metrics
        within_noise = same_cost and (no_loss or _overlap(chosen.metrics[loss], runner_up.metrics[loss]))
    limit = _rank(chosen, cost, loss) if chosen is not None else None
    uncertain = tuple(p for p in ranked if status(p, objective) == "uncertain"
                      and (limit is None or _rank(p, cost, loss) < limit))
    return Choice(chosen, runner_up, within_noise, uncertain)
