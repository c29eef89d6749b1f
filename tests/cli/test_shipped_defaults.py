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
