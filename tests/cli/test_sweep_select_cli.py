"""``sim sweep --select``: the decision, the manifest and report, resuming, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sim.cli import cli

SHOP = """
[scenario]
name = "shop"
horizon = "2h"
seed = 11
[traffic]
arrival_rate = 0.2
[path]
tiers = ["web"]
[tiers.web]
replicas = 1
service_time = "50ms"
mtbf = "1h"
mttr = "10m"
replica_cost_per_hour = 1
[slo]
availability = 0.99
window = "1d"
"""


def _scenario(tmp_path: Path) -> str:
    path = tmp_path / "shop.toml"
    path.write_text(SHOP)
    return str(path)


def _sweep(tmp_path: Path, *args: str):
    return CliRunner().invoke(cli, ["sweep", _scenario(tmp_path), "--workers", "1",
                                    "--out", str(tmp_path / "out"), *args])


def test_select_prints_and_records_the_best_point(tmp_path: Path) -> None:
    args = ("--grid", "tiers.web.mtbf=10m,inf", "--select", "--delta", "0.05", "--metric", "availability",
            "--max-replications", "50")
    result = _sweep(tmp_path, *args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith("horizon 2h")  # KN++ decides the replications: none are announced
    assert "2 points, replications decided by KN++ (at most 50 per point)" in lines[1]
    statement = ("point 1 (tiers.web.mtbf=inf) is best (or within δ = 0.05 of the best) in availability "
                 "with probability ≥ 95%")
    assert statement in lines
    assert "eliminated at stage 10" in result.output and "20 replications run" in result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["selection"]["statement"] == statement and manifest["selection"]["delta"] == 0.05
    # the same command again reuses every stored replication and says the same
    again = _sweep(tmp_path, *args)
    assert again.exit_code == 0 and statement in again.output.splitlines()
    assert "0 replications run" in again.output and "20 resumed" in again.output
    report = CliRunner().invoke(cli, ["report", str(tmp_path / "out")])
    assert report.exit_code == 0, report.output
    text = (tmp_path / "out" / "report" / "report.md").read_text()
    assert "## Pick the best (KN++)" in text and statement in text


def test_the_slo_constraint_leaves_the_only_point_that_meets_it(tmp_path: Path) -> None:
    result = _sweep(tmp_path, "--grid", "tiers.web.mtbf=10m,inf", "--select", "--delta", "0.5",
                    "--metric", "infrastructure_cost", "--max-breach", "0.5")
    assert result.exit_code == 0, result.output
    assert "point 0 (tiers.web.mtbf=10m): P(SLO breach per window) exact 1: fails ≤ 0.5" in result.output
    assert "point 1 (tiers.web.mtbf=inf) is the only point that meets the SLO constraint" in result.output
    assert "0 replications run" in result.output
    report = CliRunner().invoke(cli, ["report", str(tmp_path / "out")])
    assert report.exit_code == 0, report.output
    text = (tmp_path / "out" / "report" / "report.md").read_text()
    assert "no replication was run" in text and "is the only point that meets the SLO constraint" in text


def test_select_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    grid = ("--grid", "tiers.web.mttr=5m,10m")
    for args, message in (
            (("--select",), "--select needs --delta D > 0"),
            (("--select", "--delta", "1", "--metric", "nope"), "--metric nope: unknown metric"),
            (("--select", "--delta", "1", "--replications", "5"), "--replications: KN++ decides the "
             "replications with --select; bound them with --max-replications"),
            (("--select", "--delta", "1", "--precision", "10%"), "--precision: KN++ decides"),
            (("--select", "--delta", "1", "--n0", "30", "--max-replications", "20"),
             "--n0 30: must be at most --max-replications (20)"),
            (("--delta", "1"), "--delta: applies only with --select"),
            (("--select", "--delta", "1", "--metric", "mean_recovery_time_s", "--max-replications", "20",
              "--n0", "2", "--set", "tiers.web.mtbf=inf"),
             "mean_recovery_time_s has no value in some replication of point 0 (tiers.web.mttr=5m)")):
        result = _sweep(tmp_path, *grid, *args)
        assert result.exit_code == 2, (args, result.output)
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and message in errors[0], (args, result.output)
        assert "Traceback" not in result.output


def test_an_interrupted_selection_resumes_with_the_same_statement(tmp_path: Path, monkeypatch) -> None:
    from sim.cli import sweep_select

    args = ("--grid", "tiers.web.mttr=5m,10m,15m", "--select", "--delta", "30", "--n0", "5",
            "--max-replications", "200")
    whole = CliRunner().invoke(cli, ["sweep", _scenario(tmp_path), "--workers", "1", "--out",
                                     str(tmp_path / "whole"), *args])
    assert whole.exit_code == 0, whole.output
    statement = whole.output.splitlines()[-4]
    assert "is best (or within δ = 30 of the best)" in statement
    ran = int(whole.output.splitlines()[-2].split()[0])
    original = sweep_select.select_in_sweep

    def interrupted(*args, progress, **kwargs):
        def interrupt(p) -> None:
            progress(p)
            if p.ran == 7:
                raise KeyboardInterrupt

        return original(*args, progress=interrupt, **kwargs)

    monkeypatch.setattr(sweep_select, "select_in_sweep", interrupted)
    cut = _sweep(tmp_path, *args)
    assert cut.exit_code == 130
    assert "interrupted: 7 replications are stored" in cut.output
    monkeypatch.setattr(sweep_select, "select_in_sweep", original)
    again = _sweep(tmp_path, *args)
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-4] == statement
    assert f"{ran - 7} replications run" in again.output and "7 resumed" in again.output
    for name in ("results.csv", "summary.csv"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
