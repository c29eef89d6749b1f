"""report.html is valid, self-contained HTML: every image an embedded PNG, no external reference."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

from sim.report.document import Bullets, Document, FigureRef, Heading, Paragraph, Table
from sim.report.html import render_html
from sim.report.markdown import render_markdown

from .helpers import PNG_MAGIC

DATA_PNG = "data:image/png;base64,"
URL_ATTRIBUTES = {"src", "href", "srcset", "poster", "data", "action", "background"}


class Collector(HTMLParser):
    """Tags, image sources, and every attribute that could reference another resource."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []
        self.images: list[str] = []
        self.references: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in {"img", "meta", "br", "hr", "link", "input"}:
            self.open.append(tag)
        for name, value in attrs:
            if tag == "img" and name == "src":
                self.images.append(value or "")
            elif name in URL_ATTRIBUTES:
                self.references.append((tag, name, value or ""))

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collector:
    c = Collector()
    c.feed(html)
    c.close()
    assert not c.open, f"unclosed tags: {c.open}"
    return c


def check_self_contained(html: str, figures: int) -> Collector:
    c = parse(html)
    assert c.tags[:3] == ["html", "head", "meta"]
    assert "link" not in c.tags and "script" not in c.tags and "iframe" not in c.tags
    assert c.references == [], c.references  # no href, no src other than the images' data URIs
    assert "url(" not in html  # no CSS references either
    assert len(c.images) == figures
    for src in c.images:
        assert src.startswith(DATA_PNG)
        png = base64.b64decode(src[len(DATA_PNG):], validate=True)
        assert png[:8] == PNG_MAGIC
        with Image.open(io.BytesIO(png)) as im:
            im.verify()  # a broken PNG raises
        with Image.open(io.BytesIO(png)) as im:
            assert im.size[0] > 300 and im.size[1] > 300
    return c


def test_comparison_html_is_self_contained(comparison_dir: Path) -> None:
    html = (comparison_dir / "report.html").read_text(encoding="utf-8")
    figures = len(list((comparison_dir / "figures").glob("*.png")))
    c = check_self_contained(html, figures)
    assert c.tags.count("table") >= 3  # summary + one paired table per other scenario
    text = " ".join(c.text)
    assert "Differences against r1" in text and "Incident timelines" in text


def test_embedded_images_are_the_figure_files(comparison_dir: Path) -> None:
    html = (comparison_dir / "report.html").read_text(encoding="utf-8")
    embedded = {base64.b64decode(src[len(DATA_PNG):]) for src in parse(html).images}
    files = {p.read_bytes() for p in (comparison_dir / "figures").glob("*.png")}
    assert embedded == files


def test_html_opens_from_anywhere(comparison_dir: Path, tmp_path: Path) -> None:
    """Moved away from its folder, the page still has every image (nothing refers to figures/)."""
    moved = tmp_path / "alone.html"
    moved.write_bytes((comparison_dir / "report.html").read_bytes())
    c = parse(moved.read_text(encoding="utf-8"))
    assert c.references == [] and all(src.startswith(DATA_PNG) for src in c.images)


def test_markdown_refers_to_the_png_files(comparison_dir: Path) -> None:
    md = (comparison_dir / "report.md").read_text(encoding="utf-8")
    for png in (comparison_dir / "figures").glob("*.png"):
        assert f"](figures/{png.name})" in md
        assert png.with_suffix(".svg").is_file()  # beside it, not linked (copies may omit SVGs)


def test_sweep_and_run_pages_are_self_contained(sweep_dir: Path, tmp_path: Path) -> None:
    from sim.report.sweep_report import build_sweep_report

    files = build_sweep_report(sweep_dir, out=tmp_path / "r")
    check_self_contained(files.html.read_text(encoding="utf-8"),
                         len([p for p in files.figures if p.suffix == ".png"]))


def test_text_is_escaped(tmp_path: Path) -> None:
    from sim.report.figures import new_figure, save_figure

    fig, _ = new_figure(4, 4)
    save_figure(fig, tmp_path, "f")
    doc = Document("a <b> & c", [Heading("h <1>"), Paragraph("x < y & z"), Bullets(("<li>",)),
                                 Table(("a|b", "<c>"), (("1", "2"),), "cap"), FigureRef("f", "<cap>")])
    html = render_html(doc, tmp_path)
    c = check_self_contained(html, 1)
    assert "x < y & z" in " ".join(c.text)
    assert "<b>" not in html.split("<body>")[1]
    md = render_markdown(doc)
    assert "| a\\|b | <c> |" in md
    assert "![<cap>](figures/f.png)" in md
