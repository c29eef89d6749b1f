"""Stress testing: objectives, the bisection for a breaking point, and ``sim stress``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.scenario import scenario_from_dict
from sim.sweeps.stress import (
    Condition,
    breaking_point,
    degradable_tiers,
    healthy,
    one_replica_down,
    parse_objective,
    steady,
    stress,
)

TINY_TOML = """
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
replicas = 1
concurrency = 2
service_time = "500ms"
"""

RAW = {
    "scenario": {"name": "tiny-stress", "horizon": "10m", "replications": 2, "seed": 3},
    "traffic": {"arrival_rate": 1.0},
    "customer": {"patience": "10s"},
    "path": {"tiers": ["web"]},
    "tiers": {"web": {"replicas": 1, "concurrency": 2, "service_time": "500ms"}},
}


def test_parse_objective() -> None:
    assert parse_objective(["lost_fraction<0.001", " latency_p95_s <= 2 "]) == (
        Condition("lost_fraction", "<", 0.001),
        Condition("latency_p95_s", "<=", 2.0),
    )
    assert parse_objective(["availability_web>=0.99"])[0].metric == "availability_web"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lost_fraction", "expected METRIC<VALUE"),
        ("lost_fraction=0.1", "expected METRIC<VALUE"),
        ("lost_fraction<abc", "expected METRIC<VALUE"),
        ("lost_fractoin<0.1", "unknown metric 'lost_fractoin'"),
        ("<0.1", "expected METRIC<VALUE"),
    ],
)
def test_parse_objective_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_objective([text])


def test_condition_met() -> None:
    c = Condition("latency_p95_s", "<", 2.0)
    assert c.met({"latency_p95_s": 1.0})
    assert not c.met({"latency_p95_s": 2.0})
    assert not c.met({"latency_p95_s": math.nan})  # no data never meets an objective
    assert str(c) == "latency_p95_s < 2"


def test_steady_removes_time_variation() -> None:
    raw = dict(RAW, traffic={"arrival_rate": 1.0, "daily_profile": [1.0] * 23 + [3.0]})
    s = steady(scenario_from_dict(raw), 5.0)
    assert s.traffic.arrival_rate_per_s == 5.0
    assert not s.traffic.time_varying


def test_breaking_point_is_consistent_with_its_probes() -> None:
    scenario = scenario_from_dict(RAW)
    objective = parse_objective(["latency_p95_s<2"])
    point, probes, censored = breaking_point(scenario, objective, seed=3, replication=0, precision=0.05)
    assert not censored
    # capacity is 2 / 0.5 s = 4 customers/s: the objective breaks before that
    assert 0.5 < point < 4.0
    met = {p.arrival_rate_per_s: p.met for p in probes}
    assert met[point] is True  # the point itself was probed and met the objective
    above = [rate for rate in met if rate > point]
    lowest_failing = min(above)
    assert met[lowest_failing] is False  # the probe right above fails
    assert (lowest_failing - point) / point <= 0.05
    # every probe at or below the point was met, every one above failed (monotone here)
    assert all(met[r] for r in met if r <= point)
    assert not any(met[r] for r in above)


def test_breaking_point_shrinks_when_the_start_fails() -> None:
    raw = dict(RAW, traffic={"arrival_rate": 20.0})
    point, probes, censored = breaking_point(
        scenario_from_dict(raw), parse_objective(["latency_p95_s<2"]), seed=3, replication=0, precision=0.1
    )
    assert not censored and 0.0 < point < 4.0
    assert probes[0].arrival_rate_per_s == 20.0 and not probes[0].met


def test_breaking_point_censored_when_never_broken() -> None:
    point, probes, censored = breaking_point(
        scenario_from_dict(RAW), parse_objective(["lost_fraction<=1"]), seed=3, replication=0, max_factor=4.0
    )
    assert censored and point == 4.0
    assert all(p.met for p in probes)


def test_stress_summary() -> None:
    result = stress(scenario_from_dict(RAW), parse_objective(["latency_p95_s<2"]), replications=2, seed=3,
                    workers=1, precision=0.1)
    assert len(result.breaking_points) == 2
    assert result.summary.n == 2
    assert result.summary.mean == pytest.approx(sum(result.breaking_points) / 2)
    assert result.to_dict()["breaking_point_per_s"]["n"] == 2


def test_cli_stress_prints_breaking_point(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    out = tmp_path / "stress.json"
    result = CliRunner().invoke(
        cli,
        ["stress", str(path), "--objective", "latency_p95_s<2", "--replications", "2", "--horizon", "10m",
         "--precision", "0.1", "--workers", "1", "--json", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "breaking point" in result.output
    assert out.exists()


@pytest.mark.parametrize("objective", ["nonsense", "lost_fractoin<0.1"])
def test_cli_stress_bad_objective_exits_2(tmp_path: Path, objective: str) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    result = CliRunner().invoke(cli, ["stress", str(path), "--objective", objective, "--workers", "1"])
    assert result.exit_code == 2, result.output
    assert "objective" in result.output


TWO_REPLICAS = dict(
    RAW,
    tiers={"web": {"replicas": 2, "concurrency": 2, "service_time": "500ms", "mtbf": "30m", "mttr": "10m"}},
    outages=[{"tier": "web", "start": "1m", "duration": "5m", "replicas": 1}],
)


def test_healthy_holds_failures_off() -> None:
    s = healthy(scenario_from_dict(TWO_REPLICAS))
    assert s.tier("web").mtbf is None
    assert s.outages == ()


def test_one_replica_down_for_the_whole_run() -> None:
    s = one_replica_down(scenario_from_dict(TWO_REPLICAS), "web")
    assert s.tier("web").mtbf is None
    (outage,) = s.outages
    assert (outage.tier, outage.replicas, outage.start_s) == ("web", 1, 0.0)
    assert outage.duration_s > s.warmup_s + s.horizon_s
    assert degradable_tiers(s) == ("web",)
    assert degradable_tiers(scenario_from_dict(RAW)) == ()  # one replica: "one down" is a full outage


def test_probes_name_the_conditions_that_failed() -> None:
    objective = parse_objective(["lost_fraction<=1", "latency_p95_s<2"])
    _, probes, _ = breaking_point(scenario_from_dict(RAW), objective, seed=3, replication=0, precision=0.1)
    for p in probes:
        assert p.met == (not p.failed)
        assert set(p.values) == {"lost_fraction", "latency_p95_s"}
        # only the latency condition can fail: lost_fraction <= 1 always holds
        assert p.failed in ((), ("latency_p95_s < 2",))
        assert p.met == (p.values["latency_p95_s"] < 2)


def test_healthy_and_one_down_are_reported_apart() -> None:
    # one replica serves 2 at once for 0.5 s: 4 customers/s; two replicas: 8 customers/s
    result = stress(scenario_from_dict(TWO_REPLICAS), parse_objective(["latency_p95_s<2"]), replications=2,
                    seed=3, workers=1, precision=0.1)
    (down,) = result.one_replica_down
    assert down.condition == "web"
    assert all(p < 4.0 for p in down.breaking_points)  # below one replica's capacity
    assert all(4.0 < p < 8.0 for p in result.healthy.breaking_points)  # beyond one replica, below two
    data = result.to_dict()
    assert data["breaking_point_per_s"]["n"] == 2
    assert data["one_replica_down"]["web"]["breaking_point_per_s"]["n"] == 2
    assert "failed" in data["per_replication"][0]["probes"][0]


def test_cli_stress_exits_2_when_the_objective_never_holds(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    out = tmp_path / "stress.json"
    result = CliRunner().invoke(
        cli, ["stress", str(path), "--objective", "latency_p95_s<0.1", "--replications", "2",
              "--horizon", "5m", "--workers", "1", "--json", str(out)])
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert "never holds" in last and "latency_p95_s < 0.1" in last
    assert json.loads(out.read_text())["per_replication"][0]["never_met"] is True


def test_cli_stress_header_counts_the_replications_that_run(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML.replace("replications = 2", "replications = 9"))
    result = CliRunner().invoke(
        cli, ["stress", str(path), "--objective", "latency_p95_s<2", "--replications", "2", "--horizon", "5m",
              "--precision", "0.2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "9 replications" not in result.output
    assert "2 replications" in result.output.splitlines()[0]
    assert "✗ latency_p95_s" in result.output  # the failing condition of each failed probe


def test_stress_reports_progress() -> None:
    seen: list[tuple[int, int]] = []
    stress(scenario_from_dict(RAW), parse_objective(["latency_p95_s<2"]), replications=2, seed=3, workers=1,
           precision=0.2, one_down=False, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 2), (1, 2), (2, 2)]  # one bisection per replication (one replica: healthy only)
