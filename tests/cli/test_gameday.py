"""``sim gameday``: the fault language, the blast radius against exact values on a deterministic
case, the SLO budget the fault burns, and one-line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.cli.gameday import parse_fault
from sim.cli.options import InputError
from sim.scenario import scenario_from_dict

SCENARIO = """
[scenario]
name = "steady"
replications = 8
[traffic]
arrival_rate = 1.0
[costs]
order_value = 10.0
[path]
tiers = ["web"]
[tiers.web]
replicas = 2
service_time = { dist = "deterministic", value = "1ms" }
zones = ["a", "b"]
[zones.a]
[zones.b]
[slo]
availability = 0.99
window = "1d"
"""


def _scenario():
    return scenario_from_dict({"traffic": {"arrival_rate": 1}, "path": {"tiers": ["web"]},
                               "tiers": {"web": {"replicas": 3, "service_time": "1s", "zones": ["a"]}},
                               "zones": {"a": {}}})


@pytest.mark.parametrize(("text", "expected"), [
    ("zone a down 10m at 14:00", {"zone": "a", "start": 14 * 3600.0, "duration": 600.0}),
    ("web down 45m at 20:00", {"tier": "web", "start": 20 * 3600.0, "duration": 2700.0}),
    ("web 1 replica down 30m at 2h", {"tier": "web", "start": 7200.0, "duration": 1800.0, "replicas": 1}),
    ("web 2 replicas down 5m at day 2 09:30",
     {"tier": "web", "start": 86400.0 + 9.5 * 3600, "duration": 300.0, "replicas": 2}),
    ("web all replicas down 1h at 0s", {"tier": "web", "start": 0.0, "duration": 3600.0}),
])
def test_fault_language(text: str, expected: dict) -> None:
    assert parse_fault(text, _scenario()) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("web goes down", "expected '[zone] NAME [N replicas] down DURATION at TIME'"),
    ("zone c down 10m at 14:00", "zone 'c' is not defined; zones: a"),
    ("db down 10m at 14:00", "tier 'db' is not defined; tiers: web"),
    ("web 4 replicas down 10m at 1h", "web has 3 replica(s)"),
    ("web down -5m at 1h", "is not a positive duration"),
    ("web down 5m at 25:00", "is not a time of day"),
    ("zone a 1 replica down 5m at 1h", "a zone goes down whole"),
])
def test_fault_errors_name_the_fault(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_fault(text, _scenario())
    assert str(err.value.message).startswith(f"--fault {text!r}: ") and message in err.value.message


def test_blast_radius_and_budget_of_a_whole_tier_outage(tmp_path: Path) -> None:
    """No random failures, one attempt per customer: the fault loses λ·D = 600 checkouts in expectation
    (its 95% interval must hold it), adds exactly 600 s of path-down time and burns 600/864 of the budget."""
    path = tmp_path / "steady.toml"
    path.write_text(SCENARIO)
    args = ["gameday", str(path), "--fault", "web down 10m at 1h", "--workers", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("  ")]
    lines = {line.split("  ")[1].strip(): line for line in rows}
    interval = lines["lost checkouts"].split("[")[1].rstrip("]").split(", ")
    low, high = (float(x.replace(",", "")) for x in interval)
    assert low <= 600 <= high
    assert lines["path-down time added (s)"].split()[-3:] == ["600.0", "[600.0,", "600.0]"]
    assert "horizon 4h," in result.output  # the fault ends at 1h10m; two hours of drain, whole hours
    assert "P(breach) without the fault: 0 [0, 0.00918]" in result.output
    assert "P(breach) with the fault: 0 [0, 0.00918]" in result.output
    assert "the fault burns 0.694 of the budget [0.694, 0.694]" in result.output


def test_the_scenario_outages_are_the_fault_when_none_is_given(tmp_path: Path) -> None:
    path = tmp_path / "steady.toml"
    path.write_text(SCENARIO + '\n[[outages]]\nzone = "a"\nstart = "30m"\nduration = "20m"\n')
    result = CliRunner().invoke(cli, ["gameday", str(path), "--workers", "1", "--replications", "2"])
    assert result.exit_code == 0, result.output
    assert "game day: zone a down 20m at day 1 00:30" in result.output
    # one zone of two: the path stays up, nothing of the budget burns
    assert "the fault burns 0 of the budget" in result.output


def test_gameday_errors_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "steady.toml"
    path.write_text(SCENARIO)
    runner = CliRunner()
    for args, message in (([], "no fault to try"), (["--fault", "web down"], "--fault 'web down'"),
                          (["--fault", "web down 1h at 5h", "--horizon", "2h"], "starts after --horizon 2h")):
        result = runner.invoke(cli, ["gameday", str(path), *args])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
