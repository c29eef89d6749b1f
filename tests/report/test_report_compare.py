"""`sim compare`'s folder: stored JSON equals `sim run --json`, the report's numbers equal the JSON,
every figure is a valid PNG + SVG with the expected labels, and the report re-draws from the folder."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest

from sim.experiment import run
from sim.report import compare as C
from sim.report import comparison as N
from sim.report.collect import representative_replication
from sim.report.markdown import escape
from sim.scenario import load_scenario
from sim.scenario.io import jsonable
from sim.stats.intervals import paired_difference, significant

from .conftest import REPLICATIONS, SEED
from .helpers import figure_pair

LABELS = ["r1", "r2", "r3"]


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _nan(x: float | str | None) -> float:
    return math.nan if x is None else float(x)  # an unbounded end is stored as "inf"


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_folder_holds_results_timelines_pages_and_figures(comparison_dir: Path) -> None:
    manifest = _json(comparison_dir / "manifest.json")
    assert [s["label"] for s in manifest["scenarios"]] == LABELS
    assert (manifest["seed"], manifest["replications"]) == (SEED, REPLICATIONS)
    for label in LABELS:
        assert (comparison_dir / "results" / f"{label}.json").is_file()
        assert (comparison_dir / "timelines" / f"{label}.json").is_file()
    assert (comparison_dir / "report.html").is_file() and (comparison_dir / "report.md").is_file()
    stems = {"checkouts", "recovery_times", "recovery_ecdf", "costs", *(f"timeline-{x}" for x in LABELS)}
    found = {p.stem for p in (comparison_dir / "figures").iterdir()}
    assert found == stems
    for stem in stems:
        assert (comparison_dir / "figures" / f"{stem}.png").is_file()
        assert (comparison_dir / "figures" / f"{stem}.svg").is_file()


def test_stored_results_are_exactly_sim_run_json(comparison_dir: Path, tiny_file: Path) -> None:
    """Each results/<label>.json is what `sim run --json` writes for that scenario, seed and R."""
    for n, label in enumerate(LABELS, start=1):
        scenario = load_scenario(tiny_file, [f"scenario.name={label}"], redundancy=n)
        scenario = dataclasses.replace(scenario, replications=REPLICATIONS, seed=SEED)
        expected = jsonable(run(scenario, REPLICATIONS, SEED, workers=1).to_dict())
        stored = _json(comparison_dir / "results" / f"{label}.json")
        for part in ("scenario", "seed", "replications", "metrics", "per_replication"):
            assert stored[part] == expected[part], part


def test_common_random_numbers_give_every_scenario_the_same_customers(comparison_dir: Path) -> None:
    attempted = [[r["attempted_checkouts"] for r in _json(comparison_dir / "results" / f"{x}.json")
                  ["per_replication"]] for x in LABELS]
    assert attempted[0] == attempted[1] == attempted[2]
    assert len(set(attempted[0])) > 1  # but replications differ from each other


def test_summary_numbers_equal_the_json(comparison_dir: Path) -> None:
    _, runs = N.load_comparison(comparison_dir)
    md = (comparison_dir / "report.md").read_text()
    html = (comparison_dir / "report.html").read_text()
    for run_ in runs:
        stored = _json(comparison_dir / "results" / f"{run_.label}.json")["metrics"]
        for metric, s in stored.items():
            e = run_.estimate(metric)
            assert _same(e.mean, _nan(s["mean"])) and _same(e.low, _nan(s["ci_low"])) \
                and _same(e.high, _nan(s["ci_high"])), (run_.label, metric)
    # every table row, as written in report.md, is the formatted stored value
    table = N.summary_table(runs)
    for row in table.rows:
        metric = next(m for m in N.table_metrics(runs) if N.row_label(m) == row[0])
        for run_, cell in zip(runs, row[1:], strict=True):
            assert cell == N.table_cell(metric, run_)
            assert cell.startswith(N.cell_text(metric, run_.estimate(metric), run_.currency))
            if cell.endswith(" replications]"):  # how many replications had a value, from the JSON
                n = _json(comparison_dir / "results" / f"{run_.label}.json")["metrics"][metric]["n"]
                assert cell.endswith(f"[{n} of {REPLICATIONS} replications]")
        assert "| " + " | ".join(escape(c) for c in row) + " |" in md
        assert f"<td>{row[0]}</td>" in html
    # spot check one number by hand: lost checkouts of r1, straight from the JSON
    lost = _json(comparison_dir / "results" / "r1.json")["metrics"]["lost_checkouts"]
    assert f"{lost['mean']:,.0f}" in md or f"{lost['mean']:.1f}" in md


def test_nines_are_derived_from_availability(comparison_dir: Path) -> None:
    _, runs = N.load_comparison(comparison_dir)
    a = runs[0].estimate("availability")
    n = runs[0].estimate("availability_nines")
    assert n.mean == pytest.approx(-math.log10(1 - a.mean))


def test_paired_differences_are_recomputed_from_per_replication_values(comparison_dir: Path) -> None:
    _, runs = N.load_comparison(comparison_dir)
    rows = N.paired_rows(runs)
    base = _json(comparison_dir / "results" / "r1.json")["per_replication"]
    md = (comparison_dir / "report.md").read_text()
    assert {r.label for r in rows} == {"r2", "r3"}
    for row in rows:
        other = _json(comparison_dir / "results" / f"{row.label}.json")["per_replication"]
        diff = paired_difference([_nan(r[row.metric]) for r in other], [_nan(r[row.metric]) for r in base])
        assert _same(row.diff.mean, diff.mean) and _same(row.diff.ci_low, diff.ci_low)
        assert row.significant == significant(diff)
    # plain statements: the lost checkouts of r2 vs r1 say whether the difference is significant
    lost = next(r for r in rows if r.label == "r2" and r.metric == "lost_checkouts")
    section = md.split("### r2 vs r1")[1].split("###")[0]
    if lost.significant:
        assert "Lost checkouts: " in section and "Significant." in section
    else:
        assert "No significant difference from r1 in:" in section and "lost checkouts" in section
    table_row = next(line for line in section.splitlines() if line.startswith("| Lost checkouts |"))
    assert table_row.rstrip(" |").endswith("yes (better)" if lost.significant else "no")


def test_more_replicas_lose_fewer_checkouts_significantly(comparison_dir: Path) -> None:
    """The tiny scenario's single replicas fail often: two per tier is clearly better (sanity)."""
    _, runs = N.load_comparison(comparison_dir)
    lost = next(r for r in N.paired_rows(runs) if r.label == "r2" and r.metric == "lost_checkouts")
    assert lost.diff.mean < 0 and lost.significant


