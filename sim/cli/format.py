"""Plain-text tables for the terminal (progress: :mod:`sim.cli.progress`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from sim.experiment.blanks import blanks
from sim.experiment.methods import CRUDE
from sim.scenario import ScenarioError, describe, load_scenario
from sim.scenario.durations import format_duration
from sim.scenario.spec import Scenario
from sim.stats.intervals import Summary
from sim.stats.metrics import METRICS
from sim.stats.summaries import FIXED, PER_YEAR, RATIOS

#: The metrics a design review asks about first: lost checkouts, availability, recovery.
KEY_METRICS: tuple[str, ...] = (
    "lost_checkouts", "lost_fraction", "availability", "mean_recovery_time_s",
    "mean_service_recovery_time_s", "outage_count",
)
#: A 95% interval whose half-width exceeds this share of the quantity it measures cannot tell
#: a doubling from a halving: "too wide to decide".
TOO_WIDE = 0.5
CLIPPED_MARK = "*"
#: the per-replication sums behind the pooled ratios: in the JSON, not in the table
SUMS = frozenset(part for parts in RATIOS.values() for part in parts)
NO_INTERVAL = "n=1, no interval"
INTERRUPTED = 130  # exit code after Ctrl-C, as shells report a SIGINT


def header(name: str | None, resolved: Scenario) -> str:
    """The scenario's one-line description, its own text marked when an override changed what it says."""
    try:
        base = load_scenario(name)
    except ScenarioError:  # pragma: no cover - the same name has just loaded with overrides
        base = None
    return describe(resolved, base)


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


def ordered_metrics(names: Sequence[str]) -> list[str]:
    """Lost checkouts, availability (path, then per tier) and recovery first, then the per-year
    figures, then the others in :data:`METRICS` order, then anything else."""
    tiers = [m for m in names if m.startswith("availability_") and m not in PER_YEAR]
    first: list[str] = []
    for m in KEY_METRICS:
        if m in names:
            first.append(m)
        if m == "availability":
            first += tiers
    first += [m for m in PER_YEAR if m in names]
    rest = [m for m in METRICS if m in names and m not in first]
    return first + rest + [m for m in names if m not in first and m not in rest]


def relative_half_width(name: str, s: Summary) -> float:
    """Half-width of the interval relative to what it measures (for availability: the downtime,
    1 − A); inf when that is zero but the interval is not, NaN without an interval."""
    if not s.has_interval:
        return math.nan
    scale = 1.0 - s.mean if name.startswith("availability") else abs(s.mean)
    if scale == 0:
        return 0.0 if s.half_width == 0 else math.inf
    return s.half_width / scale


def too_wide(name: str, s: Summary) -> bool:
    """True when the interval cannot support a decision: its half-width is more than half of the
    quantity (downtime for availability), or, for a positive count or fraction, it reaches down to 0."""
    if not s.has_interval or (s.mean == 0 and s.half_width == 0) or s.one_sided:
        return False
    if name == "availability_nines":  # a log scale: availability's own row carries the verdict
        return False
    down_to_zero = s.mean > 0 and s.ci_low <= 0 and not name.startswith("availability")
    return down_to_zero or relative_half_width(name, s) > TOO_WIDE


def nines_number(x: float) -> str:
    """Availability in nines: two decimals, ∞ for no downtime."""
    if x is None or math.isnan(x):
        return "–"
    return "∞" if math.isinf(x) else f"{x:.2f}"


def _formatter(name: str) -> Callable[[float], str]:
    if name == "availability_nines":
        return nines_number
    return availability if name.startswith("availability") else number


def _interval(name: str, s: Summary, fmt: Callable[[float], str]) -> str:
    if s.n == 1:
        return NO_INTERVAL
    if not s.has_interval:
        return "–"
    if s.method.rpartition("+")[2] == FIXED:  # not sampled: the value itself, both ends
        return f"[{fmt(s.ci_low)}, {fmt(s.ci_high)}]"
    if math.isinf(s.ci_high) and name == "availability_nines":  # the interval reaches no downtime
        return f"≥ {fmt(s.ci_low)} at 95%"
    if s.one_sided:  # nothing observed: one bound, on the side the metric could move
        return f"≥ {fmt(s.ci_low)} at 95%" if s.complement else f"≤ {fmt(s.ci_high)} at 95%"
    low = fmt(s.ci_low) + (CLIPPED_MARK if s.clipped_low else "")
    high = fmt(s.ci_high) + (CLIPPED_MARK if s.clipped_high else "")
    return f"[{low}, {high}]"


def advice(n: int, relative: float, horizon_s: float | None = None) -> str:
    """What would narrow an interval of relative half-width ``relative`` over ``n`` replications
    enough to decide: replications (or horizon) scaled by the square of how much too wide it is
    (a half-width shrinks like 1/√n), with a margin; at least doubled."""
    factor = 4.0 if not math.isfinite(relative) else max(2.0, (relative / (TOO_WIDE * 0.8)) ** 2)
    factor = min(factor, 100.0)
    replications = int(math.ceil(n * factor / 10.0) * 10)
    text = f"run more replications (--replications {replications})"
    if horizon_s:
        longer = horizon_s * factor
        unit = next((u for u in (86400.0, 3600.0, 60.0) if longer >= u), 1.0)
        text += f" or a longer horizon (--horizon {format_duration(math.ceil(longer / unit) * unit)})"
    return text


