"""`sim report SWEEP_DIR`: figures and numbers from a sweep folder's summary.csv, objectives, frontier."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sim.report import sweep_data as D
from sim.report import sweep_report as S
from sim.report.markdown import escape
from sim.report.output import ReportError

from .helpers import figure_pair


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _num(text: str) -> float:
    return math.nan if text == "" else float(text)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_loaded_numbers_equal_summary_csv(sweep_dir: Path) -> None:
    data = D.load_sweep(sweep_dir)
    rows = _csv_rows(sweep_dir / "summary.csv")
    assert data.keys == ("tiers.payment.replicas", "tiers.web.replicas")
    assert len(data.points) == len(rows) == 6
    assert data.factorial
    for point, row in zip(data.points, rows, strict=True):
        assert point.index == int(row["point"])
        assert {k: str(v) for k, v in point.values.items()} == {k: row[k] for k in data.keys}
        for metric in data.metrics:
            e = point.metrics[metric]
            assert _same(e.mean, _num(row[f"{metric}_mean"]))
            assert _same(e.low, _num(row[f"{metric}_ci_low"]))
            assert _same(e.high, _num(row[f"{metric}_ci_high"]))


def test_summary_csv_means_are_the_results_csv_means(sweep_dir: Path) -> None:
    """The sweep's own summary is the mean of its tidy table (so the report's source is consistent)."""
    results = _csv_rows(sweep_dir / "results.csv")
    data = D.load_sweep(sweep_dir)
    for point in data.points:
        values = [_num(r["lost_checkouts"]) for r in results if int(r["point"]) == point.index]
        assert point.metrics["lost_checkouts"].mean == pytest.approx(np.mean(values))


def test_lines_are_the_point_means(sweep_dir: Path) -> None:
    data = D.load_sweep(sweep_dir)
    lines, group, note = S.metric_lines(data, "lost_checkouts", "tiers.payment.replicas")
    assert group == "tiers.web.replicas" and note == ""
    assert [line.label for line in lines] == ["1", "2"]
    for line, web in zip(lines, (1, 2), strict=True):
        assert line.x == (1.0, 2.0, 3.0)
        expected = [next(p for p in data.points if p.values == {"tiers.payment.replicas": pay,
                                                                 "tiers.web.replicas": web})
                    .metrics["lost_checkouts"].mean for pay in (1, 2, 3)]
        assert [e.mean for e in line.estimates] == expected


def test_heatmap_cells_are_the_point_means(sweep_dir: Path) -> None:
    data = D.load_sweep(sweep_dir)
    fig = S.heatmap(data, "lost_checkouts", "tiers.payment.replicas", "tiers.web.replicas")
    image = np.ma.filled(fig.axes[0].images[0].get_array(), np.nan)
    for p in data.points:
        r, c = p.values["tiers.web.replicas"] - 1, p.values["tiers.payment.replicas"] - 1
        assert image[r, c] == p.metrics["lost_checkouts"].mean
    assert fig.axes[0].get_xlabel() == "tiers.payment.replicas"
    assert fig.axes[0].get_ylabel() == "tiers.web.replicas"


def test_report_files_and_labels(sweep_dir: Path, tmp_path: Path) -> None:
    files = S.build_sweep_report(sweep_dir, out=tmp_path / "rep", objective="lost_fraction<0.5")
    figures = tmp_path / "rep" / "figures"
    meta, svg = figure_pair(figures, "metrics-vs-tiers_payment_replicas")
    assert "x: tiers.payment.replicas" in meta["Description"]
    assert "y: Lost checkouts per replication" in meta["Description"]
    assert "Availability (%)" in svg
    meta, _ = figure_pair(figures, "heatmap-lost_checkouts")
    assert "x: tiers.payment.replicas | y: tiers.web.replicas" in meta["Description"]
    meta, _ = figure_pair(figures, "cost-frontier")
    assert "x: infrastructure cost (EUR per replication) | y: lost revenue (EUR per replication)" \
        in meta["Description"]
    assert len([p for p in files.figures if p.suffix == ".png"]) == 5
    md = files.markdown.read_text()
    assert escape("Cheapest point meeting lost_fraction<0.5 with 95% confidence") in md


def test_cheapest_point_meeting_the_objective(sweep_dir: Path) -> None:
    data = D.load_sweep(sweep_dir)
    objective = D.parse_objective("lost_fraction<0.5", data.metrics)
    chosen = D.cheapest_meeting(data, objective)
    ok = [p for p in data.points if p.metrics["lost_fraction"].high < 0.5]  # the CI bound, not the mean
    assert chosen is not None
    cheapest = min(p.metrics["infrastructure_cost"].mean for p in ok)
    assert chosen.metrics["infrastructure_cost"].mean == cheapest
    on_mean = D.cheapest_meeting(data, objective, confident=False)
    assert on_mean is not None and on_mean.metrics["infrastructure_cost"].mean == min(
        p.metrics["infrastructure_cost"].mean for p in data.points if p.metrics["lost_fraction"].mean < 0.5)
    assert D.cheapest_meeting(data, D.parse_objective("lost_fraction<0")) is None


def test_parse_objective() -> None:
    conds = D.parse_objective("lost_fraction<0.001 and latency_p95_s<=2s, availability>0.999")
    assert [(c.metric, c.op, c.value) for c in conds] == [
        ("lost_fraction", "<", 0.001), ("latency_p95_s", "<=", 2.0), ("availability", ">", 0.999)]
    assert [(c.value) for c in D.parse_objective("mean_recovery_time_s<5m")] == [300.0]
    for bad in ("", "lost_fraction", "lost_fraction=1", "lost_fraction<abc", "lost_checkouts<5m"):
        with pytest.raises(ReportError, match="--objective"):
            D.parse_objective(bad)
    with pytest.raises(ReportError, match="unknown metric"):
        D.parse_objective("lost<1", ["lost_fraction"])


# -- a synthetic folder in the format of sim/sweeps/store.py: a duration key, a sampled design -------


def write_sweep(folder: Path, points: list[dict], design: dict, metrics: dict[str, list[float]]) -> Path:
    folder.mkdir(parents=True)
    keys = [k for k in points[0] if k != "point"]
    manifest = {"format": 1, "hash": "0" * 64, "name": "synthetic", "version": "test", "design": design,
                "replications": 4, "seed": 1, "reference": None, "tasks": 4 * len(points),
                "scenario": {"scenario": {"horizon": 3600.0}, "costs": {"currency": "USD"}},
                "points": points}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with (folder / "summary.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["point", *keys, "replications",
                    *(f"{m}_{s}" for m in metrics for s in ("mean", "ci_low", "ci_high"))])
        for i, p in enumerate(points):
            cells = []
            for values in metrics.values():
                v = values[i]
                cells += ["", "", ""] if math.isnan(v) else [repr(v), repr(v * 0.9), repr(v * 1.1)]
            w.writerow([i, *(p[k] for k in keys), 4, *cells])
    (folder / "results.csv").write_text("point,replication\n")
    return folder


def test_duration_keys_are_drawn_in_minutes(tmp_path: Path) -> None:
    points = [{"point": i, "tiers.payment.mttr": mttr, "tiers.payment.replicas": n}
              for i, (mttr, n) in enumerate((m, n) for m in ("10m", "30m", "1h") for n in (1, 2))]
    lost = [100.0, 10.0, 300.0, 20.0, 600.0, 40.0]
    folder = write_sweep(tmp_path / "d", points, {"grid": {"tiers.payment.mttr": ["10m", "30m", "1h"],
                                                           "tiers.payment.replicas": [1, 2]}},
                         {"lost_checkouts": lost, "lost_fraction": [x / 1e4 for x in lost],
                          "lost_revenue": [x * 50 for x in lost],
                          "infrastructure_cost": [1.0, 2.0] * 3, "mean_recovery_time_s": [math.nan] * 6})
    data = D.load_sweep(folder)
    axis = D.key_axis(data, "tiers.payment.mttr")
    assert axis.label == "tiers.payment.mttr (min)"
    assert [axis.position(v) for v in D.distinct(data, "tiers.payment.mttr")] == [10.0, 30.0, 60.0]
    fig = S.key_figure(data, "tiers.payment.mttr", ["lost_checkouts"])
    assert fig.axes[0].get_xlabel() == "tiers.payment.mttr"  # the ticks carry the unit
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["10 min", "30 min", "1 h"]
    # the cheapest point losing at most 0.3%: one replica at 10 or 30 minutes MTTR; 10m is first
    chosen = D.cheapest_meeting(data, D.parse_objective("lost_fraction<0.031"))
    assert chosen is not None and chosen.values == {"tiers.payment.mttr": "10m", "tiers.payment.replicas": 1}
    _, figures = S.sweep_document(data, "lost_fraction<0.031")
    assert "metrics-vs-tiers_payment_mttr" in figures and "heatmap-lost_checkouts" in figures
    # a metric without any value is left out rather than drawn empty
    assert all(ax.get_title(loc="left") != "Infrastructure recovery time"
               for ax in figures["metrics-vs-tiers_payment_mttr"].axes)


def test_sampled_design_draws_points_and_no_heatmap(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    rates = rng.uniform(1, 5, 8)
    points = [{"point": i, "tiers.payment.replicas": 1 + i % 2, "traffic.arrival_rate": float(r)}
              for i, r in enumerate(rates)]
    folder = write_sweep(tmp_path / "s", points, {"grid": {"tiers.payment.replicas": [1, 2]},
                                                  "lhs": {"traffic.arrival_rate": [1, 5]}, "samples": 4},
                         {"lost_checkouts": [float(r * 10) for r in rates], "lost_fraction": [0.01] * 8,
                          "lost_revenue": [float(r * 100) for r in rates],
                          "infrastructure_cost": [1.0, 2.0] * 4})
    data = D.load_sweep(folder)
    assert not data.factorial
    doc, figures = S.sweep_document(data, "lost_fraction<0.001")
    assert not any(stem.startswith("heatmap") for stem in figures)
    ax = figures["metrics-vs-traffic_arrival_rate"].axes[0]
    assert not ax.get_lines() or all(line.get_linestyle() == "None" for line in ax.get_lines())
    said = [item for b in doc.blocks for item in getattr(b, "items", ())]
    assert any(item.startswith("No point meets lost_fraction < 0.001 with 95% confidence")
               or item.startswith("No point meets lost_fraction<0.001 with 95% confidence") for item in said)


def test_unfinished_sweep_is_reported(tmp_path: Path, sweep_dir: Path) -> None:
    folder = tmp_path / "unfinished"
    folder.mkdir()
    (folder / "manifest.json").write_text((sweep_dir / "manifest.json").read_text())
    with pytest.raises(ReportError, match="has not finished"):
        D.load_sweep(folder)


def test_choice_accounts_for_uncertainty(tmp_path: Path) -> None:
    """Synthetic CIs are ±10% of the mean: a mean just under the threshold is not a confident pass."""
    points = [{"point": i, "tiers.payment.replicas": n, "tiers.payment.mttr": 300.0}
              for i, n in enumerate((1, 2, 3, 4))]
    folder = write_sweep(tmp_path / "c", points, {"grid": {"tiers.payment.replicas": [1, 2, 3, 4]}},
                         {"lost_fraction": [0.0095, 0.005, 0.002, 0.001],
                          "lost_revenue": [95.0, 50.0, 20.0, 19.5],
                          "infrastructure_cost": [1.0, 2.0, 3.0, 3.1]})
    data = D.load_sweep(folder)
    objective = D.parse_objective("lost_fraction<0.01")
    assert [D.status(p, objective) for p in data.points] == ["uncertain", "meets", "meets", "meets"]
    choice = D.choose(data, objective)
    assert choice.chosen is not None and choice.chosen.index == 1  # point 0 is cheaper, but uncertain
    assert [p.index for p in choice.uncertain_cheaper] == [0]
    assert choice.runner_up is not None and choice.runner_up.index == 2
    assert not choice.within_noise  # cost 2 vs 3 (±10%): the intervals do not overlap
    # points 2 and 3: cost 3 vs 3.1 and lost revenue 20 vs 19.5, intervals overlapping
    near = D.choose(data, D.parse_objective("lost_fraction<0.0025"))
    assert (near.chosen.index, near.runner_up.index, near.within_noise) == (2, 3, True)
    text = " ".join(S.choice_sentences(data, near, "lost_fraction<0.0025"))
    assert "Within noise" in text and "point 3" in text
    none = D.choose(data, D.parse_objective("lost_fraction<0.001"))
    assert none.chosen is None
    text = " ".join(S.choice_sentences(data, none, "lost_fraction<0.001"))
    assert text.startswith("No point meets lost_fraction<0.001 with 95% confidence")
    # durations with their unit, in the table and the labels
    assert D.key_value_text(data, "tiers.payment.mttr", 300.0) == "5 min"
    assert D.key_value_text(data, "tiers.payment.mttr", 7200.0) == "2 h"
    assert "mttr = 5 min" in D.point_label(data, data.points[0])
    table = S.point_table(data, objective, ["lost_revenue", "infrastructure_cost"])
    assert [row[2] for row in table.rows] == ["5 min"] * 4
    assert [row[-1] for row in table.rows] == ["on the mean only"] + ["yes (95% CI)"] * 3
