"""How reports look: a colour-blind-safe palette, figure sizes, number formats and metric labels.

One place decides how each metric is named, which unit it is shown in and how its numbers are
written, so tables and figures agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency; black comes last so it is not mistaken for the axes.
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
SERIES_COLOURS: tuple[str, ...] = tuple(OKABE_ITO.values())
# a second cue besides colour (print, projectors, colour-vision deficiencies)
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES: tuple[str, ...] = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), "-", "--")
HATCHES: tuple[str, ...] = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")

OUTAGE_COLOUR = OKABE_ITO["vermillion"]
STATUS_PAGE_COLOUR = OKABE_ITO["sky"]
GRID_COLOUR = "#d9d9d9"

PNG_DPI = 160  # slide resolution: a 10-inch-wide figure is 1600 px
TITLE_SIZE = 13
LABEL_SIZE = 11
TICK_SIZE = 10
LEGEND_SIZE = 9


def colour(i: int) -> str:
    """The i-th series colour (cycles)."""
    return SERIES_COLOURS[i % len(SERIES_COLOURS)]


def marker(i: int) -> str:
    return MARKERS[i % len(MARKERS)]


def linestyle(i: int) -> str | tuple:
    return LINESTYLES[i % len(LINESTYLES)]


def hatch(i: int) -> str:
    return HATCHES[i % len(HATCHES)]


# ---------------------------------------------------------------------------------------------
# Numbers.


def is_missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def count(x: float | None) -> str:
    """A count or other large number: thousands separators, one decimal below 100."""
    if is_missing(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    ax = abs(x)
    if ax >= 100:
        text = f"{x:,.0f}"
    elif ax >= 10 or ax == 0 or float(x).is_integer():
        text = f"{x:,.1f}".removesuffix(".0")
    elif ax >= 0.1:
        text = f"{x:.2f}"
    else:
        text = f"{x:.2g}"
    return text.replace("-", "−")


def signed(text: str, x: float) -> str:
    """Prefix a formatted number with its sign (+ for positive), for differences."""
    if is_missing(x) or x <= 0 or text.startswith("+"):
        return text
    return "+" + text


def relative_change(x: float | None) -> str:
    """A relative change (0.25 = 25% more) as a person reads it: "+25%", "−3.1%", "×176".

    Beyond a doubling a percentage is hard to read ("+17503.5%"), so it becomes a factor; a drop
    of (nearly) everything is "−100%" or "−99.9%". At most three significant digits.
    """
    if is_missing(x):
        return "–"
    if math.isinf(x):
        return "from ~0" if x > 0 else "–"
    if x >= 1.0:
        factor = 1.0 + x
        return f"×{factor:,.0f}" if factor >= 100 else f"×{factor:.3g}"
    pct = 100.0 * x
    if pct == 0:
        return "0%"
    decimals = 1
    if abs(pct) < 0.1:
        decimals = min(6, 1 - math.floor(math.log10(abs(pct))))
    text = f"{pct:.{decimals}f}%"
    if text.lstrip("-") == "100.0%":  # all of it, or nearly: never round a part up to the whole
        whole = abs(x) == 1.0
        text = text.replace(".0", "") if whole else ("-99.9%" if x < 0 else "99.9%")
    return signed(text.replace("-", "−"), x)


def fraction_percent(x: float | None, digits: int = 3) -> str:
    """A fraction in [0, 1] as a percentage with enough digits to show small values."""
    if is_missing(x):
        return "–"
    pct = 100.0 * x
    if pct == 0:
        return "0%"
    if abs(pct) < 0.01:  # two significant digits, never in e-notation
        decimals = min(12, 1 - math.floor(math.log10(abs(pct))))
        return f"{pct:.{decimals}f}%".replace("-", "−")
    return f"{pct:.{digits}f}%".replace("-", "−")


def nines(availability: float | None) -> float:
    """Availability as "nines": −log10(1 − A); 0.999 → 3. Infinite when there was no downtime."""
    if is_missing(availability):
        return math.nan
    if availability >= 1.0:
        return math.inf
    return max(0.0, -math.log10(1.0 - availability)) + 0.0  # never negative, never −0


def nines_text(n: float) -> str:
    if is_missing(n):
        return "–"
    if math.isinf(n):
        return "∞ (no downtime)"
    return f"{n:.2f}"


def seconds(x: float | None) -> str:
    """A duration in the unit a person reads best (ms, s, min, h)."""
    if is_missing(x):
        return "–"
    if math.isinf(x):
        return "∞"
    ax = abs(x)
    if ax == 0:
        text = "0 s"
    elif ax < 0.01:
        text = f"{x * 1000:.2g} ms"
    elif ax < 1:
        text = f"{x * 1000:.0f} ms"
    elif ax < 100:
        text = f"{x:.2f} s" if ax < 10 else f"{x:.1f} s"
    elif ax < 3600 * 2:
        text = f"{x / 60:.1f} min"
    else:
        text = f"{x / 3600:.2f} h"
    return text.replace("-", "−")


def interval(x_s: float) -> str:
    """A bucket width or window such as "1 min" or "30 s"."""
    if x_s >= 3600 and x_s % 3600 == 0:
        return f"{x_s / 3600:g} h"
    if x_s >= 60 and x_s % 60 == 0:
        return f"{x_s / 60:g} min"
    return f"{x_s:g} s"


def money(x: float | None, currency: str = "") -> str:
    if is_missing(x):
        return "–"
    text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"
    text = text.replace("-", "−")
    return f"{text} {currency}".strip()


def hours(x_s: float) -> str:
    """A horizon such as "3 d" or "6 h"."""
    if x_s >= 86400 and x_s % 86400 == 0:
        return f"{x_s / 86400:g} d"
    if x_s >= 3600:
        return f"{x_s / 3600:g} h"
    return f"{x_s / 60:g} min"


# ---------------------------------------------------------------------------------------------
# Metrics.


@dataclass(frozen=True)
class MetricStyle:
    """How one metric is named and written: ``plot_scale`` converts a value to the plotted unit."""

    label: str
    unit: str  # unit of the plotted / tabulated value ("" for counts)
    kind: str  # "count", "fraction", "seconds", "money", "ratio"
    plot_scale: float = 1.0

    def axis_label(self, currency: str = "") -> str:
        """E.g. "Lost checkouts per replication", "Lost revenue (USD per replication)", "Latency p95 (s)"."""
        if self.kind == "count":
            return f"{self.label} per replication"
        if self.kind == "money":
            return f"{self.label} ({currency + ' ' if currency else ''}per replication)"
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def text(self, x: float | None, currency: str = "") -> str:
        """The value (in the metric's stored unit) as table text."""
        if self.kind == "fraction":
            return fraction_percent(x, 4 if "vailab" in self.label else 3)
        if self.kind == "seconds":
            return seconds(x)
        if self.kind == "money":
            return money(x, currency)
        if self.kind == "ratio":
            return "–" if is_missing(x) else f"{x:.3f}"
        return count(x)


METRIC_STYLES: dict[str, MetricStyle] = {
    "attempted_checkouts": MetricStyle("Attempted checkouts", "checkouts", "count"),
    "completed_checkouts": MetricStyle("Completed checkouts", "checkouts", "count"),
    "deferred_checkouts": MetricStyle("Deferred checkouts", "checkouts", "count"),
    "lost_checkouts": MetricStyle("Lost checkouts", "checkouts", "count"),
    "lost_fraction": MetricStyle("Lost fraction", "%", "fraction", 100.0),
    "mean_extra_delay_s": MetricStyle("Extra delay of deferred checkouts", "s", "seconds"),
    "availability": MetricStyle("Availability", "%", "fraction", 100.0),
    "outage_count": MetricStyle("Outages", "", "count"),
    "mean_recovery_time_s": MetricStyle("Infrastructure recovery time", "min", "seconds", 1 / 60),
    "mean_service_recovery_time_s": MetricStyle("Service recovery time", "min", "seconds", 1 / 60),
    "latency_p50_s": MetricStyle("Latency p50", "s", "seconds"),
    "latency_p95_s": MetricStyle("Latency p95", "s", "seconds"),
    "latency_p99_s": MetricStyle("Latency p99", "s", "seconds"),
    "latency_mean_s": MetricStyle("Mean latency", "s", "seconds"),
    "retry_load_factor": MetricStyle("Attempts per checkout", "", "ratio"),
    "throughput_per_s": MetricStyle("Throughput", "checkouts/s", "ratio"),
    "mean_in_system": MetricStyle("Customers in checkout", "customers", "ratio"),
    "lost_revenue": MetricStyle("Lost revenue", "", "money"),
    "infrastructure_cost": MetricStyle("Infrastructure cost", "", "money"),
    "outage_time_total_s": MetricStyle("Total outage time", "min", "seconds", 1 / 60),
    "outages_recovered": MetricStyle("Outages ended", "", "count"),
    "service_recovery_total_s": MetricStyle("Total service recovery time", "min", "seconds", 1 / 60),
    "service_recovery_count": MetricStyle("Service incidents recovered", "", "count"),
    "lost_checkouts_per_year": MetricStyle("Lost checkouts per year", "checkouts/year", "count"),
    "downtime_minutes_per_year": MetricStyle("Downtime per year", "min/year", "count"),
    "outages_per_year": MetricStyle("Outages per year", "outages/year", "count"),
    "availability_nines": MetricStyle("Availability in nines", "nines", "ratio"),
    "duplicate_charges": MetricStyle("Duplicate charges", "charges", "count"),
    "duplicate_charge_value": MetricStyle("Value charged twice", "", "money"),
}


def metric_style(name: str) -> MetricStyle:
    """The style of a metric, including per-tier ``availability_<tier>`` and unknown ones."""
    if name in METRIC_STYLES:
        return METRIC_STYLES[name]
    if name.startswith("availability_"):
        return MetricStyle(f"Availability of {name.removeprefix('availability_')}", "%", "fraction", 100.0)
    if name.startswith("calls_per_checkout_"):
        return MetricStyle(f"Calls to {name.removeprefix('calls_per_checkout_')} per checkout", "", "ratio")
    label = name.replace("_", " ").capitalize()
    if name.endswith("_s"):
        return MetricStyle(label.removesuffix(" s"), "s", "seconds")
    return MetricStyle(label, "", "count")