def suggestion(metrics: dict[str, Summary], names: Sequence[str], horizon_s: float | None = None) -> str:
    """:func:`advice` for the widest of the intervals of ``names``."""
    worst = max((relative_half_width(m, metrics[m]) for m in names), default=math.nan)
    return advice(max(metrics[m].n for m in names), worst, horizon_s)


def metric_table(metrics: dict[str, Summary], horizon_s: float | None = None, advise: bool = True,
                 method: str = CRUDE) -> str:
    """Rows of metric, mean, 95% confidence interval and n, key metrics first, with notes below:
    intervals cut at a physical bound (``*``), and intervals too wide to decide with what would fix them.

    ``horizon_s`` (the simulated horizon) lets the advice name a longer horizon as well; ``advise=False``
    (a precision-driven run, which says below what its targets need) leaves the advice out. A metric
    without a value says why in the words of :mod:`sim.experiment.blanks` ("not estimated by rare",
    "no outage", ...), given the estimator ``method`` that ran (the caller prints the reasons).
    """
    rows = [("metric", "mean", "95% CI", "n", "")]
    missing = blanks(method, {name: s.to_dict() for name, s in metrics.items()})
    wide: list[str] = []
    clipped = one_sided = False
    for name in ordered_metrics(list(metrics)):
        s = metrics[name]
        if name in SUMS:
            continue
        fmt = _formatter(name)
        one_sided = one_sided or (s.has_interval and s.one_sided)
        if name in missing:
            why = missing[name]
            rows.append((name, "–", why.words, "–" if why.not_estimated else str(s.n), ""))
            continue
        note = ""
        if too_wide(name, s):
            wide.append(name)
            note = "too wide to decide"
        clipped = clipped or (s.has_interval and (s.clipped_low or s.clipped_high))
        rows.append((name, fmt(s.mean), _interval(name, s, fmt), str(s.n), note))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for i, (a, b, c, d, e) in enumerate(rows):
        lines.append(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:<{widths[2]}}  {d:>{widths[3]}}  {e}".rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths[:4]))
    notes = []
    if any(s.n == 1 for s in metrics.values()):
        notes.append(f"{NO_INTERVAL}: a single replication gives a value but no uncertainty; use at least "
                     "2 (better 10+) replications to compare or decide.")
    if clipped:
        notes.append(f"{CLIPPED_MARK} the t interval reached past a value the metric cannot take (a count "
                     "below 0, a fraction outside [0, 1], fewer than 1 attempt per checkout) and is cut "
                     "there.")
    if one_sided:
        notes.append("≤ X at 95% (≥ for availability): nothing was observed in any of the n replications, "
                     "so the interval is a one-sided 95% bound, not [0, 0]. Outage counts: the exact Poisson "
                     "bound −ln(0.05)/n ≈ 3/n per horizon. Lost or deferred checkouts, lost fraction, "
                     "revenue and downtime: customers are hit in bursts, so the bound is the share of "
                     "horizons that could have had any, 1 − 0.05^(1/n) ≈ 3/n, times the most a horizon "
                     "could lose (all its checkouts, all its time): wide, but true without a model.")
    if any(s.method.rpartition("+")[2] == "poisson" for s in metrics.values()):
        notes.append("An outage count equal in every replication is not certain: its interval is Garwood's "
                     "exact Poisson interval of the total over the replications.")
    pooled = [m for m in RATIOS if m in metrics and not math.isnan(metrics[m].mean)]
    if any(not metrics[m].method.endswith("+exact") for m in pooled):
        notes.append("Recovery times are pooled over incidents (total time / number of incidents, all "
                     "replications together) with a delta-method interval; n = replications with an "
                     "incident.")
    if any(s.method.endswith("+exact") for s in metrics.values()):
        notes.append("Zero-width intervals marked by method rare are exact: the infrastructure chain's "
                     "expected availability, outages and recovery time over the horizon from an all-up "
                     "start (solved, not sampled).")
    if any(s.method.rpartition("+")[2] == FIXED for s in metrics.values()):
        notes.append("Zero-width intervals of availability, outages and recovery with no random failure: "
                     "no replica or zone fails at random, so they are set by the injected outages alone, "
                     "the same in every replication (not sampled).")
    if any(m in metrics for m in PER_YEAR):
        notes.append("Per year: the horizon's rate × 365 d / measured window, which assumes the horizon is "
                     "representative of a year (e.g. a daily profile that repeats). Nines = −log10(1 − "
                     "availability), its interval mapped from availability's; \"≥ x\" when that interval "
                     "reaches no downtime (∞ nines).")
    if wide:
        notes.append(f"too wide to decide (95% CI half-width over {TOO_WIDE:.0%} of the mean — of the "
                     f"downtime for availability — or reaching 0): {', '.join(wide)}"
                     + (f"; {suggestion(metrics, wide, horizon_s)}." if advise else "."))
    return "\n".join([*lines, "", *notes] if notes else lines)

