"""The incident timeline of one replication: success rate, lost checkouts, p95 latency and healthy
replicas per tier over time, outage windows shaded and status-page windows hatched."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.report import style
from sim.report.figures import label_axes, legend_if_any, new_figure, plain_number


@dataclass(frozen=True)
class TimelineLimits:
    """Shared axis limits so several scenarios' timelines can be compared at a glance."""

    latency_low_s: float = 0.1
    latency_high_s: float = 100.0
    lost_per_min_high: float = 1.0
    replicas_high: float = 2.0


def _time_axis(horizon_s: float) -> tuple[float, str]:
    """Seconds per plotted unit and the unit's name."""
    if horizon_s > 6 * 3600:
        return 3600.0, "h"
    if horizon_s > 2 * 3600:
        return 60.0, "min"
    return 60.0, "min"


def _values(xs: Sequence[float | None]) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in xs], dtype=float)


def timeline_limits(timelines: Sequence[Mapping]) -> TimelineLimits:
    """Limits that fit every timeline (for side-by-side comparison)."""
    lat = np.concatenate([_values(t["latency_p95_s"]) for t in timelines] or [np.array([])])
    lat = lat[np.isfinite(lat) & (lat > 0)]
    lost = [np.nanmax(_values(t["lost"]) * 60.0 / t["bucket_s"], initial=0.0) for t in timelines]
    reps = [max((max(v) for v in t["healthy_replicas"].values() if v), default=1.0) for t in timelines]
    return TimelineLimits(
        latency_low_s=float(10 ** math.floor(math.log10(lat.min()))) if lat.size else 0.1,
        latency_high_s=float(10 ** math.ceil(math.log10(lat.max() * 1.05))) if lat.size else 100.0,
        lost_per_min_high=max(1.0, max(lost, default=1.0) * 1.1),
        replicas_high=max(1.0, max(reps, default=1.0)),
    )


def timeline_figure(timeline: Mapping, title: str, horizon_s: float, warmup_s: float = 0.0,
                    limits: TimelineLimits | None = None) -> Figure:
    """An incident unfolding: success rate, lost checkouts, p95 latency and healthy replicas
    over time, with outage windows (path down) shaded and status-page windows marked."""
    limits = limits or timeline_limits([timeline])
    unit_s, unit = _time_axis(horizon_s)
    bucket = float(timeline["bucket_s"])
    t = (np.asarray(timeline["t_s"], dtype=float) + bucket / 2.0) / unit_s  # bucket middles
    fig, axes = new_figure(11.0, 9.0, 4, 1, sharex=True, height_ratios=[1.1, 0.8, 1.0, 0.9])
    a_ok, a_lost, a_lat, a_rep = axes[:, 0]
    bucket_text = style.interval(bucket)

    success = _values(timeline["success_rate"]) * 100.0
    a_ok.plot(t, success, color=style.colour(0), linewidth=1.3, label="attempt success rate")
    label_axes(a_ok, f"Checkout attempts that succeed (per {bucket_text})", "", "success rate (%)")
    a_ok.set_ylim(-3, 103)

    lost_per_min = _values(timeline["lost"]) * 60.0 / bucket
    a_lost.fill_between(t, lost_per_min, step="mid", color=style.colour(1), alpha=0.85, linewidth=0,
                        label="lost checkouts")
    label_axes(a_lost, "Checkouts lost", "", "lost (checkouts/min)")
    a_lost.set_ylim(0, limits.lost_per_min_high)

    p95 = _values(timeline["latency_p95_s"])
    a_lat.plot(t, p95, color=style.colour(2), linewidth=1.3, label="p95 latency")
    a_lat.set_yscale("log")
    a_lat.yaxis.set_major_formatter(FuncFormatter(plain_number))
    a_lat.set_ylim(limits.latency_low_s, limits.latency_high_s)
    above = np.asarray(timeline.get("latency_p95_above_top", [False] * len(p95)), dtype=bool)
    if above.any():  # beyond the histogram's last bin: a lower bound, marked, never a silent cap
        top = float(timeline.get("latency_top_s", np.nanmax(p95)))
        a_lat.plot(t[above], p95[above], linestyle="none", marker="^", color=style.colour(1), markersize=6,
                   label=f"p95 above {plain_number(top)} s ({int(above.sum())} buckets)")
        legend_if_any(a_lat, loc="upper right")
    label_axes(a_lat, "Latency of completed checkouts (95th percentile, arrival to completion; "
               "asynchronous orders: to acceptance)", "", "p95 latency (s)")

    for i, (tier, values) in enumerate(timeline["healthy_replicas"].items()):
        a_rep.plot(t, _values(values), color=style.colour(4 + i), linestyle=style.linestyle(i),
                   linewidth=1.6, drawstyle="steps-mid", label=f"{tier}")
    label_axes(a_rep, f"Healthy replicas per tier (time-average per {bucket_text})", f"time ({unit})",
               "healthy replicas")
    a_rep.set_ylim(-0.15, limits.replicas_high + 0.35)
    a_rep.yaxis.set_major_locator(MaxNLocator(integer=True))
    legend_if_any(a_rep, loc="lower left", ncols=4)

    outages = [(s / unit_s, e / unit_s) for s, e in timeline.get("path_down", [])]
    pages = [(s / unit_s, e / unit_s) for s, e in timeline.get("status_page", [])]
    for ax in axes[:, 0]:
        if warmup_s > 0:
            ax.axvspan(0, warmup_s / unit_s, color="#bbbbbb", alpha=0.35, linewidth=0)
        for s, e in pages:
            ax.axvspan(s, e, facecolor="none", edgecolor=style.STATUS_PAGE_COLOUR, hatch="//",
                       linewidth=0.0, alpha=0.9)
        for s, e in outages:
            # an edge line keeps short outages visible at a multi-day scale
            ax.axvspan(s, e, color=style.OUTAGE_COLOUR, alpha=0.22, linewidth=1.0)
    for s, _ in outages:
        a_ok.annotate("▼", (s, 103), ha="center", va="bottom", fontsize=7, color=style.OUTAGE_COLOUR,
                      annotation_clip=False)
    a_rep.set_xlim(0, horizon_s / unit_s)

    handles = [
        a_ok.get_lines()[0], a_lost.collections[0], a_lat.get_lines()[0],
        Patch(facecolor=style.OUTAGE_COLOUR, alpha=0.3, label=f"outage: path down ({len(outages)})"),
        Patch(facecolor="none", edgecolor=style.STATUS_PAGE_COLOUR, hatch="//",
              label=f"status page shows incident ({len(pages)})"),
    ]
    if warmup_s > 0:
        handles.append(Patch(facecolor="#bbbbbb", alpha=0.5, label="warm-up (not measured)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=style.LEGEND_SIZE + 1,
               frameon=False)
    fig.suptitle(title, fontsize=style.TITLE_SIZE, fontweight="bold")
    return fig
