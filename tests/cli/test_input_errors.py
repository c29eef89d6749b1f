"""Bad input through the command line: exit 2 with one line naming the flag or file, before any
simulation, and never a traceback; writes that fail late are one line too."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim.cli.run
import sim.cli.stress
import sim.sweeps.runner
import sim.sweeps.store
from sim.cli import cli

SHORT = ["--horizon", "5m", "--replications", "2", "--workers", "1"]
RAN = "replications, seed"  # the summary line printed after a run


def invoke(args: list[str]):
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result, result.output.strip().splitlines()


def refused(args: list[str]) -> str:
    """The one error line of a command that must exit 2 before running anything."""
    result, lines = invoke(args)
    assert result.exit_code == 2, result.output
    assert RAN not in result.output and "Traceback" not in result.output
    assert lines[-1].startswith("Error: ")
    return lines[-1].removeprefix("Error: ")


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "plain"
    path.write_text("")
    return path


def test_astronomical_work_is_refused_with_the_override() -> None:
    line = refused(["run", "--set", 'traffic.spikes=[{start="1m",duration="1m",multiplier=1e308}]', *SHORT])
    assert line.startswith("<built-in>: too much work: ~inf events per replication")
    assert line.endswith("or set OUTAGESIM_MAX_EVENTS=N (or inf) to run anyway")


@pytest.mark.parametrize(("args", "start"), [
    (["--horizon", "10x"], '--horizon: scenario.horizon = "10x": must be a positive duration'),
    (["--seed", str(2**64)], "--seed: scenario.seed = 18446744073709551616: must be an integer >= 0"),
    (["--replications", "200000"], "--replications: scenario.replications = 200000: must be an integer >= 2"),
])
def test_shortcut_options_are_blamed_by_name(args: list[str], start: str) -> None:
    assert refused(["run", *args]).startswith(start)


def test_a_shortcut_does_not_mask_an_invalid_file_value(tmp_path: Path) -> None:
    path = tmp_path / "neg.toml"
    base = (Path(sim.cli.__file__).resolve().parents[2] / "scenarios" / "baseline.toml").read_text()
    path.write_text(base.replace("replications = 10", "replications = -1"))
    assert refused(["run", str(path), "--replications", "5", "--horizon", "5m"]) == \
        f"{path}: scenario.replications = -1: must be an integer >= 2, at most 100,000"


def test_a_big_seed_is_used_exactly(tmp_path: Path) -> None:
    seed = 2**60 + 1
    result, _ = invoke(["run", *SHORT, "--seed", str(seed), "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert f'"seed": {seed},' in (tmp_path / "r.json").read_text()


@pytest.mark.parametrize("option", [["--set", "traffic.arrival_rate={v}"],
                                    ["--grid", "traffic.arrival_rate={v},2"]])
def test_deeply_nested_option_values(option: list[str], tmp_path: Path) -> None:
    deep = "[" * 3000 + "]" * 3000
    command = "run" if option[0] == "--set" else "sweep"
    args = [command, option[0], option[1].format(v=deep), "--horizon", "5m", "--replications", "2"]
    line = refused([*args, "--out", str(tmp_path / "o")] if command == "sweep" else args)
    assert "traffic.arrival_rate" in line and "must be a number > 0" in line and len(line) < 300


def test_run_json_refuses_an_empty_path() -> None:
    assert refused(["run", *SHORT, "--json", ""]) == \
        "--json: an empty path; give a file name (or - for standard output)"


@pytest.mark.parametrize("command", [["run", *SHORT], ["stress", "--horizon", "5m", "--replications", "2"]])
def test_json_paths_are_checked_before_any_work(command: list[str], a_file: Path, tmp_path: Path) -> None:
    assert refused([*command, "--json", str(a_file / "x.json")]) == \
        f"--json {a_file / 'x.json'}: {a_file} is not a folder"
    assert "is a folder" in refused([*command, "--json", str(tmp_path)]) or \
        "is a directory" in refused([*command, "--json", str(tmp_path)])


def test_sweep_out_is_checked_before_any_work(a_file: Path) -> None:
    args = ["sweep", "--grid", "tiers.web.replicas=1,2", *SHORT]
    assert refused([*args, "--out", str(a_file)]) == f"--out {a_file}: exists and is not a folder"
    sub = a_file / "sub"
    assert refused([*args, "--out", str(sub)]) == f"--out {sub}: {a_file} is not a folder"


FULL = "cannot write: No space left on device"


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_late_write_failure_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sim.cli.run, "write_json_atomic", _disk_full)
    result, lines = invoke(["run", *SHORT, "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 2 and lines[-1] == f"Error: --json {tmp_path / 'r.json'}: {FULL}"
    monkeypatch.setattr(sim.cli.stress, "write_json_atomic", _disk_full)
    result, lines = invoke(["stress", "--horizon", "2m", "--replications", "2", "--workers", "1",
                            "--healthy-only", "--json", str(tmp_path / "s.json")])
    assert result.exit_code == 2 and lines[-1] == f"Error: --json {tmp_path / 's.json'}: {FULL}"
    monkeypatch.setattr(sim.sweeps.store, "write_text_atomic", _disk_full)
    out = tmp_path / "o"
    result, lines = invoke(["sweep", "--grid", "tiers.web.replicas=1,2", *SHORT, "--out", str(out)])
    assert result.exit_code == 2 and lines[-1] == f"Error: --out {out}: {FULL}"


def test_never_more_workers_than_tasks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result, lines = invoke(["run", "--horizon", "5m", "--replications", "2", "--workers", "64"])
    assert result.exit_code == 0 and ", 2 worker(s):" in lines[-1]
    asked: list[object] = []
    real = sim.sweeps.runner.make_executor

    def spy(name, workers):
        asked.append(workers)
        return real("serial", None)

    monkeypatch.setattr(sim.sweeps.runner, "make_executor", spy)
    result, _ = invoke(["sweep", "--grid", "tiers.web.replicas=1,2", *SHORT[:4], "--workers", "64",
                        "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert asked == [4]


def test_sweep_blames_horizon_by_name(tmp_path: Path) -> None:
    line = refused(["sweep", "--grid", "tiers.web.replicas=1,2", "--horizon", "soon",
                    "--out", str(tmp_path / "o")])
    assert line.startswith('--horizon: scenario.horizon = "soon": must be a positive duration')
