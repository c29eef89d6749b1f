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
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

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
    for text in fig.findobj(Text):  # names and labels are plain text: a "$" never starts math
        text.set_parse_math(False)
    title = fig.get_suptitle() or (fig.axes[0].get_title(loc="left") if fig.axes else stem)
    description = describe_axes(fig)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    fig.savefig(png, format="png", dpi=dpi,
                metadata={"Title": title, "Description": description, "Software": "outagesim"})
    fig.savefig(svg, format="svg", metadata={"Title": title, "Description": description, "Date": None})
    return png, svg


def has_interval(e: Estimate) -> bool:
    """Whether an estimate with a mean has a confidence interval (one observation has none)."""
    return math.isnan(e.mean) or not (math.isnan(e.low) or math.isnan(e.high))


def error_bars(estimates: Sequence[Estimate]) -> np.ndarray | None:
    """Asymmetric error bars (2 × n) for estimates; zero where there is no interval."""
    lows = [e.mean - e.low if not math.isnan(e.low) else 0.0 for e in estimates]
    highs = [e.high - e.mean if not math.isnan(e.high) else 0.0 for e in estimates]
    if not any(lows) and not any(highs):
        return None
    return np.maximum(np.array([lows, highs]), 0.0)


def legend_if_any(ax: Axes, **kw: object) -> None:
    """A frameless legend, only when something is labelled."""
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
    tops: list[float] = []
    for i, label in enumerate(series):
        ests = list(panel.values[label])
        means = np.array([0.0 if math.isnan(e.mean) else e.mean for e in ests])
        offsets = np.array([float(i)]) if single else x - 0.4 + width * (i + 0.5)
        ax.bar(offsets, means, width * 0.92, label=label, color=style.colour(i), hatch=style.hatch(i),
               edgecolor="white", linewidth=0.5, yerr=error_bars(ests), capsize=4,
               error_kw={"elinewidth": 1.2, "ecolor": "#222222"})
        notes = (panel.notes or {}).get(label)
        for j, e in enumerate(ests):
            text = notes[j] if notes else ("n/a" if math.isnan(e.mean) else "")
            if not has_interval(e):  # one observation, or all equal: say so, never a bare bar
                text = (text + "\n" if text else "") + "no interval"
            top = max(means[j], 0.0 if math.isnan(e.high) else e.high)
            tops.append(top)
            if text:  # above the error bar, where it cannot collide with the cap
                ax.annotate(text, (offsets[j], top), xytext=(0, 3), textcoords="offset points",
                            ha="center", va="bottom", fontsize=style.LEGEND_SIZE, color="#333333")
    if single:
        ax.set_xticks(np.arange(n), [wrap_label(x, max(8, int(40 / n))) for x in series])
    else:
        ax.set_xticks(x, panel.groups)
    label_axes(ax, panel.title, "", panel.ylabel)
    ax.yaxis.set_major_formatter(FuncFormatter(plain_number))
    ax.grid(False, axis="x")
    highest = max([t for t in tops if math.isfinite(t)], default=0.0)
    if highest > 0:  # room above the tallest bar for its note (up to three lines)
        ax.set_ylim(0, highest * 1.25)
    else:
        ax.set_ylim(bottom=0)


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
# Distributions.


def plain_number(v: float, _pos: int | None = None) -> str:
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
        ax.xaxis.set_major_formatter(FuncFormatter(plain_number))


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
        legend_if_any(ax, loc="lower right")
    fig.suptitle(title, fontsize=style.TITLE_SIZE, fontweight="bold")
    return fig
