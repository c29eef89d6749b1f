"""Figures drawn with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``), never pyplot.

No global state is touched (no ``pyplot``, no ``rcParams`` changes, no backend switch), so figures
can be drawn headless, in threads or in parallel processes. Each builder takes plain numbers and
returns a :class:`~matplotlib.figure.Figure`; :func:`save_figure` writes it as PNG and SVG, with
its title and axis labels in the files' metadata.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.report import style


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% confidence interval (NaN bounds: no interval)."""

    mean: float
    low: float = math.nan
    high: float = math.nan

    @classmethod
    def from_dict(cls, d: Mapping[str, float | None] | None) -> Estimate:
        """From a summary as stored in JSON (``mean``, ``ci_low``, ``ci_high``; None = NaN)."""
        if not d:
            return cls(math.nan)

        def num(key: str) -> float:
            v = d.get(key)
            return math.nan if v is None else float(v)

        return cls(num("mean"), num("ci_low"), num("ci_high"))

    def scaled(self, factor: float) -> Estimate:
        return Estimate(self.mean * factor, self.low * factor, self.high * factor)


# ---------------------------------------------------------------------------------------------
# Canvas, axes, files.


def new_figure(width_in: float, height_in: float, nrows: int = 1, ncols: int = 1,
               **subplots: object) -> tuple[Figure, np.ndarray]:
    """A figure with an Agg canvas and a grid of axes (always returned as a 2-D array)."""
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplots)
    return fig, axes


