"""`sim compare`, `sim report` and `sim run --plot` through CliRunner, and `sim compare` as a process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

from .helpers import check_png, check_svg

QUICK = ["--horizon", "40m", "--replications", "2", "--workers", "1"]


def invoke(*args: str) -> object:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def test_compare_writes_the_folder(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke("compare", str(tiny_file), str(tiny_file), "--redundancy", "1", *QUICK, "--seed", "4",
                    "--out", str(out), "--dpi", "80")
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["label"] for s in manifest["scenarios"]] == ["tiny", "tiny-2"]  # same name: made distinct
    assert (manifest["seed"], manifest["replications"]) == (4, 2)
    assert manifest["command"].startswith("sim compare ")
    for label in ("tiny", "tiny-2"):
        stored = json.loads((out / "results" / f"{label}.json").read_text())
        assert stored["seed"] == 4 and stored["replications"] == 2
        assert stored["scenario"]["scenario"]["horizon"] == 2400.0
    for png in (out / "figures").glob("*.png"):
        check_png(png, min_px=200)
        check_svg(png.with_suffix(".svg"))
    # identical scenarios on common random numbers: every paired difference is exactly zero
    md = (out / "report.md").read_text()
    assert "No significant difference from tiny in:" in md
    assert "Significant." not in md


def test_report_redraws_a_comparison_folder(comparison_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(comparison_dir, copy)
    for png in (copy / "figures").glob("*.png"):
        png.unlink()
    (copy / "report.html").unlink()
    result = invoke("report", str(copy))
    assert result.exit_code == 0, result.output
    assert (copy / "report.html").is_file()
    drawn = list((copy / "figures").glob("*.png"))
    assert len(drawn) == len(list((comparison_dir / "figures").glob("*.png")))


def test_report_draws_a_sweep_folder(sweep_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep-report"
    result = invoke("report", str(sweep_dir), "--out", str(out), "--objective", "lost_fraction<0.05",
                    "--metric", "lost_checkouts", "--metric", "availability")
    assert result.exit_code == 0, result.output
    stems = {p.stem for p in (out / "figures").glob("*.png")}
    assert stems == {"metrics-vs-tiers_payment_replicas", "metrics-vs-tiers_web_replicas",
                     "heatmap-lost_checkouts", "heatmap-mean_service_recovery_time_s", "cost-frontier"}
    assert "lost\\_fraction \\< 0.05" in (out / "report.md").read_text()  # escaped as plain text


def test_run_plot(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "plot"
    result = invoke("run", str(tiny_file), *QUICK, "--plot", str(out))
    assert result.exit_code == 0, result.output
    for stem in ("timeline", "summary"):
        meta = check_png(out / f"{stem}.png")
        check_svg(out / f"{stem}.svg")
        assert meta["Description"]
    assert "y: checkouts" in check_png(out / "summary.png")["Description"]
    assert "y: success rate (%)" in check_png(out / "timeline.png")["Description"]
    stored = json.loads((out / "result.json").read_text())
    assert stored["replications"] == 2
    # the folder re-draws with `sim report`
    (out / "summary.png").unlink()
    assert invoke("report", str(out)).exit_code == 0
    assert (out / "summary.png").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["compare", "baseline"], "at least two scenarios"),
    (["compare", "baseline", "no-such-scenario"], "no-such-scenario"),
    (["compare", "baseline", "baseline", "--set", "tiers.web.mttr=-1"], "tiers.web.mttr"),
])
def test_compare_input_errors_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.output


def test_compare_refuses_a_foreign_folder(tiny_file: Path, tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["compare", str(tiny_file), str(tiny_file), *QUICK,
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2 and "not a comparison folder" in result.output
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_report_input_errors_exit_2(sweep_dir: Path, comparison_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "no manifest.json" in result.output
    result = CliRunner().invoke(cli, ["report", str(sweep_dir), "--objective", "lost_fraction=<1",
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--objective" in result.output
    result = CliRunner().invoke(cli, ["report", str(sweep_dir), "--objective", "nope<1",
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown metric 'nope'" in result.output
    result = CliRunner().invoke(cli, ["report", str(comparison_dir), "--objective", "lost_fraction<1"])
    assert result.exit_code == 2 and "sweep folders only" in result.output


@pytest.mark.slow
def test_compare_end_to_end_as_a_process(tmp_path: Path) -> None:
    """`sim compare` on two built-in scenarios with tiny horizons, as a real process."""
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "e2e"
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-c", "from sim.cli import main; main()", "compare", "single-instance",
           "active-active", "--horizon", "2h", "--replications", "3", "--workers", "2", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    expected = {"manifest.json", "report.html", "report.md",
                "results/single-instance.json", "results/active-active.json",
                "timelines/single-instance.json", "timelines/active-active.json"}
    assert expected <= names
    for stem in ("checkouts", "recovery_times", "recovery_ecdf", "costs", "timeline-single-instance",
                 "timeline-active-active"):
        assert f"figures/{stem}.png" in names and f"figures/{stem}.svg" in names
        check_png(out / "figures" / f"{stem}.png")
    # the stored result is what `sim run --json` gives for the same scenario, seed and replications
    json_path = tmp_path / "run.json"
    seed = str(json.loads((out / "manifest.json").read_text())["seed"])
    run = [sys.executable, "-c", "from sim.cli import main; main()", "run", "active-active",
           "--horizon", "2h", "--replications", "3", "--seed", seed, "--json", str(json_path)]
    proc = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    stored = json.loads((out / "results" / "active-active.json").read_text())
    fresh = json.loads(json_path.read_text())
    assert stored["metrics"] == fresh["metrics"]
    assert stored["per_replication"] == fresh["per_replication"]


def test_default_out_is_under_results(tiny_file: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("compare", str(tiny_file), str(tiny_file), "--redundancy", "2", *QUICK, "--dpi", "60")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "results").iterdir()
    assert folder.name.startswith("compare-tiny-tiny-2-")
    # the same command again writes the same folder (content hash), replacing its report
    again = invoke("compare", str(tiny_file), str(tiny_file), "--redundancy", "2", *QUICK, "--dpi", "60")
    assert again.exit_code == 0
    assert [p.name for p in (tmp_path / "results").iterdir()] == [folder.name]