def test_timeline_windows_agree_with_outage_metrics(comparison_dir: Path) -> None:
    for label in LABELS:
        record = _json(comparison_dir / "timelines" / f"{label}.json")
        per_rep = _json(comparison_dir / "results" / f"{label}.json")["per_replication"]
        assert [w["replication"] for w in record["windows"]] == list(range(REPLICATIONS))
        for w, r in zip(record["windows"], per_rep, strict=True):
            assert len(w["path_down"]) == r["outage_count"]
            if w["path_down"]:
                mean = sum(e - s for s, e in w["path_down"]) / len(w["path_down"])
                assert mean == pytest.approx(r["mean_recovery_time_s"], rel=1e-9)


def test_shown_replication_is_the_baselines_most_lost(comparison_dir: Path) -> None:
    manifest = _json(comparison_dir / "manifest.json")
    base = _json(comparison_dir / "results" / "r1.json")["per_replication"]
    rep = manifest["representative_replication"]
    assert rep == representative_replication(base)
    assert base[rep]["lost_checkouts"] == max(r["lost_checkouts"] for r in base) > 0
    assert manifest["representative_rule"] == "the replication with the most lost checkouts in the baseline"
    for label in LABELS:  # the same replication index for every scenario, labelled by the full model
        record = _json(comparison_dir / "timelines" / f"{label}.json")
        assert record["replication"] == rep and record["method"] == "crude"
        assert record["rule"] == manifest["representative_rule"]


