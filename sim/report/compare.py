"""A comparison report of several architectures, built only from a comparison folder's stored JSON.

See :mod:`sim.report.collect` for the folder's layout and :mod:`sim.report.comparison` for its
numbers. :func:`build_compare_report` reads the folder and writes ``report.html``
(self-contained), ``report.md`` and ``figures/*.png|svg`` into it, so a report can be re-drawn at
any time without simulating again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from sim.report import style
from sim.report.comparison import (
    StoredRun,
    blank_reasons,
    difference_sentences,
    load_comparison,
    paired_rows,
    paired_table,
    summary_table,
    table_metrics,
)
from sim.report.document import Bullets, Document, FigureRef, Heading, Paragraph
from sim.report.figures import BarPanel, EcdfPanel, bar_figure, ecdf_figure
from sim.report.output import ReportFiles, write_report
from sim.report.timeline_plot import timeline_figure, timeline_limits
from sim.report.timeline_text import shown_text, timeline_caption, timeline_title
from sim.theory.floor import FLOOR_EXPLAINED, floor_comparison

# ---------------------------------------------------------------------------------------------
# Figures.


def _bar_notes(runs: Sequence[StoredRun], metrics: Sequence[str], scale: float = 1.0,
               fmt: str = "{:,.1f}") -> dict[str, list[str]]:
    """The mean written above each bar (or why there is none)."""
    notes = {}
    for r in runs:
        texts = []
        for m in metrics:
            e = r.estimate(m)
            n, reps = r.n(m), int(r.result["replications"])
            missing = r.blank(m) if math.isnan(e.mean) else None
            if missing is not None:
                texts.append(missing.words.replace(" by ", "\nby ", 1))
            else:
                v = e.mean * scale
                # whole numbers hide small means (1.5 lost checkouts is not "2"): 3 digits below 100
                text = fmt.format(v) if abs(v) >= 100 or v == 0 else f"{v:.3g}"
                texts.append(text + (f"\n(n = {n})" if 0 < n < reps else ""))
        notes[r.label] = texts
    return notes


def checkout_figure(runs: Sequence[StoredRun]) -> Figure:
    panels = [
        BarPanel(style.metric_style(m).label, f"{style.metric_style(m).label.lower()} per replication",
                 (style.metric_style(m).label.lower(),), {r.label: [r.estimate(m)] for r in runs},
                 _bar_notes(runs, [m], fmt="{:,.0f}"))
        for m in ("lost_checkouts", "deferred_checkouts")
    ]
    horizon = style.hours(runs[0].horizon_s)
    return bar_figure(f"Lost and deferred checkouts per {horizon} replication (mean, 95% CI)", panels,
                      width_in=11.0)


def recovery_figure(runs: Sequence[StoredRun]) -> Figure:
    metrics = ("mean_recovery_time_s", "mean_service_recovery_time_s")
    panel = BarPanel(
        "Mean recovery time per incident", "recovery time (min)",
        ("infrastructure recovery\n(path down → up)", "service recovery\n(first failure → 99% success)"),
        {r.label: [r.estimate(m).scaled(1 / 60) for m in metrics] for r in runs},
        _bar_notes(runs, metrics, 1 / 60, "{:,.1f}"),
    )
    return bar_figure("Recovery times (mean over replications, 95% CI)", [panel], width_in=10.0,
                      height_in=5.0)


def cost_figure(runs: Sequence[StoredRun]) -> Figure:
    currency = runs[0].currency
    panels = [
        BarPanel(style.metric_style(m).label, f"{style.metric_style(m).label.lower()} ({currency})",
                 (style.metric_style(m).label.lower(),), {r.label: [r.estimate(m)] for r in runs},
                 _bar_notes(runs, [m], fmt="{:,.0f}"))
        for m in ("lost_revenue", "infrastructure_cost")
    ]
    return bar_figure(f"Money per {style.hours(runs[0].horizon_s)} replication (mean, 95% CI)", panels,
                      width_in=11.0)


def recovery_ecdf_figure(runs: Sequence[StoredRun]) -> Figure:
    outages = {r.label: r.outage_lengths_s() for r in runs}
    incidents = {r.label: r.service_incident_lengths_s() for r in runs}
    if all(v is not None for v in incidents.values()):
        service_panel = EcdfPanel("Service recovery: each incident, all replications",
                                  "first failed attempt → 1-min success rate ≥ 99% (min)",
                                  "fraction of incidents ≤ x", incidents, 1 / 60, "no incidents")
    else:  # results stored without incident windows
        service = {r.label: r.values("mean_service_recovery_time_s") for r in runs}
        service_panel = EcdfPanel("Service recovery: mean per replication",
                                  "mean service recovery time (min)", "fraction of replications ≤ x",
                                  service, 1 / 60, "no incidents")
    return ecdf_figure("Distribution of recovery times", [
        EcdfPanel("Infrastructure recovery: each outage, all replications",
                  "outage length, path down → up (min)", "fraction of outages ≤ x", outages, 1 / 60,
                  "no outages"),
        service_panel,
    ])


def timeline_figures(runs: Sequence[StoredRun], replications: int) -> dict[str, Figure]:
    timelines = [r.timeline_record["timeline"] for r in runs if r.timeline_record]
    limits = timeline_limits(timelines)
    figs = {}
    for r in runs:
        if not r.timeline_record:
            continue
        rec = r.timeline_record
        title = timeline_title(r.label, rec, style.hours(r.horizon_s))
        figs[f"timeline-{r.label}"] = timeline_figure(rec["timeline"], title, r.horizon_s, r.warmup_s, limits)
    return figs


# ---------------------------------------------------------------------------------------------
# The report.


def _header(entry: dict) -> str:
    """The header `sim compare` printed for the scenario (it knows the overrides), without the name."""
    text = entry.get("header") or ""
    return text.removeprefix(f"{entry.get('name', '')}: ")


def _describe(run: StoredRun) -> str:
    from sim.scenario import describe, scenario_from_dict

    try:
        text = describe(scenario_from_dict(run.result["scenario"], source=run.label))
    except Exception:  # a result stored by another version still gets a report, with its name
        return run.result["scenario"]["scenario"].get("name", run.label)
    return text.removeprefix(f"{run.result['scenario']['scenario'].get('name', '')}: ")


def comparison_document(manifest: dict, runs: Sequence[StoredRun]) -> tuple[Document, dict[str, Figure]]:
    """The report's text, tables and figures (nothing is written)."""
    base = runs[0]
    labels = [r.label for r in runs]
    reps = manifest["replications"]
    doc = Document(f"Comparison: {' vs '.join(labels)}")
    figures: dict[str, Figure] = {}
    horizons = {r.horizon_s for r in runs}
    horizon_text = style.hours(base.horizon_s) if len(horizons) == 1 else "each scenario's horizon"
    doc.add(
        Paragraph(
            f"{len(runs)} scenarios, {reps} replications each, seed {manifest['seed']}, on common random "
            f"numbers: replication i of every scenario draws from the same random streams, so the "
            f"differences below are paired. Values are means per replication ({horizon_text} of simulated "
            f"time) with 95% Student-t confidence intervals. The baseline is {base.label}. Built from the "
            f"stored results in this folder by outagesim {manifest.get('version', '?')}."
        ),
        Heading("Scenarios"),
        Bullets(tuple(f"{r.label}: {_header(entry) or _describe(r)}"
                      for r, entry in zip(runs, manifest["scenarios"], strict=True))),
    )
    if manifest.get("command"):
        doc.add(Paragraph(f"Command: {manifest['command']}"))
    if len(horizons) > 1:
        doc.add(Paragraph("Note: the scenarios have different horizons; counts per replication are "
                          "not directly comparable."))

    doc.add(Heading("Summary"), summary_table(runs),
            Paragraph("Availability is the fraction of measured time every tier on the path had enough "
                      "healthy replicas; in nines, 0.999 is 3. Infrastructure recovery time is the mean "
                      "length of path outages; service recovery time runs from the first failed attempt of "
                      "an incident until the 1-minute success rate is back to 99%. A metric without a "
                      "value says why: not estimated by the method that ran, or nothing to measure (a "
                      "recovery time needs a recovered outage)."))
    reasons = blank_reasons(runs, table_metrics(runs))
    if reasons:
        doc.add(Bullets(tuple(reasons)))

    doc.add(Heading("Analytic floor", 3),
            Bullets(tuple(floor_comparison(labels, [r.result["scenario"] for r in runs],
                                           [r.result["metrics"] for r in runs]))),
            Paragraph(FLOOR_EXPLAINED))

    rows = paired_rows(runs)
    if len(runs) > 1:
        doc.add(Heading(f"Differences against {base.label}"),
                Paragraph(f"Each difference is (scenario − {base.label}) per replication, paired by "
                          f"replication index; its 95% confidence interval excludes zero when the "
                          f"difference is significant. Each interval is a separate 95% interval: among many "
                          f"comparisons, about one in twenty can exclude zero by chance."))
        for r in runs[1:]:
            doc.add(Heading(f"{r.label} vs {base.label}", 3),
                    Bullets(tuple(difference_sentences(rows, r.label, base.label, base.currency))),
                    paired_table(rows, r.label, base.label, base.currency))

    figures["checkouts"] = checkout_figure(runs)
    figures["recovery_times"] = recovery_figure(runs)
    every_outage = all(r.method == "crude" for r in runs)  # only the full model records every outage
    if every_outage:
        figures["recovery_ecdf"] = recovery_ecdf_figure(runs)
    doc.add(Heading("Lost and deferred checkouts"),
            FigureRef("checkouts", "Lost checkouts (customers who gave up or ran out of attempts) and "
                      "deferred checkouts (completed only after a failed attempt), mean per replication "
                      "with 95% confidence intervals."),
            Heading("Recovery"),
            FigureRef("recovery_times", "Mean infrastructure recovery time (path down until up again) and "
                      "service recovery time (first failed attempt until the 1-minute success rate is back "
                      "to 99%) per incident, with 95% confidence intervals."))
    if not every_outage:
        doc.add(Paragraph(f"No distribution of recovery times: it needs every outage of every replication, "
                          f"which only the full model (method crude) records; the means above are method "
                          f"{runs[0].method}'s."))
    else:
        doc.add(FigureRef(
            "recovery_ecdf", "Left: the empirical CDF of every outage's length (path down → up) over all "
            "replications — how long customers' checkout path was actually broken, outage by outage (n = "
            "outages). Right: "
            + ("the empirical CDF of every service incident's length (first failed attempt → 1-minute "
               "success rate back to 99%) over all replications (n = incidents)"
               if all(r.service_incident_lengths_s() is not None for r in runs) else
               "the per-replication mean service recovery time (n = replications with an incident)")
            + ". A curve further left recovers faster."))
    money = ("lost_revenue", "infrastructure_cost")
    if any(r.has(m) and (r.estimate(m).mean or 0) > 0 for r in runs for m in money):
        figures["costs"] = cost_figure(runs)
        doc.add(Heading("Money"),
                FigureRef("costs", f"Lost revenue (lost checkouts × order value) and infrastructure cost "
                          f"(replica-hours × cost per replica-hour) in {base.currency}, mean per "
                          f"replication with 95% confidence intervals."))

    timelines = timeline_figures(runs, reps)
    figures.update(timelines)
    if timelines:
        first = next(r.timeline_record for r in runs if r.timeline_record)
        doc.add(Heading("Incident timelines"),
                Paragraph(f"The same replication index for each scenario (common random numbers): "
                          f"{shown_text(first)}. Shaded: the checkout path is down (an outage); hatched: "
                          "the status page shows an incident. Axes are shared across scenarios."))
        for r in runs:
            if r.timeline_record:
                doc.add(Heading(r.label, 3),
                        FigureRef(f"timeline-{r.label}", f"{r.label}: {timeline_caption(r.timeline_record)} "
                                  "Share of checkout attempts that succeed, lost checkouts per minute, p95 "
                                  "latency and healthy replicas per tier over time."))
    doc.add(Heading("Files"), Bullets((
        "results/<scenario>.json: each scenario's result, exactly as `sim run --json` writes it (every "
        "replication's metrics included).",
        "timelines/<scenario>.json: the shown replication's timeline, why it was chosen, and the outage "
        "and status-page windows of " + ("every replication." if every_outage else "that replication."),
        "figures/<name>.png and figures/<name>.svg: every figure, for slides (PNG) and print (SVG).",
        "Re-draw this report from these files, without simulating: sim report <this folder>.",
    )))
    return doc, figures


def build_compare_report(folder: Path, dpi: int = style.PNG_DPI) -> ReportFiles:
    """Read a comparison folder and write its report (``report.html``, ``report.md``, ``figures/``)."""
    folder = Path(folder)
    manifest, runs = load_comparison(folder)
    doc, figures = comparison_document(manifest, runs)
    return write_report(doc, figures, folder, dpi=dpi)
