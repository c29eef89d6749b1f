"""Figures and a report from a sweep folder written by ``sim sweep`` (no simulation).

Reads ``manifest.json`` (the design and every point's values of the swept keys) and
``summary.csv`` (per point: ``<metric>_mean``, ``<metric>_ci_low``, ``<metric>_ci_high``), and
draws: each metric against each swept key with 95% CI bands (one line per value of another
key), heatmaps over two keys, and a cost frontier (infrastructure cost against lost revenue)
with the cheapest point that meets an objective highlighted. Reading the folder and objectives:
:mod:`sim.report.sweep_data`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim.experiment.blanks import Blank, blank
from sim.report import style
from sim.report.document import Bullets, Document, FigureRef, Heading, Paragraph, Table
from sim.report.output import ReportError, ReportFiles, write_report
from sim.report.sweep_data import (
    DEFAULT_OBJECTIVE,
    Choice,
    Condition,
    SweepData,
    SweepPoint,
    choose,
    distinct,
    key_axis,
    key_value_text,
    load_sweep,
    parse_objective,
    point_label,
    status,
)
from sim.report.sweep_figures import FrontierPoint, Line, frontier_figure, heatmap_figure, lines_figure

#: Metrics drawn against the swept keys unless others are asked for.
DEFAULT_METRICS: tuple[str, ...] = (
    "lost_checkouts", "deferred_checkouts", "availability", "mean_recovery_time_s",
    "mean_service_recovery_time_s", "latency_p95_s", "lost_revenue", "infrastructure_cost",
)
HEATMAP_METRICS: tuple[str, ...] = ("lost_checkouts", "mean_service_recovery_time_s")
MAX_TABLE_ROWS = 60


# ---------------------------------------------------------------------------------------------
# Figures.


def _fixed(data: SweepData, free: Sequence[str]) -> dict[str, object]:
    """Values the other keys are held at when drawing against ``free`` keys: each one's first value."""
    return {k: distinct(data, k)[0] for k in data.keys if k not in free}


def _fixed_note(data: SweepData, fixed: dict[str, object]) -> str:
    if not fixed:
        return ""
    return "other keys held at: " + ", ".join(f"{k} = {key_value_text(data, k, v)}" for k, v in fixed.items())


def _group_key(data: SweepData, key: str) -> str | None:
    """Another key to draw one line per value of: the one with the fewest values (≤ 8)."""
    others = [k for k in data.keys if k != key and 1 < len(distinct(data, k)) <= 8]
    return min(others, key=lambda k: len(distinct(data, k))) if others else None


def metric_lines(data: SweepData, metric: str, key: str) -> tuple[list[Line], str, str]:
    """Lines of ``metric`` against ``key`` (one per value of a group key), the legend title and a
    note naming the keys held fixed."""
    ms = style.metric_style(metric)
    axis = key_axis(data, key)
    if not data.factorial:  # sampled designs: every point, grouped by a grid key if there is one
        grid_keys = [k for k in data.manifest.get("design", {}).get("grid", {}) if k != key] + \
            [k for k in data.manifest.get("design", {}).get("range", {}) if k != key]
        group = grid_keys[0] if grid_keys else None
        groups = distinct(data, group) if group else [None]
        lines = []
        for g in groups:
            pts = [p for p in data.points if group is None or p.values[group] == g]
            lines.append(Line(key_value_text(data, group, g) if group else ms.label,
                              tuple(axis.position(p.values[key]) for p in pts),
                              tuple(p.metrics[metric].scaled(ms.plot_scale) for p in pts)))
        varying = len(data.keys) > 1 + bool(group)
        note = "sampled design: the other keys vary between points" if varying else ""
        return lines, group or "", note
    group = _group_key(data, key)
    fixed = _fixed(data, [key] + ([group] if group else []))
    lines = []
    for g in distinct(data, group) if group else [None]:
        pts = [p for p in data.points
               if (group is None or p.values[group] == g) and all(p.values[k] == v for k, v in fixed.items())]
        pts.sort(key=lambda p: axis.position(p.values[key]))
        lines.append(Line(key_value_text(data, group, g) if group else ms.label,
                          tuple(axis.position(p.values[key]) for p in pts),
                          tuple(p.metrics[metric].scaled(ms.plot_scale) for p in pts)))
    return lines, group or "", _fixed_note(data, fixed)


