"""Reports: tables and figures drawn only from stored results (re-drawn without simulating).

- :mod:`sim.report.collect` runs what a comparison or a ``sim run --plot`` needs and stores it;
- :mod:`sim.report.compare`, :mod:`sim.report.sweep_report` and :mod:`sim.report.single` read a
  folder and write ``report.html`` (self-contained), ``report.md`` and PNG + SVG figures;
- :mod:`sim.report.figures` draws with matplotlib's object API (no pyplot, no global state);
- :mod:`sim.report.style` holds the palette, number formats and metric labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sim.report.output import ReportError, ReportFiles, read_json

__all__ = ["ReportError", "ReportFiles", "build_report", "folder_kind"]


def folder_kind(folder: Path) -> str:
    """"comparison", "run" or "sweep": what a results folder holds (ReportError if none)."""
    from sim.report.collect import COMPARISON_KIND, RUN_KIND

    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        raise ReportError(f"{folder}: no manifest.json; expected a folder written by `sim compare`, "
                          "`sim run --plot` or `sim sweep`")
    manifest = read_json(folder / "manifest.json")
    kind = manifest.get("kind")
    if kind == COMPARISON_KIND:
        return "comparison"
    if kind == RUN_KIND:
        return "run"
    if "design" in manifest and "points" in manifest:
        return "sweep"
    raise ReportError(f"{folder / 'manifest.json'}: not written by `sim compare`, `sim run --plot` or "
                      "`sim sweep`")


def build_report(folder: Path, objective: str | None = None, metrics: Sequence[str] = (),
                 out: Path | None = None, dpi: int | None = None) -> ReportFiles:
    """Draw the report of any results folder from what it stores (PNGs at ``dpi``, default 160).

    ``objective``, ``metrics`` and ``out`` apply to sweep folders only (see
    :func:`sim.report.sweep_report.build_sweep_report`).
    """
    from sim.report.style import PNG_DPI

    dpi = dpi or PNG_DPI
    kind = folder_kind(folder)
    if kind != "sweep" and (objective or metrics or out):
        raise ReportError(f"{folder}: --objective, --metric and --out apply to sweep folders only")
    if kind == "comparison":
        from sim.report.compare import build_compare_report

        return build_compare_report(folder, dpi)
    if kind == "run":
        from sim.report.single import build_run_report

        return build_run_report(folder, dpi)
    from sim.report.sweep_report import DEFAULT_OBJECTIVE, build_sweep_report

    return build_sweep_report(folder, out, objective or DEFAULT_OBJECTIVE, list(metrics) or None, dpi)
