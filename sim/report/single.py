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
from sim.report.comparison import StoredRun, inside, summary_table
from sim.report.document import Document, FigureRef, Paragraph
from sim.report.figures import BarPanel, Estimate, bar_figure
from sim.report.output import ReportError, ReportFiles, read_json, write_report
from sim.report.timeline_plot import timeline_figure
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

    def panel(title: str, ylabel: str, items: list[tuple[str, Estimate]], fmt: str) -> BarPanel:
        notes = ["n/a" if style.is_missing(e.mean) else fmt.format(e.mean) for _, e in items]
        return BarPanel(title, ylabel, tuple(n for n, _ in items), {label: [e for _, e in items]},
                        {label: notes})

    tiers = [m for m in run.result["metrics"] if m.startswith("availability_") and m != "availability_nines"]
    panels = [
        panel("Checkouts per replication", "checkouts",
              [("lost", run.estimate("lost_checkouts")), ("deferred", run.estimate("deferred_checkouts"))],
              "{:,.0f}"),
        panel("Unavailable time per replication", "unavailable (min)",
              [("path", _downtime_min(run, "availability"))]
              + [(m.removeprefix("availability_"), _downtime_min(run, m)) for m in tiers], "{:,.1f}"),
        panel("Recovery time per incident", "recovery time (min)",
              [("infrastructure", run.estimate("mean_recovery_time_s").scaled(1 / 60)),
               ("service", run.estimate("mean_service_recovery_time_s").scaled(1 / 60))], "{:,.1f}"),
        panel("Checkout latency", "latency (s)",
              [(q, run.estimate(f"latency_{q}_s")) for q in ("p50", "p95", "p99")], "{:.2f}"),
    ]
    money = [("lost revenue", run.estimate("lost_revenue")),
             ("infrastructure", run.estimate("infrastructure_cost"))]
    if any(e.mean > 0 for _, e in money):
        panels.append(panel("Money per replication", f"amount ({run.currency})", money, "{:,.0f}"))
    reps = run.result["replications"]
    return bar_figure(f"{label}: {reps} replications of {style.hours(run.horizon_s)} (mean, 95% CI)",
                      panels, width_in=14.0, height_in=4.0, ncols=3)


def build_run_report(folder: Path, dpi: int = style.PNG_DPI) -> ReportFiles:
    """Draw ``timeline`` and ``summary`` figures (PNG + SVG) and a short report into ``folder``."""
    folder = Path(folder)
    run = load_run(folder)
    figures = {"summary": summary_figure(run)}
    doc = Document(f"{run.label}: simulation summary")
    doc.add(summary_table([run]), FigureRef("summary", "Key metrics, mean per replication with 95% "
                                            "confidence intervals; unavailable time = (1 − availability) × "
                                            "measured time."),
            Paragraph("Analytic floor: " + floor_comparison([run.label], [run.result["scenario"]],
                                                            [run.result["metrics"]])[0]
                      + ". " + FLOOR_EXPLAINED))
    if run.timeline_record:
        rec = run.timeline_record
        figures["timeline"] = timeline_figure(
            rec["timeline"], f"{run.label}: incident timeline of replication {rec['replication']}",
            run.horizon_s, run.warmup_s)
        doc.add(Paragraph(f"Timeline of replication {rec['replication']}: {rec.get('rule', '')}."),
                FigureRef("timeline", "Share of checkout attempts that succeed, lost checkouts per minute, "
                          "p95 latency and healthy replicas per tier; shaded: path down."))
    return write_report(doc, figures, folder, figure_subdir="", dpi=dpi)
