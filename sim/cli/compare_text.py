"""The terminal summary of ``sim compare``: key results per scenario, then each scenario's paired
differences against the baseline with a verdict (the same numbers as the report's tables)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sim.cli.format import CLIPPED_MARK, NO_INTERVAL, TOO_WIDE, advice, availability, number
from sim.experiment.blanks import is_null
from sim.stats.intervals import Summary
from sim.stats.metrics import metric_bounds
from sim.theory.floor import FLOOR_EXPLAINED, floor_comparison

if TYPE_CHECKING:
    from sim.report.comparison import PairedRow, StoredRun

#: Rows of the terminal summary: lost checkouts, availability and recovery first.
SUMMARY_METRICS: tuple[str, ...] = (
    "lost_checkouts", "availability", "mean_recovery_time_s", "mean_service_recovery_time_s",
    "deferred_checkouts", "latency_p95_s", "duplicate_charges", "infrastructure_cost",
)


def _fmt(metric: str):
    return availability if metric.startswith("availability") else number


def _cell(run: StoredRun, metric: str) -> str:
    stored = run.result["metrics"].get(metric)
    if is_null(stored):
        missing = run.blank(metric) if metric in run.result["metrics"] else None
        return f"– ({missing.words})" if missing else "–"
    fmt = _fmt(metric)
    n = int(stored.get("n") or 0)
    reps = int(run.result["replications"])
    text = fmt(stored["mean"])
    if stored.get("ci_low") is not None and n >= 2:
        # a stored interval is cut at the metric's bounds; an end exactly on a bound (with spread) was cut
        low, high = metric_bounds(metric)
        spread = (stored.get("std") or 0) > 0
        mark_low = CLIPPED_MARK if spread and stored["ci_low"] == low else ""
        mark_high = CLIPPED_MARK if spread and stored["ci_high"] == high else ""
        text += f" [{fmt(stored['ci_low'])}{mark_low}, {fmt(stored['ci_high'])}{mark_high}]"
    elif n == 1:
        text += " (n=1)" if reps == 1 else " (1 replication with a value)"
    if 1 < n < reps:
        text += f" (n={n})"
    return text


def _diff(metric: str, x: float) -> str:
    if math.isnan(x):
        return "–"
    if metric.startswith("availability"):
        return f"{100 * x:+.4f} pp"
    text = number(x)
    return text if text.startswith("-") or x == 0 else "+" + text


def _scale(row: PairedRow) -> float:
    """What a difference is compared with: the baseline's downtime for availability, else its mean."""
    base = row.baseline_mean
    return 1.0 - base if row.metric.startswith("availability") else abs(base)


def verdict(row: PairedRow, horizon_s: float | None = None) -> str:
    """Significant (better/worse), no significant difference, or too wide to decide (and the fix)."""
    from sim.report.comparison import HIGHER_IS_BETTER, LOWER_IS_BETTER

    d: Summary = row.diff
    from sim.report.comparison import not_compared

    if d.n < 2:
        return NO_INTERVAL if d.n == 1 and not row.missing else not_compared(row)
    if row.significant:
        if row.metric in LOWER_IS_BETTER | HIGHER_IS_BETTER and d.mean != 0:
            better = (d.mean < 0) == (row.metric in LOWER_IS_BETTER)
            return "significant, " + ("better" if better else "worse")
        return "significant"
    scale = _scale(row)
    if d.half_width == 0 or (scale > 0 and d.half_width <= TOO_WIDE * scale):
        return "no significant difference"
    relative = d.half_width / scale if scale > 0 else math.inf
    return f"not significant; too wide to decide: {advice(d.n, relative, horizon_s)}"


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def comparison_text(manifest: dict, runs: Sequence[StoredRun], horizon_s: float | None = None) -> str:
    """Key results of every scenario (mean [95% CI]) and, per scenario, the paired differences
    against the baseline (the first) with a verdict."""
    from sim.report.comparison import blank_reasons, calls_metrics, paired_rows

    reps = manifest["replications"]
    lines = [f"key results: mean [95% CI] over {reps} replication{'s' if reps != 1 else ''} "
             f"(seed {manifest['seed']}, common random numbers)"]
    names = [e.get("name") or e["label"] for e in manifest["scenarios"]]
    summary = (*SUMMARY_METRICS, *calls_metrics(runs))  # calls per checkout: how retries multiply load
    metrics = [m for m in summary if any(m in r.result["metrics"] for r in runs)]
    lines += _table([("metric", *names), *((m, *(_cell(r, m) for r in runs)) for m in metrics)])
    reasons = blank_reasons(runs, metrics, names, prefix="blank: ")
    lines += ["", *reasons] if reasons else []
    lines += ["", "analytic floor (failure laws alone, no traffic) beside the simulated availability:"]
    lines += ["  " + x for x in floor_comparison(names, [r.result["scenario"] for r in runs],
                                                [r.result["metrics"] for r in runs])]
    lines.append("  " + FLOOR_EXPLAINED)
    rows = paired_rows(runs)
    for name, run in zip(names[1:], runs[1:], strict=True):
        lines += ["", f"{name} − {names[0]} (paired by replication):"]
        table = [("metric", "difference", "95% CI", "pairs", "verdict")]
        mine = [r for r in rows if r.label == run.label and r.metric in summary]
        for row in sorted(mine, key=lambda r: summary.index(r.metric)):
            d = row.diff
            ci = ("–" if not d.has_interval
                  else f"[{_diff(row.metric, d.ci_low)}, {_diff(row.metric, d.ci_high)}]")
            table.append((row.metric, _diff(row.metric, d.mean), ci, str(d.n), verdict(row, horizon_s)))
        lines += _table(table)
    shown = "\n".join(lines)
    if f"{CLIPPED_MARK}," in shown or f"{CLIPPED_MARK}]" in shown:
        lines += ["", f"{CLIPPED_MARK} the t interval reached past a value the metric cannot take and is cut "
                  "there."]
    return "\n".join(lines)
