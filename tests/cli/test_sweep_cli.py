"""``sim sweep`` through CliRunner and as a real process: output files, errors, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim
from sim.cli import cli

TINY = """
[scenario]
name = "tiny"
horizon = "20m"
replications = 2
seed = 7

[traffic]
arrival_rate = 1.0

[customer]
max_attempts = 2

[path]
tiers = ["web", "payment"]

[tiers.web]
replicas = 2
service_time = "200ms"
mtbf = "30m"
mttr = "5m"

[tiers.payment]
replicas = 1
service_time = "400ms"
mtbf = "20m"
mttr = "10m"
"""

OUTPUTS = ("results.csv", "summary.csv", "manifest.json")


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def invoke(*args: str):
    return CliRunner().invoke(cli, ["sweep", *args], catch_exceptions=False)


def test_sweep_writes_its_files_and_a_second_run_resumes(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [str(tiny), "--grid", "tiers.payment.replicas=1,2", "--range", "tiers.web.mttr=1m:5m:2",
            "--workers", "1", "--out", str(out), "--reference", "0"]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    assert "sweep tiny-" in first.stdout and "4 points × 2 replications = 8 tasks" in first.stdout
    assert "Δ lost vs point 0" in first.stdout
    assert "8 tasks run" in first.stdout
    assert "[#" not in first.stderr  # no progress bar when stderr is not a terminal
    assert {p.name for p in out.iterdir()} >= {*OUTPUTS, "results.jsonl"}
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    second = invoke(*args)
    assert second.exit_code == 0
    assert "resuming: 8 of 8 tasks already stored" in second.stderr
    assert "0 tasks run" in second.stdout and "8 resumed" in second.stdout
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before


def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


def test_default_folder_is_named_by_scenario_and_hash(tiny: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    empty_cwd(tmp_path, monkeypatch)
    result = invoke(str(tiny), "--grid", "tiers.payment.replicas=1,2", "--workers", "1")
    assert result.exit_code == 0, result.output
    (folder,) = Path("results").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert folder.name == f"tiny-{manifest['hash'][:12]}"


def test_sweep_file(tiny: Path, tmp_path: Path) -> None:
    sweep_file = tmp_path / "mttr.toml"
    sweep_file.write_text('[sweep]\nscenario = "tiny.toml"\nreplications = 3\n'
                          '[grid]\n"tiers.payment.mttr" = ["5m", "20m"]\n')
    out = tmp_path / "out"
    result = invoke("--file", str(sweep_file), "--grid", "tiers.web.replicas=1,2", "--workers", "1",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header.startswith("point,replication,tiers.payment.mttr,tiers.web.replicas,")
    assert len((out / "results.csv").read_text().splitlines()) == 1 + 4 * 3


@pytest.mark.parametrize(("args", "message"), [
    (["--grid", "tiers.payment.replics=1,2"], "--grid: tiers.payment.replics: unknown key"),
    (["--grid", "tiers.payment.replicas=1,0"], "--grid: tiers.payment.replicas = 0: must be an integer >= 1"),
    (["--grid", "tiers.payment.replicas="], "expected V1,V2"),
    (["--grid", "replicas"], "expected KEY=V1,V2"),
    (["--range", "tiers.payment.mttr=5m:60m:0"], "STEPS = 0 is an empty range"),
    (["--range", "tiers.payment.mttr=60m:5m:4"], "empty range: LO (3600) must be below HI (300)"),
    (["--range", "tiers.payment.mttr=5m:60m"], "expected LO:HI:STEPS"),
    (["--lhs", "traffic.arrival_rate=1:2"], "--lhs needs --samples K"),
    (["--lhs", "traffic.arrival_rate=1:2", "--samples", "6", "--sampler", "sobol"], "a power of 2"),
    (["--grid", "tiers.web.replicas=1,2", "--range", "tiers.web.replicas=1:3:3"], "swept twice"),
    (["--grid", "tiers.web.replicas=1,2", "--reference", "7"], "point 7 does not exist"),
    (["--grid", "tiers.web.replicas=1,2", "--set", "tiers.web.min_healthy=2"],
     "must be an integer from 1 to replicas (1) (at sweep point 0: tiers.web.replicas=1)"),
    (["--grid", "tiers.web.replicas=1,2", "--dask", "tcp://127.0.0.1:8786", "--workers", "2"],
     "--workers applies to --dask local only"),
    (["--file", "missing.toml"], "missing.toml: cannot read the sweep file"),
    (["--replications", "1"], "Invalid value for '--replications'"),
])
def test_bad_designs_exit_2_before_any_work(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            args: list[str], message: str) -> None:
    here = empty_cwd(tmp_path, monkeypatch)
    result = CliRunner().invoke(cli, ["sweep", str(tiny), *args, "--out", "out"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    if "Invalid value" not in message:  # click's own usage errors add a usage line
        assert result.stderr.count("\n") == 1
    assert list(here.iterdir()) == []  # nothing written


def test_a_folder_of_another_sweep_is_refused(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = invoke(str(tiny), "--grid", "tiers.web.replicas=1,2", "--workers", "1", "--out", str(out))
    assert first.exit_code == 0
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    other = invoke(str(tiny), "--grid", "tiers.web.replicas=1,3", "--workers", "1", "--out", str(out))
    assert other.exit_code == 2
    assert "holds a different sweep (tiny-" in other.stderr
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before


# -- as a real process -----------------------------------------------------------------------------


def _command(scenario: Path, out: Path) -> list[str]:
    return [sys.executable, "-c", "from sim.cli import main; main()", "sweep", str(scenario),
            "--grid", "tiers.payment.replicas=1,2,3", "--range", "tiers.payment.mttr=5m:20m:4",
            "--horizon", "2h", "--replications", "6", "--seed", "3", "--workers", "2", "--out", str(out)]


def _environment() -> dict[str, str]:
    # the child imports this very sim package, installed or not
    root = str(Path(sim.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


def _stored(folder: Path) -> int:
    log = folder / "results.jsonl"
    return log.read_bytes().count(b"\n") if log.exists() else 0


def _start_and_stop(scenario: Path, out: Path, sig: int, after: int) -> subprocess.Popen:
    proc = subprocess.Popen(_command(scenario, out), env=_environment(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while _stored(out) < after:
        assert proc.poll() is None, f"the sweep ended before it could be interrupted: {proc.stderr.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, sig)
    proc.wait(timeout=120)
    return proc


@pytest.mark.slow
def test_sigkill_mid_sweep_then_rerun_gives_the_files_of_an_uninterrupted_run(tiny: Path,
                                                                               tmp_path: Path) -> None:
    interrupted, whole = tmp_path / "interrupted", tmp_path / "whole"
    proc = _start_and_stop(tiny, interrupted, signal.SIGKILL, after=8)
    assert proc.returncode == -signal.SIGKILL
    stored = _stored(interrupted)
    assert 8 <= stored < 72
    assert not (interrupted / "results.csv").exists()
    rerun = subprocess.run(_command(tiny, interrupted), env=_environment(), capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resuming: {stored} of 72 tasks already stored" in rerun.stderr
    fresh = subprocess.run(_command(tiny, whole), env=_environment(), capture_output=True, text=True,
                           timeout=600)
    assert fresh.returncode == 0, fresh.stderr
    for name in OUTPUTS:
        assert (interrupted / name).read_bytes() == (whole / name).read_bytes(), name
    lines = (interrupted / "results.jsonl").read_text().splitlines()
    assert len(lines) == len({(json.loads(x)["point"], json.loads(x)["replication"]) for x in lines}) == 72


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_a_resume_hint(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _start_and_stop(tiny, out, signal.SIGINT, after=4)
    stderr = proc.stderr.read()
    assert proc.returncode == 130, stderr
    assert "interrupted:" in stderr and "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    assert 4 <= _stored(out) < 72
