"""Objectives: conditions on metrics, such as ``lost_fraction<0.001 and latency_p95_s<2s``.

Used by ``sim stress`` (the load at which an objective stops holding) and by sweep reports (the
cheapest point that meets it). A condition on a metric whose value is NaN (no data) never holds.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sim.scenario.durations import parse_duration

EXAMPLE = "lost_fraction<0.001"
_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*(\S+)")
_SEPARATORS = re.compile(r"\band\b|,|&")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


@dataclass(frozen=True)
class Condition:
    """One part of an objective, e.g. ``latency_p95_s < 2``."""

    metric: str
    op: str
    value: float

    def holds(self, value: float) -> bool:
        """Whether ``value`` of the metric satisfies the condition."""
        return not math.isnan(value) and _OPS[self.op](value, self.value)

    def met(self, metrics: Mapping[str, float]) -> bool:
        """Whether a replication's (or a point's) metrics satisfy the condition."""
        return self.holds(metrics.get(self.metric, math.nan))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def parse_objective(texts: str | Sequence[str],
                    metrics: Sequence[str] | None = None) -> tuple[Condition, ...]:
    """Parse conditions joined by ``and``, ``,`` or ``&`` (one string or several).

    Values are numbers; ``*_s`` metrics also take durations (``2s``, ``5m``). With ``metrics``,
    other metric names are rejected. Raises ``ValueError`` saying what is allowed.
    """
    parts = [p.strip() for text in ([texts] if isinstance(texts, str) else texts)
             for p in _SEPARATORS.split(text) if p.strip()]
    expected = f"expected METRIC<VALUE (or <=, >, >=), e.g. {EXAMPLE}"
    if not parts:
        raise ValueError(f"{texts!r}: {expected}")
    conditions = []
    for part in parts:
        match = _PART.fullmatch(part)
        if not match:
            raise ValueError(f"{part!r}: {expected}")
        metric, op, raw = match.groups()
        if metrics is not None and metric not in metrics:
            raise ValueError(f"{part!r}: unknown metric {metric!r}; metrics: {', '.join(metrics)}")
        conditions.append(Condition(metric, op, _threshold(part, metric, raw, expected)))
    return tuple(conditions)


def _threshold(part: str, metric: str, raw: str, expected: str) -> float:
    try:
        return float(raw)
    except ValueError:
        pass
    if metric.endswith("_s"):
        try:
            return parse_duration(raw)
        except ValueError:
            pass
    raise ValueError(f"{part!r}: {raw!r} is not a number; {expected}")