def label_axes(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    """Title, axis labels, tick sizes and a light grid."""
    ax.set_title(title, fontsize=style.LABEL_SIZE + 1, loc="left")
    ax.set_xlabel(xlabel, fontsize=style.LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=style.LABEL_SIZE)
    ax.tick_params(labelsize=style.TICK_SIZE)
    ax.grid(True, color=style.GRID_COLOUR, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def describe_axes(fig: Figure) -> str:
    """The title and axis labels of every labelled axes, for metadata and tests."""
    parts = []
    suptitle = fig.get_suptitle()
    if suptitle:
        parts.append(f"figure: {suptitle}")
    for ax in fig.axes:
        if not (ax.get_title(loc="left") or ax.get_xlabel() or ax.get_ylabel()):
            continue  # colour bars and the like
        parts.append(f"axes: {ax.get_title(loc='left')} | x: {ax.get_xlabel()} | y: {ax.get_ylabel()}")
    return "; ".join(parts)


def save_figure(fig: Figure, folder: Path, stem: str, dpi: int = style.PNG_DPI) -> tuple[Path, Path]:
    """Write ``folder/stem.png`` (``dpi``) and ``folder/stem.svg``; both carry title and labels."""
    folder.mkdir(parents=True, exist_ok=True)
    title = fig.get_suptitle() or (fig.axes[0].get_title(loc="left") if fig.axes else stem)
    description = describe_axes(fig)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    fig.savefig(png, format="png", dpi=dpi,
                metadata={"Title": title, "Description": description, "Software": "outagesim"})
    fig.savefig(svg, format="svg", metadata={"Title": title, "Description": description, "Date": None})
    return png, svg


def _yerr(estimates: Sequence[Estimate]) -> np.ndarray | None:
    """Asymmetric error bars (2 × n) for estimates; zero where there is no interval."""
    lows = [e.mean - e.low if not math.isnan(e.low) else 0.0 for e in estimates]
    highs = [e.high - e.mean if not math.isnan(e.high) else 0.0 for e in estimates]
    if not any(lows) and not any(highs):
        return None
    return np.maximum(np.array([lows, highs]), 0.0)


def _legend(ax: Axes, **kw: object) -> None:
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=style.LEGEND_SIZE, frameon=False, **kw)


# ---------------------------------------------------------------------------------------------
# Bars with confidence intervals.


@dataclass(frozen=True)
class BarPanel:
    """One panel of grouped bars: a group per metric, a bar per series (scenario)."""

    title: str
    ylabel: str
    groups: tuple[str, ...]  # x tick labels, one per metric
    values: Mapping[str, Sequence[Estimate]]  # series label -> one estimate per group
    notes: Mapping[str, Sequence[str]] | None = None  # series label -> text above each bar


def wrap_label(text: str, width: int = 16) -> str:
    """Break a long name after hyphens or underscores so tick labels do not overlap."""
    if len(text) <= width:
        return text
    parts = [p for p in re.split(r"(?<=[-_ ])", text) if p]
    lines, line = [], ""
    for part in parts:
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    lines.append(line)
    return "\n".join(lines)


def draw_bar_panel(ax: Axes, panel: BarPanel) -> None:
    """Grouped bars; with a single group the series' labels become the x ticks."""
    series = list(panel.values)
    n = max(len(series), 1)
    single = len(panel.groups) == 1
    width = 0.7 if single else 0.8 / n
    x = np.arange(len(panel.groups))
    for i, label in enumerate(series):
        ests = list(panel.values[label])
        means = np.array([0.0 if math.isnan(e.mean) else e.mean for e in ests])
        offsets = np.array([float(i)]) if single else x - 0.4 + width * (i + 0.5)
        ax.bar(offsets, means, width * 0.92, label=label, color=style.colour(i), hatch=style.hatch(i),
               edgecolor="white", linewidth=0.5, yerr=_yerr(ests), capsize=4,
               error_kw={"elinewidth": 1.2, "ecolor": "#222222"})
        notes = (panel.notes or {}).get(label)
        for j, e in enumerate(ests):
            text = notes[j] if notes else ("n/a" if math.isnan(e.mean) else "")
            top = max(means[j], 0.0 if math.isnan(e.high) else e.high)
            if text:  # above the error bar, where it cannot collide with the cap
                ax.annotate(text, (offsets[j], top), xytext=(0, 3), textcoords="offset points",
                            ha="center", va="bottom", fontsize=style.LEGEND_SIZE, color="#333333")
    if single:
        ax.set_xticks(np.arange(n), [wrap_label(x, max(8, int(40 / n))) for x in series])
    else:
        ax.set_xticks(x, panel.groups)
    label_axes(ax, panel.title, "", panel.ylabel)
    ax.yaxis.set_major_formatter(FuncFormatter(_plain))
    ax.grid(False, axis="x")
    ax.set_ylim(bottom=0)
    ax.margins(y=0.12)


def bar_figure(title: str, panels: Sequence[BarPanel], width_in: float | None = None,
               height_in: float = 4.2, ncols: int | None = None) -> Figure:
    """Panels of grouped bars with 95% CI error bars, side by side, one shared legend."""
    ncols = ncols or len(panels)
    nrows = math.ceil(len(panels) / ncols)
    width_in = width_in or max(6.0, 4.0 * ncols)
    fig, axes = new_figure(width_in, height_in * nrows, nrows, ncols)
    flat = axes.ravel()
    for ax, panel in zip(flat, panels, strict=False):
        draw_bar_panel(ax, panel)
    for ax in flat[len(panels):]:
        ax.set_visible(False)
    handles, labels = flat[0].get_legend_handles_labels()
    if len(labels) > 1 and any(len(p.groups) > 1 for p in panels):
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4),
                   fontsize=style.LEGEND_SIZE + 1, frameon=False)
    fig.suptitle(title, fontsize=style.TITLE_SIZE, fontweight="bold")
    return fig