def test_shown_rule_ties_and_nans() -> None:
    reps = [{"replication": i, "lost_checkouts": v} for i, v in enumerate([5.0, 1.0, 9.0, 9.0])]
    assert representative_replication(reps) == 2  # the most: 9 at indices 2 and 3 tie: lowest index
    reps = [{"replication": i, "lost_checkouts": v} for i, v in enumerate([math.nan, 2.0, 4.0, 3.0])]
    assert representative_replication(reps) == 2


EXPECTED_LABELS = {
    "checkouts": ["Lost checkouts per replication", "Deferred checkouts per replication"],
    "recovery_times": ["recovery time (min)"],
    "recovery_ecdf": ["outage length, path down → up (min)", "fraction of outages ≤ x",
                      "first failed attempt → 1-min success rate ≥ 99% (min)"],
    "costs": ["lost revenue (EUR)", "infrastructure cost (EUR)"],
    "timeline-r1": ["success rate (%)", "lost (checkouts/min)", "p95 latency (s)", "healthy replicas",
                    "time (min)"],
}


@pytest.mark.parametrize("stem", sorted(EXPECTED_LABELS))
def test_figures_are_valid_images_with_labelled_axes(comparison_dir: Path, stem: str) -> None:
    meta, svg_text = figure_pair(comparison_dir / "figures", stem)
    for label in EXPECTED_LABELS[stem]:
        assert label.lower() in meta["Description"].lower(), (stem, label, meta["Description"])
        assert label.lower() in svg_text.lower()
    assert meta["Title"]


def test_figure_objects_have_titles_labels_and_legends(comparison_dir: Path) -> None:
    manifest, runs = N.load_comparison(comparison_dir)
    _, figures = C.comparison_document(manifest, runs)
    for stem, fig in figures.items():
        assert fig.get_suptitle(), stem
        for ax in fig.axes:
            if ax.get_visible() and ax.get_label() != "<colorbar>":
                assert ax.get_title(loc="left") and ax.get_ylabel(), (stem, ax.get_title(loc="left"))
    checkouts = figures["checkouts"].axes[0]
    assert [t.get_text() for t in checkouts.get_xticklabels()] == LABELS
    heights = [p.get_height() for p in checkouts.patches]
    assert heights == pytest.approx([r.estimate("lost_checkouts").mean for r in runs])


def test_report_redraws_from_the_folder_without_simulating(comparison_dir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(comparison_dir, copy, ignore=shutil.ignore_patterns("figures", "report.*"))
    import sim.experiment.replication
    import sim.experiment.runs
    import sim.report.collect

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report simulated")

    for module, name in ((sim.experiment.runs, "run"), (sim.experiment.replication, "run_replication"),
                         (sim.report.collect, "run"), (sim.report.collect, "run_replication")):
        monkeypatch.setattr(module, name, forbidden)
    files = C.build_compare_report(copy)
    assert (copy / "report.md").read_text() == (comparison_dir / "report.md").read_text()
    assert len([p for p in files.figures if p.suffix == ".png"]) == len(EXPECTED_LABELS) + 2


def test_not_a_comparison_folder(tmp_path: Path) -> None:
    from sim.report.output import ReportError

    with pytest.raises(ReportError, match="missing"):
        N.load_comparison(tmp_path)
    (tmp_path / "manifest.json").write_text('{"kind": "something else"}')
    with pytest.raises(ReportError, match="not a comparison folder"):
        N.load_comparison(tmp_path)


def test_committed_example_report_is_what_its_json_draws(tmp_path: Path) -> None:
    """docs/example-report/report.md is exactly what `sim report` draws from the JSON beside it."""
    example = Path(__file__).resolve().parents[2] / "docs" / "example-report"
    if not (example / "manifest.json").is_file():
        pytest.skip("no committed example report")
    copy = tmp_path / "example"
    shutil.copytree(example, copy)
    C.build_compare_report(copy, dpi=100)
    assert (copy / "report.md").read_text() == (example / "report.md").read_text()
    for png in (example / "figures").glob("*.png"):
        assert png.stat().st_size < 150_000, f"{png.name}: keep the committed example's PNGs small"
