"""The report of a metastability map: a heatmap of the probability of getting stuck and the boundary.

The heatmap has the base load across and one row per trigger (magnitude × duration); a cell's
colour is the share of replications still degraded ``stuck_after`` after the trigger ended, its
text that count and the median recovery time of the others. The boundary table gives, per
trigger, the highest load recovered from and the lowest load stuck at (with the exact 95%
interval of the probability there). Pages: report.html and report.md with figures/map.png.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim.report import style
from sim.report.document import Bullets, Document, FigureRef, Heading, Paragraph, Table
from sim.report.figures import label_axes, new_figure
from sim.report.output import ReportFiles, write_report
from sim.scenario import describe
from sim.scenario.durations import format_duration
from sim.sweeps.map_run import MapResult

MAP_FIGURE = "map"


def _share(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0%}"


def _time(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    return "0s" if seconds == 0 else format_duration(round(seconds))


def _load(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0%}"


def map_figure(result: MapResult) -> Figure:
    """Probability of getting stuck: base load across, triggers (magnitude × duration) up."""
    plan = result.plan
    n_load = len(plan.loads)
    rows = [result.points[i:i + n_load] for i in range(0, len(result.points), n_load)]
    matrix = np.array([[c.p_stuck for c in row] for row in rows], dtype=float)
    fig, axes = new_figure(max(7.0, 1.25 * n_load + 4.0), max(4.0, 0.75 * len(rows) + 2.6))
    ax = axes[0, 0]
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap="cividis", vmin=0.0, vmax=1.0, aspect="auto",
                      origin="lower")  # cividis: readable with every common colour-vision deficiency
    ax.set_xticks(range(n_load), [_load(x) for x in plan.loads])
    ax.set_yticks(range(len(rows)), [plan.trigger_label(row[0].magnitude, row[0].duration_s) for row in rows])
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            text = f"{cell.stuck}/{cell.replications} stuck"
            if cell.stuck < cell.replications:
                back = cell.recovery_median_s
                text += "\nback by its end" if back == 0 else f"\nback in {_time(back)}"
            dark = math.isnan(cell.p_stuck) or cell.p_stuck < 0.55
            ax.text(c, r, text, ha="center", va="center", fontsize=style.LEGEND_SIZE,
                    color="white" if dark else "black")
    label_axes(ax, f"{plan.sweep.base.name}: stuck {format_duration(plan.stuck_after_s)} after the trigger "
               f"ended?\n{plan.sweep.replications} replications per cell, {plan.load_model} load",
               f"base load (fraction of the path's capacity, {plan.capacity_per_s:g} checkouts/s)", "trigger")
    ax.grid(False)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("probability of getting stuck", fontsize=style.LABEL_SIZE)
    return fig


def map_document(result: MapResult) -> Document:
    """What the map says, in reading order."""
    plan = result.plan
    doc = Document(f"Metastability map: {plan.sweep.base.name}")
    trigger = ("replicas of a tier down ([[outages]])" if plan.trigger == "outage"
               else "a traffic spike ([[traffic.spikes]])")
    doc.add(Paragraph(describe(plan.sweep.base) + ". The map sets each cell's base load and trigger."),
            Bullets((f"trigger: {trigger}, starting at {format_duration(plan.start_s)}",
                     "stuck: the 1-minute success rate not back to 99% "
                     f"{format_duration(plan.stuck_after_s)} after the trigger ended",
                     f"load model: {plan.load_model}" + (" arrivals" if plan.load_model == "open" else
                                                         " population of clients"),
                     plan.load_text(),
                     f"{plan.sweep.replications} replications per cell (common random numbers), seed "
                     f"{plan.sweep.seed}; intervals: exact (Clopper–Pearson) 95%")),
            FigureRef(MAP_FIGURE, "Share of replications stuck after the trigger; each cell: stuck count "
                      "and the median time until service was back in the others",
                      "heatmap of the probability of getting stuck by base load and trigger"),
            Heading("Boundary"),
            Table(("trigger", "recovers up to load", "stuck from load", "P(stuck) there", "95% interval"),
                  tuple((plan.trigger_label(b.magnitude, b.duration_s), _load(b.recovers_up_to),
                         _load(b.stuck_from), _share(b.p_stuck),
                         "–" if math.isnan(b.ci_low) else f"[{b.ci_low:.0%}, {b.ci_high:.0%}]")
                        for b in result.boundary),
                  "Per trigger: the highest base load recovered from by most replications below the first "
                  "load stuck in at least half of them"),
            Heading("Cells"),
            Table(("trigger", "load", "stuck", "P(stuck)", "95% interval", "median time back", "longest"),
                  tuple((plan.trigger_label(c.magnitude, c.duration_s), _load(c.load),
                         f"{c.stuck}/{c.replications}", _share(c.p_stuck),
                         "–" if math.isnan(c.ci_low) else f"[{c.ci_low:.0%}, {c.ci_high:.0%}]",
                         _time(c.recovery_median_s), _time(c.recovery_max_s)) for c in result.points)))
    return doc


def write_map_report(result: MapResult, folder: str | Path) -> ReportFiles:
    """report.html, report.md and figures/map.png (+ .svg) in ``folder``."""
    return write_report(map_document(result), {MAP_FIGURE: map_figure(result)}, Path(folder))
