"""``sim compare --select``: its decision, the SLO constraint, and one-line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sim.cli import cli

SCENARIO = """
[scenario]
name = "{name}"
horizon = "6h"
[traffic]
arrival_rate = 0.05
[path]
tiers = ["web"]
[tiers.web]
replicas = {replicas}
service_time = "50ms"
mtbf = "{mtbf}"
mttr = "30m"
replica_cost_per_hour = {cost}
[slo]
availability = 0.99
window = "1d"
"""


def _files(tmp_path: Path) -> list[str]:
    out = []
    for name, replicas, mtbf, cost in (("flaky", 1, "10m", 1), ("solid", 1, "inf", 3), ("pair", 2, "2h", 2)):
        path = tmp_path / f"{name}.toml"
        path.write_text(SCENARIO.format(name=name, replicas=replicas, mtbf=mtbf, cost=cost))
        out.append(str(path))
    return out


def test_select_names_the_best_and_stops_at_the_first_stage(tmp_path: Path) -> None:
    files = _files(tmp_path)
    result = CliRunner().invoke(cli, ["compare", files[0], files[1], "--select", "--delta", "0.05",
                                      "--metric", "availability", "--workers", "1", "--n0", "10"])
    assert result.exit_code == 0, result.output
    best = "solid is best (or within δ = 0.05 of the best) in availability with probability ≥ 95%"
    assert best in result.output
    assert "eliminated at stage 10" in result.output
    assert "10 replications" not in result.output.splitlines()[0]


def test_the_slo_constraint_leaves_out_scenarios_that_breach_too_often(tmp_path: Path) -> None:
    files = _files(tmp_path)
    result = CliRunner().invoke(cli, ["compare", *files, "--select", "--delta", "0.5", "--metric",
                                      "infrastructure_cost", "--max-breach", "0.5", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "flaky: P(SLO breach per window) exact 1: fails ≤ 0.5" in result.output
    assert "solid: P(SLO breach per window) exact 0: meets" in result.output
    # the pair breaches a 99% day often (two replicas, MTBF 2 h, MTTR 30 min): only solid is left
    assert "solid is the only scenario that meets the SLO constraint" in result.output


def test_select_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    files = _files(tmp_path)
    runner = CliRunner()
    for args, message in (([], "--select needs --delta D > 0"),
                          (["--delta", "1", "--metric", "nope"], "--metric nope: unknown metric"),
                          (["--delta", "1", "--metric", "mean_recovery_time_s"],
                           "mean_recovery_time_s has no value in some replication of solid")):
        result = runner.invoke(cli, ["compare", files[0], files[1], "--select", "--workers", "1", *args])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
