"""Plain-text tables for the terminal."""

from __future__ import annotations

import math

from sim.stats.intervals import Summary
from sim.stats.metrics import METRICS


def number(x: float) -> str:
    """A compact, readable number (thousands separators, 4 significant digits for fractions)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "inf"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax == 0:
        return "0"
    if ax >= 0.01:
        return f"{x:.3f}"
    return f"{x:.3g}"


def availability(x: float) -> str:
    if x is None or math.isnan(x):
        return "–"
    return f"{x * 100:.4f}%"


def metric_table(metrics: dict[str, Summary]) -> str:
    """Rows of metric, mean and 95% confidence interval."""
    rows = [("metric", "mean", "95% CI")]
    ordered = [m for m in METRICS if m in metrics] + [m for m in metrics if m not in METRICS]
    for name in ordered:
        s = metrics[name]
        fmt = availability if name.startswith("availability") else number
        ci = "–" if math.isnan(s.ci_low) else f"[{fmt(s.ci_low)}, {fmt(s.ci_high)}]"
        rows.append((name, fmt(s.mean), ci))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for i, (a, b, c) in enumerate(rows):
        lines.append(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:<{widths[2]}}".rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
