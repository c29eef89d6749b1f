"""Figure builders: labels, units and legends on the Figure objects; PNG + SVG files; no pyplot."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sim.report import figures as F
from sim.report import style
from sim.report import sweep_figures as SF
from sim.report import timeline_plot as T

from .helpers import figure_pair


def _timeline() -> dict:
    n, bucket = 60, 60.0
    ok = [100] * n
    failed = [0] * 20 + [100] * 10 + [0] * 30
    return {
        "bucket_s": bucket,
        "t_s": [i * bucket for i in range(n)],
        "attempts": [a + b for a, b in zip(ok, failed, strict=True)],
        "successes": ok,
        "lost": [0] * 20 + [30] * 10 + [0] * 30,
        "success_rate": [a / (a + b) for a, b in zip(ok, failed, strict=True)],
        "latency_p95_s": [1.5] * 20 + [None] * 10 + [1.5] * 30,
        "healthy_replicas": {"web": [2.0] * n, "payment": [2.0] * 20 + [0.0] * 10 + [2.0] * 30},
        "path_down": [[1200.0, 1800.0]],
        "status_page": [[1300.0, 1900.0]],
    }


def _labels(fig) -> list[tuple[str, str, str]]:
    return [(ax.get_title(loc="left"), ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]


def test_figures_use_the_agg_canvas() -> None:
    fig, axes = F.new_figure(4, 3, 2, 2)
    assert isinstance(fig.canvas, FigureCanvasAgg)
    assert axes.shape == (2, 2)


def test_timeline_figure_labels_windows_and_legend() -> None:
    fig = T.timeline_figure(_timeline(), "demo timeline", horizon_s=3600.0)
    labels = _labels(fig)
    assert [y for _, _, y in labels] == ["success rate (%)", "lost (checkouts/min)", "p95 latency (s)",
                                         "healthy replicas"]
    assert labels[-1][1] == "time (min)"
    assert fig.get_suptitle() == "demo timeline"
    legend_texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "outage: path down (1)" in legend_texts
    assert "status page shows incident (1)" in legend_texts
    tiers = [t.get_text() for t in fig.axes[3].get_legend().get_texts()]
    assert tiers == ["web", "payment"]
    # the outage is shaded on every panel (a Polygon / Rectangle patch per panel)
    for ax in fig.axes:
        assert any(abs(p.get_x() - 20.0) < 1e-9 for p in ax.patches if hasattr(p, "get_x")) or ax.patches


def test_timeline_time_axis_in_hours_for_long_horizons() -> None:
    tl = _timeline()
    fig = T.timeline_figure(tl, "t", horizon_s=2 * 86400.0)
    assert fig.axes[3].get_xlabel() == "time (h)"


def test_bar_figure_error_bars_match_estimates(tmp_path: Path) -> None:
    est = {"a": [F.Estimate(10.0, 8.0, 13.0)], "b": [F.Estimate(4.0, 3.0, 5.0)]}
    panel = F.BarPanel("Lost checkouts", "lost checkouts per replication", ("lost",), est)
    fig = F.bar_figure("bars", [panel])
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [10.0, 4.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]  # one group: scenarios on x
    # the error bar of the first bar spans the interval
    segments = [c for c in ax.collections if hasattr(c, "get_segments")]
    spans = sorted(tuple(np.round(seg[:, 1], 9)) for c in segments for seg in c.get_segments())
    assert (8.0, 13.0) in spans and (3.0, 5.0) in spans
    F.save_figure(fig, tmp_path, "bars")
    meta, svg_text = figure_pair(tmp_path, "bars")
    assert meta["Title"] == "bars"
    assert "y: lost checkouts per replication" in meta["Description"]
    assert "lost checkouts per replication" in svg_text


def test_missing_values_are_marked_not_drawn_as_zero_silently() -> None:
    est = {"a": [F.Estimate(math.nan)], "b": [F.Estimate(2.0, 1.0, 3.0)]}
    fig = F.bar_figure("t", [F.BarPanel("Recovery", "recovery time (min)", ("infra",), est,
                                        {"a": ["no outage"], "b": ["2.0"]})])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "no outage" in texts


def test_ecdf_steps_reach_one_and_name_empty_series() -> None:
    fig = F.ecdf_figure("ecdf", [F.EcdfPanel("Outages", "outage length (min)", "fraction of outages ≤ x",
                                             {"a": [60.0, 120.0, 600.0], "b": []}, 1 / 60, "no outages")])
    ax = fig.axes[0]
    step = ax.get_lines()[0]
    assert list(step.get_xdata()) == [1.0, 1.0, 2.0, 10.0]
    assert list(step.get_ydata())[-1] == 1.0
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert names == ["a (n = 3)", "b (no outages)"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("outage length (min)", "fraction of outages ≤ x")


def test_lines_figure_bands_and_legend() -> None:
    lines = [SF.Line("1", (1.0, 2.0, 3.0), tuple(F.Estimate(m, m - 1, m + 1) for m in (5.0, 3.0, 1.0))),
             SF.Line("2", (1.0, 2.0, 3.0), tuple(F.Estimate(m) for m in (4.0, 2.0, 0.5)))]
    fig = SF.lines_figure("t", [("Lost checkouts", "tiers.web.replicas", "Lost checkouts per replication",
                                lines)], legend_title="tiers.payment.replicas")
    ax = fig.axes[0]
    assert len([ln for ln in ax.get_lines() if ln.get_label() != SF.NO_INTERVAL]) == 2
    assert len(ax.collections) == 1  # one band: the second line has no interval (its points ringed)
    assert fig.legends[0].get_title().get_text() == "tiers.payment.replicas"


def test_heatmap_annotates_every_cell() -> None:
    m = np.array([[1.0, 2.0], [3.0, math.nan]])
    fig = SF.heatmap_figure("h", "x key", "y key", [1, 2], [10, 20], m, "lost", [["1", "2"], ["3", ""]])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1", "2", "3", ""]
    assert fig.axes[1].get_ylabel() == "lost"  # the colour bar


def test_pareto_front_and_frontier_highlight() -> None:
    pts = [SF.FrontierPoint("0", F.Estimate(1.0), F.Estimate(100.0), "misses"),
           SF.FrontierPoint("1", F.Estimate(2.0), F.Estimate(10.0), "meets"),
           SF.FrontierPoint("2", F.Estimate(3.0), F.Estimate(50.0), "uncertain"),  # dominated by 1
           SF.FrontierPoint("3", F.Estimate(4.0), F.Estimate(1.0), "meets")]
    assert SF.pareto_front(pts) == [0, 1, 3]
    fig = SF.frontier_figure("f", "infrastructure cost (USD per replication)",
                            "lost revenue (USD per replication)", pts, 1, "lost_fraction<0.001")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "cheapest meeting the objective with 95% confidence: point 1" in legend
    assert "meets lost_fraction<0.001 (95% CI bound)" in legend and "misses lost_fraction<0.001" in legend
    assert "meets it on the mean only (its CI crosses the threshold)" in legend


def test_frontier_labels_never_overlap() -> None:
    # 40 points crowded in one corner, one far away: labels that would overlap are left out, and counted
    pts = [SF.FrontierPoint(str(i), F.Estimate(1.0 + 0.01 * i), F.Estimate(1000.0 - i), "misses")
           for i in range(40)] + [SF.FrontierPoint("40", F.Estimate(100.0), F.Estimate(1.0), "meets")]
    fig = SF.frontier_figure("f", "cost", "loss", pts, None, "lost_fraction<0.001")
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text().replace(", ", "").isdigit()]
    assert 0 < len(boxes) < 41
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    note = [t.get_text() for t in ax.texts if "left out" in t.get_text()]
    assert note == [f"{41 - len(boxes)} point label(s) left out where they would overlap: see the table"]


def test_lines_use_a_log_axis_across_decades_and_zero_for_small_spreads() -> None:
    decades = SF.Line("a", (1.0, 2.0, 3.0), (F.Estimate(5000.0, 4000.0, 6000.0), F.Estimate(50.0, 40.0, 60.0),
                                              F.Estimate(0.0, 0.0, 0.0)))
    fig = SF.lines_figure("t", [("lost", "x", "lost", [decades])])
    assert fig.axes[0].get_yscale() == "symlog"  # zeros: symmetric log
    positive = SF.Line("a", (1.0, 2.0), (F.Estimate(5000.0, 4000.0, 6000.0), F.Estimate(5.0, 4.0, 6.0)))
    assert SF.lines_figure("t", [("lost", "x", "lost", [positive])]).axes[0].get_yscale() == "log"
    p95 = SF.Line("a", (1.0, 2.0), (F.Estimate(1.468, 1.466, 1.470), F.Estimate(1.488, 1.486, 1.490)))
    ax = SF.lines_figure("t", [("p95", "x", "s", [p95])]).axes[0]
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0.0  # 3 ms look as small as they are


def test_describe_axes_skips_unlabelled_axes() -> None:
    fig, axes = F.new_figure(4, 3)
    F.label_axes(axes[0, 0], "title", "x (s)", "y (%)")
    fig.suptitle("sup")
    assert F.describe_axes(fig) == "figure: sup; axes: title | x: x (s) | y: y (%)"


def test_palette_colours_are_used_in_order() -> None:
    lines = [SF.Line(str(i), (0.0, 1.0), (F.Estimate(1.0), F.Estimate(2.0))) for i in range(3)]
    fig = SF.lines_figure("t", [("a", "x", "y", lines)])
    colours = [line.get_color() for line in fig.axes[0].get_lines() if line.get_label() != SF.NO_INTERVAL]
    assert colours == [style.colour(0), style.colour(1), style.colour(2)]


def test_reports_never_import_pyplot(comparison_dir: Path, sweep_dir: Path, tmp_path: Path) -> None:
    """Drawing every report in a fresh interpreter leaves pyplot (global figure state) unimported."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from sim.report import build_report\n"
        f"build_report(Path({str(comparison_dir)!r}))\n"
        f"build_report(Path({str(sweep_dir)!r}), out=Path({str(tmp_path / 'sw')!r}))\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "import matplotlib\n"
        "print(matplotlib.get_backend())\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"} | {"PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr


def test_points_without_an_interval_are_marked() -> None:
    line = SF.Line("a", (1.0, 2.0), (F.Estimate(5.0, 4.0, 6.0), F.Estimate(7.0)))  # the second: n = 1
    fig = SF.lines_figure("t", [("recovery", "x", "min", [line])])
    ax = fig.axes[0]
    ringed = [ln for ln in ax.get_lines() if ln.get_label() == SF.NO_INTERVAL]
    assert len(ringed) == 1 and list(ringed[0].get_xdata()) == [2.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [SF.NO_INTERVAL]


def test_dollar_signs_in_names_are_plain_text(tmp_path: Path) -> None:
    """A scenario named "$\\undefined$" must not be parsed as mathtext (it would fail to draw)."""
    fig, axes = F.new_figure(4, 3)
    fig.suptitle(r"$\undefined$ costs $5")
    axes[0, 0].plot([1.0], [1.0], label=r"$\frac{1}{$")
    axes[0, 0].legend()
    png, _ = F.save_figure(fig, tmp_path, "dollars")
    assert png.stat().st_size > 0