def key_figure(data: SweepData, key: str, metrics: Sequence[str]) -> Figure:
    """Every metric against one swept key, a panel per metric, 95% CI bands."""
    axis = key_axis(data, key)
    panels = []
    legend_title = ""
    note = ""
    for m in metrics:
        ms = style.metric_style(m)
        lines, legend_title, note = metric_lines(data, m, key)
        panels.append((ms.label, axis.label, ms.axis_label(data.currency), lines))
    title = f"Metrics against {key} (mean, 95% CI)"
    values = distinct(data, key)
    ticks = [(axis.position(v), axis.text(v)) for v in values] if len(values) <= 12 else None
    if ticks and axis.duration:  # the ticks carry their own unit ("5 min", "2 h")
        panels = [(t, key, y, lines) for t, _, y, lines in panels]
    return lines_figure(title, panels, legend_title=legend_title, note=note, points_only=not data.factorial,
                        ticks=ticks)


def heatmap(data: SweepData, metric: str, x_key: str, y_key: str) -> Figure:
    ms = style.metric_style(metric)
    xs, ys = distinct(data, x_key), distinct(data, y_key)
    fixed = _fixed(data, [x_key, y_key])
    matrix = np.full((len(ys), len(xs)), math.nan)
    text = [["" for _ in xs] for _ in ys]
    for p in data.points:
        if any(p.values[k] != v for k, v in fixed.items()):
            continue
        r, c = ys.index(p.values[y_key]), xs.index(p.values[x_key])
        e = p.metrics[metric]
        matrix[r, c] = e.mean * ms.plot_scale
        text[r][c] = ms.text(e.mean, data.currency) if ms.kind != "count" else style.count(e.mean)
    ax_x, ax_y = key_axis(data, x_key), key_axis(data, y_key)
    return heatmap_figure(f"{ms.label}: mean per point", ax_x.key if ax_x.duration else ax_x.label,
                          ax_y.key if ax_y.duration else ax_y.label,
                          [ax_x.text(v) for v in xs], [ax_y.text(v) for v in ys], matrix,
                          ms.axis_label(data.currency), text, _fixed_note(data, fixed))


def frontier(data: SweepData, objective: Sequence[Condition], objective_text: str) -> Figure:
    chosen = choose(data, objective).chosen
    pts = [FrontierPoint(str(p.index), p.metrics["infrastructure_cost"],
                         p.metrics["lost_revenue"], status(p, objective)) for p in data.points]
    index = None if chosen is None else [p.index for p in data.points].index(chosen.index)
    currency = data.currency
    horizon = style.hours(data.horizon_s) if not math.isnan(data.horizon_s) else "replication"
    return frontier_figure(f"Cost frontier: infrastructure cost vs lost revenue per {horizon} replication",
                           f"infrastructure cost ({currency} per replication)",
                           f"lost revenue ({currency} per replication)", pts, index, objective_text)


def choice_sentences(data: SweepData, choice: Choice, objective_text: str) -> list[str]:
    """What the sweep says about the cheapest point meeting the objective, uncertainty included."""
    money = style.money
    cur = data.currency

    def cost(p: SweepPoint) -> str:
        return money(p.metrics["infrastructure_cost"].mean, cur)

    def ids(points: Sequence[SweepPoint]) -> str:
        return ", ".join(str(p.index) for p in points[:12]) + (" …" if len(points) > 12 else "")

    out = []
    if choice.chosen is None:
        out.append(f"No point meets {objective_text} with 95% confidence (at the unfavourable end of "
                   f"its confidence interval).")
    else:
        c = choice.chosen
        loss = c.metrics.get("lost_revenue")
        loss_text = f", lost revenue {money(loss.mean, cur)}" if loss is not None else ""
        out.append(f"Cheapest point meeting {objective_text} with 95% confidence (the interval's "
                   f"unfavourable end, not only the mean, meets it): point {c.index} "
                   f"({point_label(data, c)}), infrastructure cost {cost(c)}{loss_text} per replication.")
        if choice.runner_up is not None:
            r = choice.runner_up
            if choice.within_noise:
                out.append(f"Within noise: the runner-up, point {r.index} ({point_label(data, r)}, "
                           f"{cost(r)}), cannot be told apart from it (their confidence intervals of cost "
                           f"and lost revenue overlap); more replications would separate them.")
            else:
                out.append(f"Runner-up: point {r.index} ({point_label(data, r)}), {cost(r)}; clearly "
                           f"more expensive (the intervals do not overlap).")
    if choice.uncertain_cheaper:
        which = "Cheaper points that" if choice.chosen is not None else "Points that"
        out.append(f"{which} meet it on their mean but not with confidence (the interval crosses the "
                   f"threshold): {ids(choice.uncertain_cheaper)}; more replications would tell whether "
                   f"they meet it.")
    return out


