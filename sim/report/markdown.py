"""``report.md``: the same report as Markdown, with figures referenced as PNG files beside it.

Each figure's SVG sits beside its PNG (same name) but is not linked, so a copy of the report
with its PNGs only (e.g. committed as an example) has no broken link.
"""

from __future__ import annotations

from sim.report.document import Block, Bullets, Document, FigureRef, Heading, Paragraph, Table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _block(block: Block, figure_prefix: str) -> str:
    if isinstance(block, Heading):
        return "#" * min(max(block.level, 1), 6) + " " + block.text
    if isinstance(block, Paragraph):
        return block.text
    if isinstance(block, Bullets):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, Table):
        lines = [f"**{block.caption}**", ""] if block.caption else []
        lines.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
        lines.append("| " + " | ".join(["---"] + ["---:"] * (len(block.header) - 1)) + " |")
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    if isinstance(block, FigureRef):
        alt = (block.alt or block.caption).replace("]", ")").replace("[", "(")
        png = f"{figure_prefix}{block.stem}.png"
        return f"![{alt}]({png})\n\n*{block.caption}*"
    raise TypeError(f"unknown block {block!r}")


def render_markdown(doc: Document, figure_prefix: str = "figures/") -> str:
    """The document as Markdown; figures are linked as ``<figure_prefix><stem>.png``."""
    parts = [f"# {doc.title}"] + [_block(b, figure_prefix) for b in doc.blocks]
    return "\n\n".join(parts) + "\n"
