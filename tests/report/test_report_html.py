"""report.html is valid, self-contained HTML: every image an embedded PNG, no external reference."""

from __future__ import annotations

import base64
import io
import re
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
    assert "| a\\|b | \\<c\\> |" in md
    assert "![\\<cap\\>](figures/f.png)" in md


HOSTILE = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "evil\n# Injected")


class Elements(HTMLParser):
    """Every element and its attributes (to find elements that came from user text)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def check_no_injection(html: str, md: str) -> None:
    """No script element, no event-handler attribute, no heading or tag from the user's text."""
    p = Elements()
    p.feed(html)
    assert not [t for t, _ in p.elements if t == "script"]
    assert not [(t, a) for t, a in p.elements if any(k.startswith("on") for k in a)]
    assert [a.get("src", "")[:22] for t, a in p.elements if t == "img"] == [DATA_PNG] * sum(
        t == "img" for t, _ in p.elements)
    assert not re.search(r"(?<!\\)<", md), "an unescaped < in report.md"
    assert not [line for line in md.splitlines() if line.lstrip().startswith("# Injected")]
    assert md.count("Injected") == md.count("evil \\# Injected")  # the newline collapsed, the # escaped


def test_hostile_text_in_every_block_is_inert(tmp_path: Path) -> None:
    from sim.report.figures import new_figure, save_figure

    fig, _ = new_figure(4, 4)
    save_figure(fig, tmp_path, "f")
    for text in HOSTILE:
        doc = Document(text, [Heading(text), Paragraph(text), Bullets((text,)),
                              Table((text, "b"), ((text, text),), text), FigureRef("f", text, alt=text)])
        html, md = render_html(doc, tmp_path), render_markdown(doc)
        check_no_injection(html, md)
        assert text.replace("\n", " ") in " ".join(parse(html).text).replace("\n", " ")
        assert "evil # Injected" not in md or "evil \\# Injected" in md


def test_run_report_escapes_scenario_text(tmp_path: Path) -> None:
    """A scenario named, described and priced with markup: report.md and report.html show it as text."""
    from click.testing import CliRunner

    from sim.cli import cli

    scenario = tmp_path / "hostile.toml"
    scenario.write_text(f"""
[scenario]
name = "<img src=x onerror=alert(1)> evil\\n# Injected"
description = "{HOSTILE[0]} {HOSTILE[1]} evil\\n# Injected"
horizon = "30m"
replications = 2
seed = 1

[traffic]
arrival_rate = 0.5

[costs]
order_value = 10.0
currency = "<script>alert(1)</script>"

[path]
tiers = ["web"]

[tiers.web]
replicas = 1
service_time = "200ms"
mtbf = "20m"
mttr = "2m"
""")
    out = tmp_path / "plots"
    result = CliRunner().invoke(cli, ["run", str(scenario), "--workers", "1", "--plot", str(out)])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    check_no_injection(html, md)
    text = " ".join(parse(html).text)
    assert "<img src=x onerror=alert(1)>" in text  # shown to the reader as the text it is
    assert "\\<img src=x onerror=alert(1)\\>" in md
