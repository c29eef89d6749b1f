"""A self-contained ``report.html``: inline CSS, every figure embedded as a base64 PNG data URI.

The file references no other file and no URL, so it opens offline, can be mailed, and survives
being moved away from its folder.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from sim.report.document import Block, Bullets, Document, FigureRef, Heading, Paragraph, Table

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       max-width: 1200px; margin: 2em auto; padding: 0 1.5em; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.8em; border-bottom: 2px solid #0072B2; padding-bottom: .2em; }
h2 { font-size: 1.35em; margin-top: 1.8em; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: .8em 0 1.4em; font-size: .92em; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .4em; }
th, td { border: 1px solid #c8c8c8; padding: .3em .6em; vertical-align: top; }
th { background: #eef3f8; text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; }
td:first-child { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1.2em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
figcaption { font-size: .92em; color: #444; margin-top: .3em; }
"""


def data_uri(png: Path) -> str:
    """A PNG file as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _block(block: Block, figure_dir: Path) -> str:
    esc = html.escape
    if isinstance(block, Heading):
        level = min(max(block.level, 1), 6)
        return f"<h{level}>{esc(block.text)}</h{level}>"
    if isinstance(block, Paragraph):
        return f"<p>{esc(block.text)}</p>"
    if isinstance(block, Bullets):
        items = "".join(f"<li>{esc(item)}</li>" for item in block.items)
        return f"<ul>{items}</ul>"
    if isinstance(block, Table):
        caption = f"<caption>{esc(block.caption)}</caption>" if block.caption else ""
        head = "".join(f"<th>{esc(h)}</th>" for h in block.header)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(block, FigureRef):
        src = data_uri(figure_dir / f"{block.stem}.png")
        alt = esc(block.alt or block.caption)
        return (f'<figure id="{esc(block.stem)}"><img src="{src}" alt="{alt}">'
                f"<figcaption>{esc(block.caption)}</figcaption></figure>")
    raise TypeError(f"unknown block {block!r}")


def render_html(doc: Document, figure_dir: Path) -> str:
    """The document as one HTML page; figures are read from ``figure_dir`` and embedded."""
    body = "\n".join(_block(b, figure_dir) for b in doc.blocks)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(doc.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(doc.title)}</h1>\n{body}\n</body>\n</html>\n"
    )
