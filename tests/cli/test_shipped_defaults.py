"""With no flags, every shipped scenario whose path cannot fail at random (its outages injected, its
losses from retry dynamics) meets its precision targets: the targets are ones the run can move."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.experiment.precision import random_failures
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FIXED = [p for p in sorted(SCENARIOS.glob("*.toml")) if not random_failures(load_scenario(str(p)))]


def test_the_shipped_scenarios_include_ones_without_random_failures() -> None:
    assert {p.stem for p in FIXED} >= {"retry-storm", "layered-retries", "layered-retries-budgeted"}


@pytest.mark.slow
@pytest.mark.parametrize("path", FIXED, ids=[p.stem for p in FIXED])
def test_no_flags_meet_every_target(path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "precision: target met" in result.output, result.output[-2000:]
    assert any(x.endswith("stopped: every target met") for x in lines)
    assert any(x.startswith("  no unavailability target: ") for x in lines)
    assert "TARGET NOT MET" not in result.output


BUSY = """
[scenario]
name = "busy"
horizon = "1h"
replications = 4
seed = 2

[traffic]
arrival_rate = 50.0

[customer]
max_attempts = 4
retry_backoff = "1s"
patience = "5s"

[path]
tiers = ["web", "payment"]

[tiers.web]
replicas = 2
service_time = "20ms"
concurrency = 4
mtbf = "1h"
mttr = "5m"

[tiers.payment]
replicas = 2
service_time = "100ms"
concurrency = 4
mtbf = "1h"
mttr = "5m"
"""


@pytest.mark.slow
def test_a_busy_site_whose_storms_never_settle_gets_an_answer_not_a_traceback(tmp_path: Path) -> None:
    """One payment replica down leaves 40 requests/s for 50 arriving: the retry storm outlives the
    failure, the rare method's window never settles, and the default run falls back to windows."""
    path = tmp_path / "busy.toml"
    path.write_text(BUSY)
    result = CliRunner().invoke(cli, ["run", str(path), "--max-time", "5s"])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "method rare could not finish: an incident window did not settle" in result.output
    assert "the whole run fell back to method windows" in result.output
    assert "method windows:" in result.output