# ---------------------------------------------------------------------------------------------
# The report.


def sweep_document(data: SweepData, objective_text: str = DEFAULT_OBJECTIVE,
                   metrics: Sequence[str] | None = None) -> tuple[Document, dict[str, Figure]]:
    """The sweep report's text, tables and figures (nothing is written)."""
    m = data.manifest
    if not data.metrics and "selection" in m:  # a selection that ran no replication (the SLO constraint)
        doc = Document(f"Sweep {m.get('name', data.folder.name)}")
        doc.add(Paragraph(f"{len(data.points)} points, seed {m.get('seed')}; no replication was run."),
                *selection_section(m["selection"]), Bullets((f"Source: {data.folder}",)))
        return doc, {}
    objective = parse_objective(objective_text, data.metrics)
    if metrics:
        unknown = [m for m in metrics if m not in data.metrics]
        if unknown:
            raise ReportError(f"--metric {unknown[0]}: not in summary.csv; "
                              f"metrics: {', '.join(data.metrics)}")
    chosen_metrics = [m for m in (metrics or DEFAULT_METRICS) if m in data.metrics
                      and any(not math.isnan(p.metrics[m].mean) for p in data.points)]
    undrawn = [f"{style.metric_style(m).label}: not drawn ({b.words}): {b.reason}"
               for m in (metrics or DEFAULT_METRICS) if m in data.metrics and m not in chosen_metrics
               and (b := point_blank(data, data.points[0], m)) is not None]
    doc = Document(f"Sweep {m.get('name', data.folder.name)}")
    figures: dict[str, Figure] = {}
    design = ", ".join(f"{k} ({len(distinct(data, k))} values)" for k in data.keys)
    size = (f"replications decided by KN++ (at most {m.get('replications')} per point)" if "selection" in m
            else f"{m.get('replications')} replications")
    doc.add(Paragraph(
        f"{len(data.points)} points × {size}, seed {m.get('seed')}, on "
        f"common random numbers (replication i of every point uses the same streams). Swept: {design}. "
        f"Values are means per replication with 95% confidence intervals, read from summary.csv; "
        f"nothing was simulated to draw this report."))
    if "selection" in m:
        doc.add(*selection_section(m["selection"]))

    doc.add(Heading("Metrics against each swept key"))
    if undrawn:
        doc.add(Bullets(tuple(undrawn)))
    for key in data.keys:
        stem = "metrics-vs-" + re.sub(r"[^A-Za-z0-9_-]+", "_", key)
        figures[stem] = key_figure(data, key, chosen_metrics)
        doc.add(FigureRef(stem, f"Each metric against {key}: mean with a shaded 95% CI band"
                          + ("" if data.factorial else " (error bars: sampled points)")
                          + "; one line per value of another swept key where there is one."))

    if data.factorial and len(data.keys) >= 2:
        x_key, y_key = data.keys[0], data.keys[1]
        doc.add(Heading(f"Heatmaps over {x_key} and {y_key}"))
        for metric in HEATMAP_METRICS:
            if metric in data.metrics:
                stem = f"heatmap-{metric}"
                figures[stem] = heatmap(data, metric, x_key, y_key)
                doc.add(FigureRef(stem, f"Mean {style.metric_style(metric).label.lower()} for every "
                                  f"combination of {x_key} and {y_key}."))

    if {"infrastructure_cost", "lost_revenue"} <= set(data.metrics):
        figures["cost-frontier"] = frontier(data, objective, objective_text)
        doc.add(Heading("Cost frontier"), FigureRef(
            "cost-frontier", "Infrastructure cost against lost revenue per point (95% CI bars). Filled "
            "circles meet the objective at the unfavourable end of their 95% CI, open circles only on "
            "their mean, open squares miss it; numbers are point ids (see the table below; a label that "
            "would overlap another is left out); the dashed line joins the points no other point beats "
            "on both; the star is the cheapest point that meets the objective with confidence."))
        costs = [p.metrics["infrastructure_cost"].mean for p in data.points]
        if all(c == 0 for c in costs):
            doc.add(Paragraph("Every point's infrastructure cost is 0: set "
                              "tiers.<tier>.replica_cost_per_hour in the scenario to price replicas."))
    if "infrastructure_cost" in data.metrics:
        doc.add(Bullets(tuple(choice_sentences(data, choose(data, objective), objective_text))))

    doc.add(Heading("Points"), point_table(data, objective, chosen_metrics))
    if len(data.points) > MAX_TABLE_ROWS:
        doc.add(Paragraph(f"First {MAX_TABLE_ROWS} of {len(data.points)} points; summary.csv has them all."))
    doc.add(Bullets((f"Objective: {', '.join(str(c) for c in objective)}; a point meets it with 95% "
                     f"confidence when the unfavourable end of each metric's interval does.",
                     f"Source: {data.folder}")))
    return doc, figures


