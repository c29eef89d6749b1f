"""Long commands are not silent when stderr is not a terminal: a real ``sim stress`` with its output
redirected to a file writes its start line, progress lines with done/total, the first estimate and its
end line while it runs, before the result; the other long commands write their start and end lines."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

TINY = """
[scenario]
name = "tiny-stress"
horizon = "10m"
replications = 2
seed = 3

[traffic]
arrival_rate = 1.0

[customer]
patience = "10s"

[path]
tiers = ["web"]

[tiers.web]
replicas = 2
concurrency = 2
service_time = "500ms"
"""

# the command line's `sim`, with a short interval and every estimate shown (parameters of the module,
# set before the command makes its progress)
SIM = """
import sys
import sim.cli.progress as progress
progress.DEFAULT_INTERVAL_S = 0.02
progress.ANNOUNCE_S = 0.0
from sim.cli import main
sys.argv = ["sim", *sys.argv[1:]]
main()
"""


def _stress(tmp_path: Path, horizon: str) -> list[str]:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    log = tmp_path / "stress.log"
    with log.open("w") as out:  # stdout and stderr to one file, as `> log 2>&1` does
        done = subprocess.run([sys.executable, "-c", SIM, "stress", str(scenario), "--objective",
                               "latency_p95_s<2", "--replications", "2", "--horizon", horizon,
                               "--precision", "0.05", "--workers", "2"],
                              stdout=out, stderr=subprocess.STDOUT, timeout=300)
    lines = log.read_text().splitlines()
    assert done.returncode == 0, lines
    assert not any("\r" in line for line in lines)
    return lines


def test_stress_writes_progress_lines_to_a_file_before_its_result(tmp_path: Path) -> None:
    lines = _stress(tmp_path, "10m")
    result = next(i for i, line in enumerate(lines) if line.startswith("healthy (no failures"))
    progress = [line for line in lines[:result] if line.startswith("probing: ")]
    assert progress[0] == "probing: started, 4 bisections (2 replications × 2 conditions), 2 at once"
    # periodic lines while it runs (which count they show depends on the machine's speed)
    assert any(re.match(r"probing: [0-3](/4)? bisections, [0-9:]+ elapsed", line) for line in progress)
    # after the first bisection, or the first two when they end within the same second
    pattern = (r"probing: about \d+ s to go for the other [23] of 4 bisections \(from the first "
               r"(bisection's|2 bisections') time, [\d.]+ s, 2 at once\)")
    estimate = [line for line in progress if re.fullmatch(pattern, line)]
    assert len(estimate) == 1, progress
    assert progress[-1].startswith("probing: done, 4/4 bisections in ")
    assert lines[result - 1] == progress[-1]  # the end line comes right before the result
    assert not any(line.startswith("probing: ") for line in lines[result:])


@pytest.mark.slow
def test_a_longer_stress_shows_bisections_done_while_it_runs(tmp_path: Path) -> None:
    lines = _stress(tmp_path, "1h")
    end = next(i for i, line in enumerate(lines) if line.startswith("probing: done, 4/4 bisections in "))
    running = [line for line in lines[:end] if line.startswith(("probing: 1/4 ", "probing: 2/4 ",
                                                                "probing: 3/4 "))]
    assert running and all(" elapsed, ETA " in line and "--:--" not in line for line in running)


def test_a_sweep_writes_its_start_and_end_lines(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    result = CliRunner().invoke(cli, ["sweep", str(scenario), "--grid", "tiers.web.replicas=1,2",
                                      "--replications", "2", "--workers", "1", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "sweep: started, 4 tasks, 1 at once"
    assert lines[-1].startswith("sweep: done, 4/4 tasks in ")
    assert "4 tasks run" in result.stdout


def test_a_game_day_counts_both_runs(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    result = CliRunner().invoke(cli, ["gameday", str(scenario), "--fault", "web 1 replica down 5m at 2m",
                                      "--horizon", "10m", "--workers", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "game day: started, 2 runs × 2 replications = 4 replications, 1 at once"
    assert lines[-1].startswith("game day: done, 4/4 replications in ")
