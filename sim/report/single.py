"""Figures of one ``sim run`` result (``sim run --plot DIR``), drawn from the files stored in DIR.

``DIR/result.json`` is what ``sim run --json`` writes and ``DIR/timeline.json`` holds the timeline
of the representative replication (see :func:`sim.report.collect.store_run`). The figures are
``timeline.png|svg`` (the incident timeline) and ``summary.png|svg`` (key metrics with 95% CIs).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from sim.report import style
from sim.report.collect import RUN_KIND
from sim.report.comparison import StoredRun, blank_reasons, inside, summary_table, table_metrics
from sim.report.document import Bullets, Document, FigureRef, Paragraph
from sim.report.figures import BarPanel, Estimate, bar_figure
from sim.report.output import ReportError, ReportFiles, read_json, write_report
from sim.report.timeline_plot import timeline_figure
from sim.report.timeline_text import timeline_caption, timeline_title
from sim.theory.floor import FLOOR_EXPLAINED, floor_comparison


def load_run(folder: Path) -> StoredRun:
    folder = Path(folder)
    manifest = read_json(folder / "manifest.json")
    if manifest.get("kind") != RUN_KIND:
        raise ReportError(f"{folder / 'manifest.json'}: not a `sim run --plot` folder")
    result = read_json(inside(folder, manifest["result"]))
    timeline = read_json(inside(folder, manifest["timeline"])) if manifest.get("timeline") else None
    return StoredRun(result["scenario"]["scenario"]["name"], result, timeline)


def _downtime_min(run: StoredRun, metric: str) -> Estimate:
    """Unavailable time per replication, in minutes, from an availability estimate."""
    a = run.estimate(metric)
    measured_min = (run.horizon_s - run.warmup_s) / 60.0
    return Estimate((1 - a.mean) * measured_min, (1 - a.high) * measured_min, (1 - a.low) * measured_min)


def summary_figure(run: StoredRun) -> Figure:
    """Key metrics of one scenario, each panel in its own unit, with 95% CI error bars."""
    label = run.label

    def note(metric: str, e: Estimate, fmt: str) -> str:
        missing = run.blank(metric) if style.is_missing(e.mean) else None
        return fmt.format(e.mean) if missing is None else missing.words.replace(" by ", "\nby ", 1)

    def panel(title: str, ylabel: str, items: list[tuple[str, Estimate]], fmt: str,
              metrics: list[str]) -> BarPanel:
        notes = [note(m, e, fmt) for m, (_, e) in zip(metrics, items, strict=True)]
        return BarPanel(title, ylabel, tuple(n for n, _ in items), {label: [e for _, e in items]},
                        {label: notes})

    tiers = [m for m in run.result["metrics"] if m.startswith("availability_") and m != "availability_nines"]
    panels = [
        panel("Checkouts per replication", "checkouts",
              [("lost", run.estimate("lost_checkouts")), ("deferred", run.estimate("deferred_checkouts"))],
              "{:,.0f}", ["lost_checkouts", "deferred_checkouts"]),
        panel("Unavailable time per replication", "unavailable (min)",
              [("path", _downtime_min(run, "availability"))]
              + [(m.removeprefix("availability_"), _downtime_min(run, m)) for m in tiers], "{:,.1f}",
              ["availability", *tiers]),
        panel("Recovery time per incident", "recovery time (min)",
              [("infrastructure", run.estimate("mean_recovery_time_s").scaled(1 / 60)),
               ("service", run.estimate("mean_service_recovery_time_s").scaled(1 / 60))], "{:,.1f}",
              ["mean_recovery_time_s", "mean_service_recovery_time_s"]),
        panel("Checkout latency", "latency (s)",
              [(q, run.estimate(f"latency_{q}_s")) for q in ("p50", "p95", "p99")], "{:.2f}",
              [f"latency_{q}_s" for q in ("p50", "p95", "p99")]),
    ]
    money = [("lost revenue", run.estimate("lost_revenue")),
             ("infrastructure", run.estimate("infrastructure_cost"))]
    if any(e.mean > 0 for _, e in money):
        panels.append(panel("Money per replication", f"amount ({run.currency})", money, "{:,.0f}",
                            ["lost_revenue", "infrastructure_cost"]))
    reps = run.result["replications"]
    return bar_figure(f"{label}: {reps} replications of {style.hours(run.horizon_s)} (mean, 95% CI)",
                      panels, width_in=14.0, height_in=4.0, ncols=3)


def run_document(run: StoredRun) -> tuple[Document, dict[str, Figure]]:
    """The report of one run: its text, table and figures (nothing is written)."""
    figures = {"summary": summary_figure(run)}
    doc = Document(f"{run.label}: simulation summary")
    doc.add(summary_table([run]), FigureRef("summary", "Key metrics, mean per replication with 95% "
                                            "confidence intervals; unavailable time = (1 − availability) × "
                                            "measured time."),
            Paragraph("Analytic floor: " + floor_comparison([run.label], [run.result["scenario"]],
                                                            [run.result["metrics"]])[0]
                      + ". " + FLOOR_EXPLAINED))
    reasons = blank_reasons([run], table_metrics([run]))
    if reasons:
        doc.add(Bullets(tuple(reasons)))
    if run.timeline_record:
        rec = run.timeline_record
        figures["timeline"] = timeline_figure(rec["timeline"], timeline_title(run.label, rec,
                                                                              style.hours(run.horizon_s)),
                                              run.horizon_s, run.warmup_s)
        doc.add(Paragraph(timeline_caption(rec)),
                FigureRef("timeline", "Share of checkout attempts that succeed, lost checkouts per minute, "
                          "p95 latency and healthy replicas per tier; shaded: path down."))
    return doc, figures


def build_run_report(folder: Path, dpi: int = style.PNG_DPI) -> ReportFiles:
    """Draw ``timeline`` and ``summary`` figures (PNG + SVG) and a short report into ``folder``."""
    folder = Path(folder)
    doc, figures = run_document(load_run(folder))
    return write_report(doc, figures, folder, figure_subdir="", dpi=dpi)