def selection_section(section: dict) -> list:
    """The decision of ``sim sweep --select`` (the manifest's ``selection``): its statement and,
    per candidate point, the replications KN++ used, the mean and how it ended."""
    out: list = [Heading("Pick the best (KN++)"), Paragraph(str(section.get("statement", "")))]
    points = section.get("points") or []
    if points:
        way = "maximised" if section.get("maximize") else "minimised"
        out.append(Paragraph(
            f"Kim and Nelson's fully sequential KN++ on {section.get('metric')} ({way}), indifference zone "
            f"δ = {section.get('delta'):g}, first stage {section.get('n0')} replications, "
            f"{section.get('confidence', 0.95):.0%} confidence, common random numbers"
            + (", among the points meeting the SLO constraint" if section.get("constrained") else "")
            + "; summary.csv and the figures and tables here hold the replications it used per point."))
        best = section.get("best_point") if section.get("stopped") == "selected" else None

        def status(p: dict) -> str:
            return "best" if p["point"] == best else "in contention" if p["in_contention"] else \
                f"eliminated at stage {p['eliminated_at']}"

        rows = tuple((str(p.get("name", p["point"])), str(p["replications"]), f"{p['mean']:.6g}", status(p))
                     for p in points)
        out.append(Table(("point", "replications", f"mean {section.get('metric')}", "status"), rows,
                         "Candidate points"))
    return out


def point_table(data: SweepData, objective: Sequence[Condition], metrics: Sequence[str]) -> Table:
    shown = [m for m in ("lost_checkouts", "availability", "mean_service_recovery_time_s",
                         "lost_revenue", "infrastructure_cost") if m in metrics]
    header = ("point", *data.keys, *(style.metric_style(m).label for m in shown), "meets objective")
    rows = []
    verdict = {"meets": "yes (95% CI)", "uncertain": "on the mean only", "misses": "no"}
    for p in data.points[:MAX_TABLE_ROWS]:
        cells = [str(p.index), *(key_value_text(data, k, p.values[k]) for k in data.keys)]
        for m in shown:
            e = p.metrics[m]
            ms = style.metric_style(m)
            missing = point_blank(data, p, m)
            if missing is not None:
                cells.append(missing.words)
                continue
            ci = "" if math.isnan(e.low) or e.low == e.high else \
                f" ({ms.text(e.low, data.currency)} – {ms.text(e.high, data.currency)})"
            cells.append(ms.text(e.mean, data.currency) + ci)
        cells.append(verdict[status(p, objective)])
        rows.append(tuple(cells))
    return Table(header, tuple(rows), "Mean per replication (95% confidence interval)")


def point_blank(data: SweepData, point: SweepPoint, metric: str) -> Blank | None:
    """Why a point's metric has no value (:mod:`sim.experiment.blanks`), from its estimator and
    summary.csv's means; None when it has one."""
    methods = data.manifest.get("methods") or []
    method = str(methods[point.index]) if point.index < len(methods) else "crude"
    stored = {m: {"mean": None if math.isnan(e.mean) else e.mean} for m, e in point.metrics.items()}
    return blank(metric, method, stored, point.replications or None)


def build_sweep_report(folder: Path, out: Path | None = None, objective: str = DEFAULT_OBJECTIVE,
                       metrics: Sequence[str] | None = None, dpi: int = style.PNG_DPI) -> ReportFiles:
    """Read a sweep folder and write its report into ``out`` (default: ``folder/report``)."""
    data = load_sweep(Path(folder))
    doc, figures = sweep_document(data, objective, metrics)
    return write_report(doc, figures, Path(out) if out else Path(folder) / "report", dpi=dpi)
