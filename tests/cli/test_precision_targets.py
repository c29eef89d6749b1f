"""Default precision targets are only those the scenario can move: a path that cannot fail at random
has no unavailability target, and the output and the JSON say which target was dropped and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.experiment import run
from sim.experiment.precision import DEFAULT_TARGETS, default_targets
from sim.scenario import load_scenario
from sim.scenario.load import scenario_from_dict


def _scenario(mtbf: str | None, outage: bool) -> dict:
    tier = {"replicas": 2, "service_time": "100ms", "concurrency": 4}
    if mtbf:
        tier |= {"mtbf": mtbf, "mttr": "5m"}
    data = {"scenario": {"name": "targets", "horizon": "20m", "replications": 3, "seed": 8},
            "traffic": {"arrival_rate": 5.0}, "customer": {"patience": "2s", "max_attempts": 2},
            "path": {"tiers": ["web"]}, "tiers": {"web": tier}}
    if outage:
        data["outages"] = [{"tier": "web", "start": "5m", "duration": "3m", "replicas": 2}]
    return data


@pytest.mark.parametrize(("mtbf", "outage", "dropped"), [
    ("30m", False, False), ("30m", True, False), (None, True, True), (None, False, True),
])
def test_unavailability_is_a_default_target_only_when_something_fails_at_random(mtbf, outage,
                                                                               dropped) -> None:
    targets, why = default_targets(scenario_from_dict(_scenario(mtbf, outage)))
    assert ("unavailability" in why) is dropped
    assert targets == (("lost_checkouts",) if dropped else DEFAULT_TARGETS)
    if dropped:
        assert ("injected outages" in why["unavailability"]) is outage


def test_every_shipped_scenario_without_random_failures_drops_only_the_unavailability() -> None:
    folder = Path(__file__).resolve().parents[2] / "scenarios"
    checked = 0
    for path in sorted(folder.glob("*.toml")):
        scenario = load_scenario(str(path))
        targets, why = default_targets(scenario)
        if not why:
            continue
        checked += 1
        assert targets == ("lost_checkouts",) and set(why) == {"unavailability"}, path.name
        assert not scenario.outages or "injected outages" in why["unavailability"]
    assert checked >= 3  # retry-storm and the two layered-retries scenarios


def test_the_api_default_drops_it_and_an_explicit_target_keeps_it() -> None:
    scenario = scenario_from_dict(_scenario(None, True))
    result = run(scenario, workers=1, precision=0.5, max_time=30)
    assert [o.metric for o in result.precision.outcomes] == ["lost_checkouts"]
    assert dict(result.precision.dropped).keys() == {"unavailability"}
    explicit = run(scenario, workers=1, precision=0.5, max_time=5,
                   targets=["lost_checkouts", "unavailability"])
    assert [o.metric for o in explicit.precision.outcomes] == ["lost_checkouts", "unavailability"]
    assert explicit.precision.dropped == ()


def test_the_cli_says_which_target_was_dropped_and_why(tmp_path: Path) -> None:
    path = tmp_path / "fixed.toml"
    path.write_text("""
[scenario]
name = "fixed"
horizon = "20m"
replications = 3
seed = 8

[traffic]
arrival_rate = 5.0

[customer]
patience = "2s"
max_attempts = 2

[path]
tiers = ["web"]

[tiers.web]
replicas = 2
service_time = "100ms"
concurrency = 4

[[outages]]
tier = "web"
start = "5m"
duration = "3m"
replicas = 2
""")
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["run", str(path), "--workers", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(x.startswith("precision-driven: until lost_checkouts is ±10%") for x in lines)
    dropped = [x for x in lines if x.startswith("  no unavailability target: ")]
    assert len(dropped) == 2  # up front, and in the closing precision report
    assert "injected outages" in dropped[0]
    assert "precision: target met" in result.output
    data = json.loads(out.read_text())
    assert [t["metric"] for t in data["precision"]["targets"]] == ["lost_checkouts"]
    assert data["precision"]["dropped"][0]["metric"] == "unavailability"
    assert "injected outages" in data["precision"]["dropped"][0]["reason"]


def test_a_missed_target_on_random_failures_says_the_rare_method_does_not_apply_here() -> None:
    from sim.cli.run import precision_report
    from sim.experiment.precision import PrecisionOutcome, TargetOutcome

    missed = TargetOutcome("lost_checkouts", 0.1, 1.12, 50.0, 40, met=False)
    outcome = PrecisionOutcome(target=0.1, max_time_s=60.0, outcomes=(missed,), replications=40,
                               looks=(10, 20, 40), stopped_by="time", discarded=0, elapsed_s=60.0)

    def why(**kwargs) -> list[str]:
        return [x for x in precision_report(outcome, 60.0, "windows", **kwargs) if x.startswith("  why: ")]

    assert len(why(rare_possible=False, random_failures=True)) == 1
    assert "does not apply to this scenario" in why(rare_possible=False, random_failures=True)[0]
    assert why(rare_possible=True, random_failures=True) == []  # the remedy names --method rare instead
    assert why(rare_possible=False, random_failures=False) == []  # injected outages: not the reason
