"""The HTML report in a real headless browser (Chromium from the system's packages).

Install it with `.ci/ensure-chromium`. Without a chromium binary these tests are skipped, unless
OUTAGESIM_REQUIRE_BROWSER=1 (CI), where a missing browser fails them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

pytestmark = pytest.mark.slow

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# appended to a copy of the page: after load, write how many images failed to decode
PROBE = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length;
  var out = document.createElement("pre");
  out.id = "image-check";
  out.textContent = JSON.stringify({images: imgs.length, broken: broken,
                                    widths: imgs.map(function (i) { return i.naturalWidth; })});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("OUTAGESIM_REQUIRE_BROWSER") == "1" or os.environ.get("CI") in ("true", "1"):
        pytest.fail("chromium is not installed (run .ci/ensure-chromium)")
    message = ("SKIPPED: chromium is not installed, so the HTML report is not checked in a browser "
               "(install the chromium package or run .ci/ensure-chromium as root)")
    print(f"\n*** {message} ***", file=sys.stderr)
    pytest.skip(message)


def _run(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def image_check(chromium: str, html: Path, tmp: Path) -> dict:
    probe = tmp / "probe.html"
    probe.write_text(html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    out = _run(chromium, tmp, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    match = re.search(r'<pre id="image-check">([^<]*)</pre>', out.stdout)
    assert match, f"no result from the page: {out.stderr[-2000:]}"
    return json.loads(match.group(1))


def test_report_renders_with_no_broken_image(chromium: str, comparison_dir: Path, tmp_path: Path) -> None:
    html = comparison_dir / "report.html"
    shot = tmp_path / "shot.png"
    out = _run(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", html.as_uri())
    assert shot.is_file(), out.stderr[-2000:]
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 0.05  # not blank
    assert (pixels.mean(axis=2) < 0.5).mean() > 0.005  # some dark text and lines were drawn
    result = image_check(chromium, html, tmp_path)
    figures = len(list((comparison_dir / "figures").glob("*.png")))
    assert result["images"] == figures
    assert result["broken"] == 0
    assert all(w > 300 for w in result["widths"])


def test_image_check_detects_a_broken_image(chromium: str, comparison_dir: Path, tmp_path: Path) -> None:
    """Negative control: a corrupted data URI is reported as broken."""
    text = (comparison_dir / "report.html").read_text(encoding="utf-8")
    start = text.index("data:image/png;base64,") + len("data:image/png;base64,")
    bad = tmp_path / "bad.html"
    bad.write_text(text[:start] + "AAAA" + text[start + 400:], encoding="utf-8")
    result = image_check(chromium, bad, tmp_path)
    assert result["broken"] == 1


def test_sweep_report_renders(chromium: str, sweep_dir: Path, tmp_path: Path) -> None:
    from sim.report.sweep_report import build_sweep_report

    files = build_sweep_report(sweep_dir, out=tmp_path / "r")
    result = image_check(chromium, files.html, tmp_path)
    assert result["broken"] == 0 and result["images"] == len([p for p in files.figures if p.suffix == ".png"])
    shot = tmp_path / "shot.png"
    _run(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", files.html.as_uri())
    assert np.asarray(mpimg.imread(shot)).std() > 0.05