# ---------------------------------------------------------------------------------------------
# Incident timeline.


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
    a_lat.yaxis.set_major_formatter(FuncFormatter(_plain))
    a_lat.set_ylim(limits.latency_low_s, limits.latency_high_s)
    label_axes(a_lat, "Latency of completed checkouts (95th percentile, arrival to completion)", "",
               "p95 latency (s)")

    for i, (tier, values) in enumerate(timeline["healthy_replicas"].items()):
        a_rep.plot(t, _values(values), color=style.colour(4 + i), linestyle=style.linestyle(i),
                   linewidth=1.6, drawstyle="steps-mid", label=f"{tier}")
    label_axes(a_rep, f"Healthy replicas per tier (time-average per {bucket_text})", f"time ({unit})",
               "healthy replicas")
    a_rep.set_ylim(-0.15, limits.replicas_high + 0.35)
    a_rep.yaxis.set_major_locator(MaxNLocator(integer=True))
    _legend(a_rep, loc="lower left", ncols=4)

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


# ---------------------------------------------------------------------------------------------
# Distributions.


def _plain(v: float, _pos: int | None = None) -> str:
    """Tick labels as plain numbers (0.1, 10, 2,500, 1.5M) rather than powers of ten or offsets."""
    av = abs(v)
    if av == 0:
        return "0"
    if av >= 1e6:
        return f"{v / 1e6:,.4g}M".replace("-", "−")
    if av >= 1000:
        return f"{v:,.0f}".replace("-", "−")
    return f"{v:.4g}".replace("-", "−")


def draw_ecdf(ax: Axes, samples: Mapping[str, Sequence[float]], scale: float = 1.0,
              empty: str = "none") -> None:
    """One empirical CDF step line per series; empty series are named in the legend only."""
    for i, (label, values) in enumerate(samples.items()):
        x = np.sort(np.asarray([v for v in values if v is not None and math.isfinite(v)], float)) * scale
        if x.size == 0:
            ax.plot([], [], color=style.colour(i), label=f"{label} ({empty})")
            continue
        y = np.arange(1, x.size + 1) / x.size
        ax.step(np.r_[x[0], x], np.r_[0.0, y], where="post", color=style.colour(i),
                linestyle=style.linestyle(i), linewidth=1.8, label=f"{label} (n = {x.size})")
        ax.plot(x, y, linestyle="none", marker=style.marker(i), markersize=3, color=style.colour(i))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    finite = [v * scale for vs in samples.values() for v in vs
              if v is not None and math.isfinite(v) and v > 0]
    if finite and max(finite) / min(finite) > 50:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(_plain))


@dataclass(frozen=True)
class EcdfPanel:
    """One ECDF panel: a series of values per label, plotted as ``value × scale``."""

    title: str
    xlabel: str
    ylabel: str
    samples: Mapping[str, Sequence[float]]
    scale: float = 1.0
    empty: str = "none"  # legend text of a series without values


def ecdf_figure(title: str, panels: Sequence[EcdfPanel]) -> Figure:
    """Side-by-side empirical CDF panels."""
    fig, axes = new_figure(max(6.0, 5.5 * len(panels)), 4.6, 1, len(panels))
    for ax, p in zip(axes[0], panels, strict=True):
        draw_ecdf(ax, p.samples, p.scale, p.empty)
        ptitle, xlabel, ylabel = p.title, p.xlabel, p.ylabel
        label_axes(ax, ptitle, xlabel, ylabel)
        _legend(ax, loc="lower right")
    fig.suptitle(title, fontsize=style.TITLE_SIZE, fontweight="bold")
    return fig


# ---------------------------------------------------------------------------------------------
# Sweeps: lines with bands, heatmaps, a cost frontier.


@dataclass(frozen=True)
class Line:
    """One line of a metric against a swept key: x values with mean and CI at each."""

    label: str
    x: tuple[float, ...]
    estimates: tuple[Estimate, ...]


