"""Figures of sweeps: metrics against a swept key with CI bands, heatmaps over two keys, and the
cost frontier (infrastructure cost against lost revenue)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize, SymLogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.report import style
from sim.report.figures import Estimate, error_bars, label_axes, new_figure, plain_number

NO_INTERVAL = "no interval (n = 1)"


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
    _mark_without_interval(ax, lines)


def _mark_without_interval(ax: Axes, lines: Sequence[Line]) -> None:
    """Ring the means that have no confidence interval (one observation), so that a bare point is
    never read as a precise one."""
    bare = [(x, e.mean) for line in lines for x, e in zip(line.x, line.estimates, strict=True)
            if math.isfinite(e.mean) and (math.isnan(e.low) or math.isnan(e.high))]
    if bare:
        ax.plot([x for x, _ in bare], [y for _, y in bare], linestyle="none", marker="o", markersize=11,
                mfc="none", mec="#d62728", mew=1.2, label=NO_INTERVAL, zorder=4)
        ax.legend(handles=[ax.get_lines()[-1]], fontsize=style.LEGEND_SIZE, frameon=False, loc="best")


def scale_y(ax: Axes, lines: Sequence[Line]) -> None:
    """A y axis that does not mislead: logarithmic when the means span two decades or more
    (symmetric-log when some are 0), and from zero when the values differ by little relative to
    their size (so that 1.468 s against 1.488 s does not look like a large change)."""
    values = [v for line in lines for e in line.estimates for v in (e.mean, e.low, e.high)
              if math.isfinite(v)]
    means = [e.mean for line in lines for e in line.estimates if math.isfinite(e.mean)]
    if not means or min(values) < 0:
        return
    positive = [m for m in means if m > 0]
    if positive and max(positive) / min(positive) >= 100:
        if min(values) <= 0:  # zeros (or intervals reaching 0) cannot sit on a log axis
            ax.set_yscale("symlog", linthresh=10 ** math.floor(math.log10(min(positive))))
            ax.set_ylim(bottom=0)
        else:
            ax.set_yscale("log")
        return
    top = max(values)
    if top > 0 and (top - min(values)) < 0.25 * top:
        ax.set_ylim(0, top * 1.08)


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
        scale_y(ax, lines)
        ax.yaxis.set_major_formatter(FuncFormatter(plain_number))
    for ax in flat[len(panels):]:
        ax.set_visible(False)
    shared = [(h, t) for h, t in zip(*flat[0].get_legend_handles_labels(), strict=True) if t != NO_INTERVAL]
    handles, labels = [h for h, _ in shared], [t for _, t in shared]
    if len(labels) > 1 or legend_title:
        fig.legend(handles, labels, title=legend_title or None, loc="outside lower center",
                   ncols=min(len(labels), 6), fontsize=style.LEGEND_SIZE + 1,
                   title_fontsize=style.LEGEND_SIZE + 1, frameon=False)
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=style.TITLE_SIZE, fontweight="bold")
    return fig


def _tick(v: float) -> str:
    return f"{v:g}" if isinstance(v, int | float) else str(v)


def _colour_norm(values: np.ndarray) -> Normalize | None:
    """Logarithmic colours when the values span two decades or more (symmetric-log with zeros)."""
    positive = values[values > 0]
    if values.size == 0 or (values < 0).any() or positive.size == 0 or positive.max() / positive.min() < 100:
        return None
    if (values == 0).any():
        return SymLogNorm(linthresh=10 ** math.floor(math.log10(positive.min())), vmin=0.0,
                          vmax=float(positive.max()))
    return LogNorm(vmin=float(positive.min()), vmax=float(positive.max()))


def heatmap_figure(title: str, xlabel: str, ylabel: str, x_values: Sequence[float], y_values: Sequence[float],
                   matrix: np.ndarray, colour_label: str, cell_text: Sequence[Sequence[str]],
                   note: str = "") -> Figure:
    """A metric's mean over a grid of two keys, each cell annotated with its value."""
    fig, axes = new_figure(max(6.5, 1.1 * len(x_values) + 3), max(4.5, 0.7 * len(y_values) + 2.5))
    ax = axes[0, 0]
    data = np.ma.masked_invalid(np.asarray(matrix, dtype=float))
    image = ax.imshow(data, cmap="cividis", aspect="auto", origin="lower",  # cividis: CVD-safe
                      norm=_colour_norm(data.compressed()))
    ax.set_xticks(range(len(x_values)), [_tick(v) for v in x_values])
    ax.set_yticks(range(len(y_values)), [_tick(v) for v in y_values])
    for r, row in enumerate(cell_text):
        for c, text in enumerate(row):
            value = data[r, c]
            dark = np.ma.is_masked(value) or float(image.norm(value)) < 0.5  # on the colour scale
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
    """A point of the cost frontier; ``status`` is "meets" (at the CI bound), "uncertain" (on the
    mean only) or "misses" the objective."""

    label: str
    cost: Estimate
    loss: Estimate
    status: str

    @property
    def meets(self) -> bool:
        return self.status == "meets"


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


