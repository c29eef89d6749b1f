"""Repeatability: the same command and seed give bit-identical metrics in separate processes.

Every run here is a real ``sim`` process, and the processes differ in what could leak into the
results if the model ordered anything by memory address or string hash: ``PYTHONHASHSEED``, the
memory allocated before ``sim`` is imported (so objects land at other addresses), the order of
the ``--set`` flags and the number of worker processes. The scenario crashes replicas every few
minutes with requests in service and waiting, customers retry and give up, a circuit breaker
trips in front of a hanging tier and an asynchronous tier retries its orders: the order in which
a crash fails its victims decides the order of their next random draws. Metrics are compared as
JSON text (floats by ``repr``, so bit for bit) and sweep tables byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Hashable, Iterable, Iterator
from pathlib import Path

import pytest

import sim
from sim.experiment.executors import SerialExecutor, Task, run_task
from sim.experiment.replication import ReplicationResult
from sim.sweeps.design import SweepSpec
from sim.sweeps.plan import plan_sweep
from sim.sweeps.runner import run_sweep

CRASHY = """
[scenario]
name = "crashy"
horizon = "20m"
warmup = "2m"
replications = 3
seed = 11

[traffic]
arrival_rate = 6.0

[customer]
max_attempts = 4
retry_backoff = "5s"
patience = "20s"
abandon_probability = 0.2

[path]
tiers = ["web", "payment", "ledger"]

[tiers.web]
replicas = 3
service_time = { dist = "lognormal", mean = "1s", cv = 1.0 }
concurrency = 8
queue_limit = 20
mtbf = "6m"
mttr = "1m"
failover_delay = "5s"
load_balancing = "least-outstanding"

[tiers.payment]
replicas = 2
service_time = { dist = "lognormal", mean = "1.5s", cv = 1.0 }
concurrency = 8
mtbf = "5m"
mttr = "90s"
failover_delay = "3s"
failure_mode = "hang"

[tiers.payment.circuit_breaker]
failure_rate_threshold = 0.5
window = "10s"
min_calls = 5
open_duration = "15s"
half_open_probes = 2

[tiers.ledger]
replicas = 2
service_time = { dist = "exponential", mean = "2s" }
concurrency = 6
mtbf = "4m"
mttr = "1m"
async = true
async_queue_capacity = 200
async_max_delay = "3m"
"""

# the same scenario either way: two overrides, given in either order
SETS = ("--set", "tiers.web.mttr=70s", "--set", "customer.retry_backoff=6s")
SETS_REVERSED = (*SETS[2:], *SETS[:2])
TIMING = frozenset({"runtime", "wall_s", "cpu_s", "customers_per_s", "workers", "elapsed_s"})


@pytest.fixture
def crashy(tmp_path: Path) -> Path:
    path = tmp_path / "crashy.toml"
    path.write_text(CRASHY)
    return path


def _start(args: list[str], variant: int) -> subprocess.Popen:
    """``sim ARGS`` in a fresh interpreter; ``variant`` changes its hash seed and memory layout."""
    ballast = f"_ballast = [bytearray(n % 512) for n in range({variant} * 5000)]"
    code = f"{ballast}\nfrom sim.cli import main\nmain()"
    root = str(Path(sim.__file__).resolve().parents[1])  # the child imports this very sim package
    env = {**os.environ, "PYTHONHASHSEED": str(1 + 7919 * variant),
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> None:
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr


def _run_all(commands: list[list[str]]) -> None:
    """Run the commands as concurrent processes, each with its own variant; all must succeed."""
    procs = [_start(args, variant) for variant, args in enumerate(commands)]
    for proc in procs:
        _finish(proc)


def _without_timing(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def _results(path: Path) -> object:
    """The JSON written by ``--json``, without run times."""
    return _without_timing(json.loads(path.read_text()))


def _differences(a: object, b: object, where: str = "") -> list[str]:
    """Where two JSON documents differ; numbers are compared by repr (bit for bit, NaN included)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(a.keys() | b.keys(), key=str)
                for d in _differences(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in _differences(x, y, f"{where}[{i}]")]
    return [] if json.dumps(a) == json.dumps(b) else [f"{where}: {a!r} != {b!r}"]


def _assert_same(a: object, b: object, what: str) -> None:
    differences = _differences(a, b)
    if differences:
        pytest.fail(f"{what}: {len(differences)} values differ, e.g. {'; '.join(differences[:3])}")


