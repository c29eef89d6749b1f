"""``sim map`` through CliRunner: the files it writes, resuming, and one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

STORM = "scenarios/retry-storm.toml"
SMALL = ("--duration", "30s", "--load", "0.2,0.95", "--start", "2m", "--stuck-after", "2m",
         "--replications", "2", "--workers", "1")


def invoke(*args: str):
    return CliRunner().invoke(cli, ["map", *args], catch_exceptions=False)


def test_a_small_map_writes_the_tables_the_report_and_the_figure_then_resumes(tmp_path: Path) -> None:
    out = tmp_path / "m"
    result = invoke(STORM, *SMALL, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "1 of 2 payment replicas down for 30s  20%" in result.output
    for name in ("map.csv", "boundary.csv", "results.csv", "summary.csv", "manifest.json", "report.md",
                 "report.html", "figures/map.png", "figures/map.svg"):
        assert (out / name).is_file(), name
    report = (out / "report.md").read_text()
    assert "## Boundary" in report and "load model: open arrivals" in report
    assert "![heatmap of the probability of getting stuck" in report
    boundary = (out / "boundary.csv").read_text().splitlines()
    assert boundary[0] == ("magnitude,duration_s,recovers_up_to_load,stuck_from_load,p_stuck,"
                           "p_stuck_ci_low,p_stuck_ci_high")
    assert boundary[1].startswith("1.0,30.0,0.2,0.95,1.0,")
    again = invoke(STORM, *SMALL, "--out", str(out))
    assert again.exit_code == 0 and "0 tasks run" in again.output and "4 resumed" in again.output


@pytest.mark.parametrize(("args", "message"), [
    (("--load", "0.5,abc"), "--load 'abc': expected numbers separated by commas"),
    (("--load", "0.9:0.3:4"), "--load '0.9:0.3:4': expected LO below HI and STEPS >= 2"),
    (("--duration", "5x"), "--duration '5x': expected a duration such as 1m,5m,10m"),
    (("--stuck-after", "-1m"), "--stuck-after '-1m': expected a duration such as 10m"),
    (("--magnitude", "3"), "--magnitude: replicas down must be integers from 1 to payment's replicas (2)"),
    (("--tier", "web"), "--tier: 'web' is not a tier of the path (payment)"),
    (("--trigger", "spike", "--tier", "payment"), "--tier: applies to --trigger outage only"),
    (("--set", "tiers.payment.replicas=x"), "tiers.payment.replicas"),
    (("--dask", "tcp://nowhere:1", "--workers", "2"), "--workers applies to --dask local only"),
])
def test_bad_input_is_one_line_with_exit_code_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke(STORM, *args, "--out", str(tmp_path / "m"))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not (tmp_path / "m").exists()


def test_a_missing_scenario_is_named(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "nope.toml"))
    assert result.exit_code == 2 and "nope.toml" in result.output
