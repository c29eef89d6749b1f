"""``report.md``: the same report as Markdown, with figures referenced as PNG files beside it.

Each figure's SVG sits beside its PNG (same name) but is not linked, so a copy of the report
with its PNGs only (e.g. committed as an example) has no broken link.
"""

from __future__ import annotations

import re

from sim.report.document import Block, Bullets, Document, FigureRef, Heading, Paragraph, Table

# Every block's text is plain text (scenario names and descriptions included), never markup:
# characters Markdown or HTML would read as syntax are backslash-escaped, and line breaks are
# collapsed so that no text can start a heading, a list or a tag of its own.
_SPECIAL = re.compile(r"([\\`*_\[\]<>&|#~])")
_BLOCK_START = re.compile(r"^(\s*)([-+]|\d+[.)])(?=\s|$)")  # would start a list item
_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")


def escape(text: str) -> str:
    """``text`` as literal Markdown: metacharacters escaped, every line break turned into a space."""
    flat = _SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)))
    return _BLOCK_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], flat, count=1)


def _cell(text: str) -> str:
    return escape(text)


def _block(block: Block, figure_prefix: str) -> str:
    if isinstance(block, Heading):
        return "#" * min(max(block.level, 1), 6) + " " + escape(block.text)
    if isinstance(block, Paragraph):
        return escape(block.text)
    if isinstance(block, Bullets):
        return "\n".join(f"- {escape(item)}" for item in block.items)
    if isinstance(block, Table):
        lines = [f"**{escape(block.caption)}**", ""] if block.caption else []
        lines.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
        lines.append("| " + " | ".join(["---"] + ["---:"] * (len(block.header) - 1)) + " |")
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    if isinstance(block, FigureRef):
        alt = escape(block.alt or block.caption)
        png = f"{figure_prefix}{block.stem}.png"
        return f"![{alt}]({png})\n\n*{escape(block.caption)}*"
    raise TypeError(f"unknown block {block!r}")


def render_markdown(doc: Document, figure_prefix: str = "figures/") -> str:
    """The document as Markdown; figures are linked as ``<figure_prefix><stem>.png``."""
    parts = [f"# {escape(doc.title)}"] + [_block(b, figure_prefix) for b in doc.blocks]
    return "\n\n".join(parts) + "\n"
