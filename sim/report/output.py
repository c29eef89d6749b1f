"""Writing a report's files: every figure as PNG and SVG, then ``report.html`` and ``report.md``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from sim.report.document import Document
from sim.report.figures import save_figure
from sim.report.html import render_html
from sim.report.markdown import render_markdown
from sim.report.style import PNG_DPI
from sim.scenario.io import write_text_atomic


class ReportError(ValueError):
    """A folder that does not hold what a report needs (missing or malformed files)."""


@dataclass(frozen=True)
class ReportFiles:
    """What a report wrote: the HTML and Markdown pages and every figure file (PNG and SVG)."""

    html: Path
    markdown: Path
    figures: tuple[Path, ...]


def read_json(path: Path) -> dict:
    """A stored JSON file, with nulls meaning NaN left as None; clear errors when it is missing."""
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ReportError(f"{path}: missing") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ReportError(f"{path}: cannot read: {err}") from None


def num(x: object) -> float:
    """A stored number: None (NaN in JSON) and "inf" strings become floats."""
    if x is None:
        return math.nan
    if isinstance(x, str):
        return float(x)
    return float(x)


def write_report(doc: Document, figures: Mapping[str, Figure], folder: Path,
                 figure_subdir: str = "figures", dpi: int = PNG_DPI) -> ReportFiles:
    """Save the figures (PNG at ``dpi``, and SVG) into ``folder/figure_subdir``, then the two
    pages into ``folder``."""
    figure_dir = folder / figure_subdir if figure_subdir else folder
    written: list[Path] = []
    for stem, fig in figures.items():
        written.extend(save_figure(fig, figure_dir, stem, dpi))
    missing = [f.stem for f in doc.figures() if f.stem not in figures]
    if missing:
        raise ValueError(f"the document refers to figures that were not drawn: {missing}")
    prefix = f"{figure_subdir}/" if figure_subdir else ""
    html_path = write_text_atomic(folder / "report.html", render_html(doc, figure_dir))
    md_path = write_text_atomic(folder / "report.md", render_markdown(doc, prefix))
    return ReportFiles(html_path, md_path, tuple(written))
