"""Checks shared by the report tests: valid PNG and SVG files and their embedded labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from matplotlib import image as mpimg
from PIL import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"


def check_png(path: Path, min_px: int = 300) -> dict[str, str]:
    """Assert ``path`` is a decodable PNG of a sensible size; return its text metadata."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    pixels = mpimg.imread(path)
    assert pixels.shape[0] >= min_px and pixels.shape[1] >= min_px, f"{path}: {pixels.shape}"
    assert pixels.std() > 0.01, f"{path} is blank"
    with Image.open(path) as im:
        return dict(im.text)


def check_svg(path: Path) -> str:
    """Assert ``path`` is a well-formed SVG; return its metadata description (title and labels)."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg", f"{path} is not an SVG"
    text = " ".join(t.strip() for t in root.itertext() if t.strip())
    return text


def figure_pair(folder: Path, stem: str) -> tuple[dict[str, str], str]:
    """Both files of a figure are valid; return (PNG metadata, SVG metadata text)."""
    return check_png(folder / f"{stem}.png"), check_svg(folder / f"{stem}.svg")
