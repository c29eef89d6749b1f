"""A report as a list of plain blocks (headings, text, tables, figures), rendered to HTML or Markdown.

Builders describe *what* a report says once; :mod:`sim.report.html` and
:mod:`sim.report.markdown` decide how it is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of already formatted cells; the first column is the row label."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class FigureRef:
    """A figure saved as ``<stem>.png`` and ``<stem>.svg`` in the report's figure folder."""

    stem: str
    caption: str
    alt: str = ""


Block = Heading | Paragraph | Bullets | Table | FigureRef


@dataclass
class Document:
    """A report: a title and blocks in reading order."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def figures(self) -> list[FigureRef]:
        return [b for b in self.blocks if isinstance(b, FigureRef)]
