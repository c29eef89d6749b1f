"""`sim run` as a user runs it: through click's CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.stats.metrics import METRICS

SHORT = ["--horizon", "2h", "--replications", "3"]

SMALL = """
[scenario]
name = "small"
horizon = "1h"
replications = 3
seed = 5

[traffic]
arrival_rate = 3.0

[customer]
max_attempts = 2

[path]
tiers = ["web", "payment"]

[tiers.web]
replicas = 2
service_time = "100ms"
mtbf = "2h"
mttr = "10m"

[tiers.payment]
replicas = 1
service_time = "300ms"
concurrency = 8
"""


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_run_prints_description_and_table() -> None:
    result = invoke("run", "--redundancy", "2", *SHORT, "--workers", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("baseline: web×2 → payment×2")
    for name in ("attempted_checkouts", "lost_checkouts", "availability", "latency_p95_s"):
        assert any(line.startswith(name) for line in lines), name
    assert "3 replications, seed 1, 1 worker(s)" in result.output


def test_json_has_every_metric_and_is_identical_for_any_number_of_workers(tmp_path: Path) -> None:
    paths = []
    for workers in ("1", "2"):
        path = tmp_path / f"w{workers}.json"
        result = invoke("run", *SHORT, "--workers", workers, "--json", str(path))
        assert result.exit_code == 0, result.output
        paths.append(path)
    one, two = (json.loads(p.read_text()) for p in paths)
    assert set(METRICS) <= set(one["metrics"])
    for summary in one["metrics"].values():  # a null one says why
        keys = {"mean", "std", "n", "ci_low", "ci_high", "method", "rel_half_width"}
        assert set(summary) - {"reason"} == keys
        assert ("reason" in summary) == (summary["mean"] is None)
    assert one["seed"] == 1 and one["replications"] == 3 and one["version"]
    assert one["scenario"]["scenario"]["horizon"] == 7200.0
    assert json.dumps(one["metrics"], sort_keys=True) == json.dumps(two["metrics"], sort_keys=True)
    assert one["per_replication"] == two["per_replication"]
    assert {"wall_s", "customers_per_s"} <= set(one["runtime"])


def test_seeded_output_is_reproducible(tmp_path: Path) -> None:
    """A regression test of the CLI's numbers: same scenario and seed, same table."""
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    first = invoke("run", str(path), "--workers", "1")
    second = invoke("run", str(path), "--workers", "2")
    assert first.exit_code == second.exit_code == 0
    table = [line for line in first.stdout.splitlines() if "worker(s)" not in line]
    assert table == [line for line in second.stdout.splitlines() if "worker(s)" not in line]


def test_redundancy_raises_availability() -> None:
    """More replicas: fewer lost checkouts, higher availability (paired by common random numbers)."""
    out = {}
    for n in ("1", "3"):
        path_args = ("run", "--redundancy", n, "--horizon", "1d", "--replications", "4", "--workers", "2",
                     "--set", "traffic.arrival_rate=0.5")
        result = invoke(*path_args)
        assert result.exit_code == 0, result.output
        out[n] = {line.split()[0]: line.split()[1] for line in result.output.splitlines()[2:] if line.strip()}
    assert float(out["3"]["availability"].rstrip("%")) > float(out["1"]["availability"].rstrip("%"))
    lost = {n: float(out[n]["lost_checkouts"].replace(",", "")) for n in out}
    assert lost["3"] < lost["1"]


# (text in SMALL, replaced by, the key the error must name, what it must say is allowed)
BAD_FILES = {
    "unknown key": ('mtbf = "2h"', 'mtfb = "2h"', "tiers.web.mtfb", "did you mean 'mtbf'"),
    "negative mttr": ('mttr = "10m"', 'mttr = "-5m"', "tiers.web.mttr", "duration"),
    "zero rate": ("arrival_rate = 3.0", "arrival_rate = 0", "traffic.arrival_rate", "> 0"),
    "undefined path tier": ('tiers = ["web", "payment"]', 'tiers = ["web", "db"]', "path.tiers", "'db'"),
    "wrong type": ("replicas = 2", 'replicas = "two"', "tiers.web.replicas", "integer"),
    "bad distribution": ('mttr = "10m"', 'mttr = { dist = "gamma", mean = "5m" }', "tiers.web.mttr",
                         "lognormal"),
    "min_healthy above replicas": ("replicas = 2", "replicas = 2\nmin_healthy = 5", "tiers.web.min_healthy",
                                   "replicas"),
    "bad backoff policy": ("max_attempts = 2", 'max_attempts = 2\nbackoff_policy = "linear"',
                           "customer.backoff_policy", "full-jitter"),
    "breaker threshold": ("concurrency = 8", "concurrency = 8\n[tiers.payment.circuit_breaker]\n"
                          "failure_rate_threshold = 1.5", "failure_rate_threshold", "0 to 1"),
    "outage on unknown tier": ("seed = 5", 'seed = 5\n[[outages]]\ntier = "dns"\nstart = "1h"\n'
                               'duration = "5m"', "outages", "dns"),
}


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_malformed_scenario_gives_one_clear_line_and_exit_2(tmp_path: Path, case: str) -> None:
    old, bad, key, allowed = BAD_FILES[case]
    assert old in SMALL
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.replace(old, bad, 1))
    result = invoke("run", str(path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    message = result.output.strip()
    assert message.count("\n") == 0, message
    assert str(path) in message and key in message and allowed in message, message


@pytest.mark.parametrize(("args", "expected"), [
    (["run", "nosuchscenario"], "no such file or built-in scenario"),
    (["run", "--set", "tiers.web.replicas"], "expected KEY=VALUE"),
    (["run", "--set", "tiers.nosuch.replicas=2"], "tiers.nosuch"),
    (["run", "--redundancy", "0"], "--redundancy"),
    (["run", "--replications", "0"], "--replications"),
    (["run", "--horizon", "soon"], "scenario.horizon"),
    (["run", "--set", "customer.max_attempts=0"], "customer.max_attempts"),
])
def test_bad_flags_exit_2_without_traceback(args: list[str], expected: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output


def test_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[scenario\nname = 1\n")
    result = invoke("run", str(path))
    assert result.exit_code == 2 and str(path) in result.output and "TOML" in result.output


@pytest.mark.slow
def test_real_subprocess_from_another_directory(tmp_path: Path) -> None:
    """`sim run` works from any directory (the baseline is installed with the package)."""
    sim = str(Path(sys.executable).with_name("sim"))  # the installed console script
    done = subprocess.run(
        [sim, "run", "--redundancy", "2", *SHORT],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "lost_checkouts" in done.stdout
    bad = subprocess.run(
        [sim, "run", "--set", "tiers.web.mttr=-1"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "tiers.web.mttr" in bad.stderr