def draw_lines(ax: Axes, lines: Sequence[Line], points_only: bool = False) -> None:
    """Mean against x with a shaded 95% CI band per line (``points_only``: error bars, no lines)."""
    for i, line in enumerate(lines):
        x = np.asarray(line.x, dtype=float)
        m = np.array([e.mean for e in line.estimates], dtype=float)
        lo = np.array([e.low for e in line.estimates], dtype=float)
        hi = np.array([e.high for e in line.estimates], dtype=float)
        order = np.argsort(x, kind="stable")
        x, m, lo, hi = x[order], m[order], lo[order], hi[order]
        if points_only:
            err = np.array([np.where(np.isnan(lo), 0, m - lo), np.where(np.isnan(hi), 0, hi - m)])
            ax.errorbar(x, m, yerr=np.maximum(err, 0), fmt=style.marker(i), color=style.colour(i),
                        markersize=5, capsize=3, linewidth=1, label=line.label)
            continue
        ax.plot(x, m, color=style.colour(i), linestyle=style.linestyle(i), marker=style.marker(i),
                markersize=5, linewidth=1.8, label=line.label)
        ok = ~(np.isnan(lo) | np.isnan(hi))
        if ok.any():
            ax.fill_between(x[ok], lo[ok], hi[ok], color=style.colour(i), alpha=0.18, linewidth=0)


def lines_figure(title: str, panels: Sequence[tuple[str, str, str, Sequence[Line]]], legend_title: str = "",
                 note: str = "", points_only: bool = False,
                 ticks: Sequence[tuple[float, str]] | None = None, ncols: int = 3) -> Figure:
    """Panels (title, x label, y label, lines) of metrics against one key, one shared legend;
    ``ticks`` (position, label) puts x ticks at the swept values."""
    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = new_figure(4.6 * ncols, 3.5 * nrows + 0.8, nrows, ncols)
    flat = axes.ravel()
    for ax, (ptitle, xlabel, ylabel, lines) in zip(flat, panels, strict=False):
        draw_lines(ax, lines, points_only)
        label_axes(ax, ptitle, xlabel, ylabel)
        if ticks:
            ax.set_xticks([p for p, _ in ticks], [t for _, t in ticks])
        ax.yaxis.set_major_formatter(FuncFormatter(_plain))
    for ax in flat[len(panels):]:
        ax.set_visible(False)
    handles, labels = flat[0].get_legend_handles_labels()
    if len(labels) > 1 or legend_title:
        fig.legend(handles, labels, title=legend_title or None, loc="outside lower center",
                   ncols=min(len(labels), 6), fontsize=style.LEGEND_SIZE + 1,
                   title_fontsize=style.LEGEND_SIZE + 1, frameon=False)
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=style.TITLE_SIZE, fontweight="bold")
    return fig


def _tick(v: float) -> str:
    return f"{v:g}" if isinstance(v, int | float) else str(v)


def heatmap_figure(title: str, xlabel: str, ylabel: str, x_values: Sequence[float], y_values: Sequence[float],
                   matrix: np.ndarray, colour_label: str, cell_text: Sequence[Sequence[str]],
                   note: str = "") -> Figure:
    """A metric's mean over a grid of two keys, each cell annotated with its value."""
    fig, axes = new_figure(max(6.5, 1.1 * len(x_values) + 3), max(4.5, 0.7 * len(y_values) + 2.5))
    ax = axes[0, 0]
    data = np.ma.masked_invalid(np.asarray(matrix, dtype=float))
    image = ax.imshow(data, cmap="cividis", aspect="auto", origin="lower")  # cividis: CVD-safe
    ax.set_xticks(range(len(x_values)), [_tick(v) for v in x_values])
    ax.set_yticks(range(len(y_values)), [_tick(v) for v in y_values])
    finite = data.compressed()
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for r, row in enumerate(cell_text):
        for c, text in enumerate(row):
            value = data[r, c]
            dark = np.ma.is_masked(value) or value < mid
            ax.text(c, r, text, ha="center", va="center", fontsize=style.LEGEND_SIZE,
                    color="white" if dark else "black")
    label_axes(ax, title, xlabel, ylabel)
    ax.grid(False)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(colour_label, fontsize=style.LABEL_SIZE)
    if note:
        ax.text(0.0, -0.14, note, transform=ax.transAxes, fontsize=style.LEGEND_SIZE, color="#555555",
                va="top")
    return fig