def test_run_gives_identical_metrics_in_every_process_and_on_any_number_of_workers(
        crashy: Path, tmp_path: Path) -> None:
    outputs = [tmp_path / f"run{i}.json" for i in range(3)]
    base = ["run", str(crashy), "--seed", "5", "--precision", "off"]  # the file's 3 replications, crude
    _run_all([[*base, *SETS, "--workers", "1", "--json", str(outputs[0])],
              [*base, *SETS_REVERSED, "--workers", "1", "--json", str(outputs[1])],
              [*base, *SETS, "--workers", "2", "--json", str(outputs[2])]])
    first = json.loads(outputs[0].read_text())
    replications = first["per_replication"]
    assert [r["replication"] for r in replications] == [0, 1, 2]
    for r in replications:  # the scenario does what it is here for: crashes, retries, an outage
        assert r["retry_load_factor"] > 1.0 and r["outage_count"] >= 1 and r["deferred_checkouts"] >= 1
    assert len({json.dumps(r["latency_mean_s"]) for r in replications}) == 3  # replications differ
    results = [_results(path) for path in outputs]
    _assert_same(results[0], results[1], "a second process (other hash seed and layout, --set order)")
    _assert_same(results[0], results[2], "two worker processes instead of one")


def _sweep(scenario: Path, out: Path, workers: int, sets: tuple[str, ...] = SETS) -> list[str]:
    return ["sweep", str(scenario), *sets, "--grid", "tiers.payment.replicas=1,2", "--horizon", "10m",
            "--replications", "3", "--seed", "5", "--workers", str(workers), "--out", str(out)]


def _stored(folder: Path) -> int:
    log = folder / "results.jsonl"
    return log.read_bytes().count(b"\n") if log.exists() else 0


TABLES = ("results.csv", "summary.csv")


def test_sweep_tables_are_identical_in_every_process_and_after_a_kill_and_resume(
        crashy: Path, tmp_path: Path) -> None:
    whole, other, part = tmp_path / "whole", tmp_path / "other", tmp_path / "part"
    # the interrupted sweep: killed (SIGKILL, nothing flushed or cleaned up) once two tasks are stored
    victim = _start(_sweep(crashy, part, 1), 2)
    deadline = time.monotonic() + 300
    while _stored(part) < 2:
        assert victim.poll() is None, f"the sweep ended before it could be killed: {victim.stderr.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    victim.kill()
    victim.communicate(timeout=60)
    stored = _stored(part)
    assert 2 <= stored < 6 and not (part / "results.csv").exists()
    _run_all([_sweep(crashy, whole, 1), _sweep(crashy, other, 2, SETS_REVERSED),
              _sweep(crashy, part, 2, SETS_REVERSED)])  # the last one resumes the killed sweep
    lines = [json.loads(line) for line in (part / "results.jsonl").read_text().splitlines()]
    keys = sorted((x["point"], x["replication"]) for x in lines)
    assert keys == [(p, r) for p in range(2) for r in range(3)]  # every task once, none lost or doubled
    for name in TABLES:
        expected = (whole / name).read_bytes()
        assert (other / name).read_bytes() == expected, f"{name} differs when written by another process"
        assert (part / name).read_bytes() == expected, f"{name} differs after a kill and resume"


def _stress(scenario: Path, out: Path, workers: int, sets: tuple[str, ...] = SETS) -> list[str]:
    return ["stress", str(scenario), *sets, "--objective", "lost_fraction<0.3", "--objective",
            "latency_mean_s<1000", "--replications", "2", "--horizon", "5m", "--precision", "0.25",
            "--seed", "5", "--workers", str(workers), "--json", str(out)]


@pytest.mark.slow
def test_stress_gives_identical_breaking_points_and_probes_in_every_process(
        crashy: Path, tmp_path: Path) -> None:
    outputs = [tmp_path / f"stress{i}.json" for i in range(3)]
    _run_all([_stress(crashy, outputs[0], 1), _stress(crashy, outputs[1], 1, SETS_REVERSED),
              _stress(crashy, outputs[2], 2)])
    results = [_results(path) for path in outputs]
    assert "latency_mean_s" in json.dumps(results[0])  # every probe's values are compared, not only verdicts
    _assert_same(results[0], results[1], "a second process (other hash seed and layout, --set order)")
    _assert_same(results[0], results[2], "two worker processes instead of one")


class _ReversedExecutor(SerialExecutor):
    """Finishes tasks in the reverse of the order they were given (as a pool may)."""

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Hashable, ReplicationResult]]:
        yield from reversed([run_task(task) for task in tasks])


def test_sweep_results_do_not_depend_on_the_order_tasks_finish(crashy: Path, tmp_path: Path) -> None:
    plan = plan_sweep(SweepSpec(scenario=crashy, grid={"tiers.payment.replicas": [1, 2]}, replications=2,
                                seed=5), ["scenario.horizon=3m"])
    forward = run_sweep(plan, SerialExecutor(), out=tmp_path / "forward")
    backward = run_sweep(plan, _ReversedExecutor(), out=tmp_path / "backward")
    assert list(backward.stored) == list(forward.stored) == [(p, r) for p in range(2) for r in range(2)]
    assert backward.stored == forward.stored
    for name in TABLES:
        assert (tmp_path / "backward" / name).read_bytes() == (tmp_path / "forward" / name).read_bytes()