_OFFSETS = ((6, 5), (6, -13), (-6, 5), (-6, -13), (6, 16), (6, -24), (-6, 16), (-6, -24))


def place_labels(ax: Axes, labels: Sequence[tuple[tuple[float, float], str]],
                 keep: set[tuple[float, float]]) -> int:
    """Annotate each (x, y) with its text at the first offset where it overlaps no label placed
    before (the ``keep`` positions first); others are left out. Returns how many were left out."""
    ax.figure.canvas.draw()  # the data → pixel transform of the final limits
    size = style.LEGEND_SIZE * ax.figure.dpi / 72.0
    placed: list[tuple[float, float, float, float]] = []
    left_out = 0
    for xy, text in sorted(labels, key=lambda item: (item[0] not in keep, item[0])):
        px, py = ax.transData.transform(xy)
        width, height = 0.62 * size * len(text), 1.2 * size
        for dx, dy in _OFFSETS:
            ox, oy = dx * ax.figure.dpi / 72.0, dy * ax.figure.dpi / 72.0
            x0 = px + ox if dx > 0 else px + ox - width
            box = (x0, py + oy, x0 + width, py + oy + height)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                placed.append(box)
                ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points",
                            ha="left" if dx > 0 else "right", fontsize=style.LEGEND_SIZE, color="#222222")
                break
        else:
            left_out += 1
    return left_out


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
    kinds = (("meets", "o", style.colour(2), True, f"meets {objective} (95% CI bound)"),
             ("uncertain", "o", style.colour(4), False,
              "meets it on the mean only (its CI crosses the threshold)"),
             ("misses", "s", style.colour(1), False, f"misses {objective}"))
    for kind, marker, colour, filled, name in kinds:
        sel = [p for p in points if p.status == kind]
        if not sel:
            continue
        ax.errorbar([p.cost.mean for p in sel], [p.loss.mean for p in sel],
                    xerr=error_bars([p.cost for p in sel]), yerr=error_bars([p.loss for p in sel]),
                    fmt=marker, color=colour, markersize=7, capsize=3, linewidth=1,
                    label=name, zorder=2, mfc=colour if filled else "white", alpha=0.9)
    losses = [p.loss.mean for p in points if p.loss.mean > 0]
    if losses and max(losses) / min(losses) > 100:  # orders of magnitude apart: keep small ones visible
        ax.set_yscale("symlog", linthresh=10 ** math.floor(math.log10(min(losses))))
    ax.margins(0.1)
    # one label per position (points with the same cost and loss share it: "3, 5"), placed where
    # it overlaps no other label; the rest are named in the table of points
    spots: dict[tuple[float, float], list[str]] = {}
    for p in points:
        if not (math.isnan(p.cost.mean) or math.isnan(p.loss.mean)):
            spots.setdefault((_rounded(p.cost.mean), _rounded(p.loss.mean)), []).append(p.label)
    important = set(front) | ({chosen} if chosen is not None else set())
    keep = {(_rounded(points[i].cost.mean), _rounded(points[i].loss.mean)) for i in important
            if not (math.isnan(points[i].cost.mean) or math.isnan(points[i].loss.mean))}
    unplaced = place_labels(ax, [(xy, ", ".join(labels)) for xy, labels in spots.items()], keep)
    if unplaced:
        ax.text(0.99, 0.99, f"{unplaced} point label(s) left out where they would overlap: see the table",
                transform=ax.transAxes, ha="right", va="top", fontsize=style.LEGEND_SIZE, color="#555555")
    if chosen is not None:
        p = points[chosen]
        ax.plot([p.cost.mean], [p.loss.mean], marker="*", markersize=22, color=style.colour(0),
                markeredgecolor="black", linestyle="none", zorder=3,
                label=f"cheapest meeting the objective with 95% confidence: point {p.label}")
    ax.yaxis.set_major_formatter(FuncFormatter(plain_number))
    ax.xaxis.set_major_formatter(FuncFormatter(plain_number))
    label_axes(ax, title, xlabel, ylabel)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2,
               fontsize=style.LEGEND_SIZE + 1, frameon=False)
    return fig