@dataclass(frozen=True)
class FrontierPoint:
    label: str
    cost: Estimate
    loss: Estimate
    meets: bool


def pareto_front(points: Sequence[FrontierPoint]) -> list[int]:
    """Indices of points no other point beats on both mean cost and mean loss, by cost."""
    idx = [i for i, p in enumerate(points) if not (math.isnan(p.cost.mean) or math.isnan(p.loss.mean))]
    front = []
    for i in idx:
        a = points[i]
        dominated = any(
            (b.cost.mean <= a.cost.mean and b.loss.mean <= a.loss.mean)
            and (b.cost.mean < a.cost.mean or b.loss.mean < a.loss.mean)
            for j, b in ((j, points[j]) for j in idx) if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i].cost.mean, points[i].loss.mean))


def _rounded(x: float) -> float:
    """Three significant digits: points closer than that share one label."""
    return float(f"{x:.3g}")


def frontier_figure(title: str, xlabel: str, ylabel: str, points: Sequence[FrontierPoint],
                    chosen: int | None, objective: str) -> Figure:
    """Infrastructure cost against lost revenue per point (95% CI bars), the Pareto front dashed,
    points meeting the objective filled, the cheapest of them starred; points labelled by id."""
    fig, axes = new_figure(9.5, 6.5)
    ax = axes[0, 0]
    front = pareto_front(points)
    if len(front) > 1:
        ax.plot([points[i].cost.mean for i in front], [points[i].loss.mean for i in front],
                color="#777777", linestyle="--", linewidth=1.2, zorder=1,
                label="Pareto front: no other point is cheaper and loses less")
    for meets, colour, name in ((True, style.colour(2), f"meets {objective}"),
                                (False, style.colour(1), f"misses {objective}")):
        sel = [p for p in points if p.meets == meets]
        if not sel:
            continue
        ax.errorbar([p.cost.mean for p in sel], [p.loss.mean for p in sel],
                    xerr=_yerr([p.cost for p in sel]), yerr=_yerr([p.loss for p in sel]),
                    fmt="o" if meets else "s", color=colour, markersize=7, capsize=3, linewidth=1,
                    label=name, zorder=2, mfc=colour if meets else "white", alpha=0.9)
    # one label per position: points with the same cost and loss share it ("3, 5")
    spots: dict[tuple[float, float], list[str]] = {}
    for p in points:
        if not (math.isnan(p.cost.mean) or math.isnan(p.loss.mean)):
            spots.setdefault((_rounded(p.cost.mean), _rounded(p.loss.mean)), []).append(p.label)
    if len(spots) <= 60:
        for (x, y), labels in spots.items():
            ax.annotate(", ".join(labels), (x, y), xytext=(6, 5), textcoords="offset points",
                        fontsize=style.LEGEND_SIZE, color="#222222")
    if chosen is not None:
        p = points[chosen]
        ax.plot([p.cost.mean], [p.loss.mean], marker="*", markersize=22, color=style.colour(0),
                markeredgecolor="black", linestyle="none", zorder=3,
                label=f"cheapest meeting the objective: point {p.label}")
    losses = [p.loss.mean for p in points if p.loss.mean > 0]
    if losses and max(losses) / min(losses) > 100:  # orders of magnitude apart: keep small ones visible
        ax.set_yscale("symlog", linthresh=10 ** math.floor(math.log10(min(losses))))
    ax.yaxis.set_major_formatter(FuncFormatter(_plain))
    ax.xaxis.set_major_formatter(FuncFormatter(_plain))
    label_axes(ax, title, xlabel, ylabel)
    ax.margins(0.1)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2,
               fontsize=style.LEGEND_SIZE + 1, frameon=False)
    return fig
