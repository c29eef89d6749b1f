"""``--method`` on the command line: sim run, compare and sweep through CliRunner (estimator in the
JSON, one-line errors, sweep folders kept apart by estimator, paired comparisons)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

FLAKY = ["--set", "tiers.payment.mtbf=40m", "--set", "tiers.payment.mttr=5m", "--horizon", "1h"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_run_with_windows_writes_the_estimator_into_the_json(tmp_path: Path) -> None:
    out = tmp_path / "w.json"
    result = invoke("run", *FLAKY, "--replications", "3", "--workers", "1", "--method", "windows",
                    "--json", str(out))
    assert result.exit_code == 0, result.output
    assert "method windows" in result.output
    assert "blank: mean_in_system: not estimated by incident windows" in result.output
    data = json.loads(out.read_text())
    assert data["method"] == "windows" and data["replications"] == 3
    assert data["metrics"]["lost_checkouts"]["method"].startswith("windows+")
    assert data["metrics"]["mean_in_system"]["mean"] is None
    assert "in-system area" in data["metrics"]["mean_in_system"]["reason"]


def test_a_fixed_size_run_stays_crude(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    result = invoke("run", *FLAKY, "--replications", "2", "--workers", "1", "--json", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["method"] == "crude" and data["metrics"]["lost_checkouts"]["method"] in ("t", "zero-upper")
    assert "reason" not in data["metrics"]["mean_in_system"]


@pytest.mark.parametrize("command", [["run"], ["sweep", "--grid", "tiers.payment.replicas=1,2"],
                                     ["compare", "--vary", "redundancy=2,3"]])
def test_rare_on_a_scenario_it_cannot_run_is_one_line_exit_2(command: list[str], tmp_path: Path) -> None:
    """multi-zone has lognormal repairs, zone outages and a daily curve: the rare method names each
    and says what to use instead, before anything runs or any folder is made."""
    out = ["--out", str(tmp_path / "o")] if len(command) > 1 else []
    result = invoke(*command, "multi-zone", "--method", "rare", *out)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --method rare: needs a Markov infrastructure")
    for reason in ("tiers.web.mttr is LogNormal, not exponential", "zone outages are not scripted",
                   "the arrival rate varies in time", "use method windows (or auto)"):
        assert reason in lines[0]
    assert not (tmp_path / "o").exists()


def test_unknown_method_names_the_choices() -> None:
    result = invoke("run", "--method", "exact")
    assert result.exit_code == 2
    assert "'exact' is not one of 'crude', 'windows', 'rare', 'auto'" in result.output


def test_sweep_with_windows_resumes_in_its_own_folder(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["sweep", *FLAKY, "--grid", "tiers.web.replicas=1,2", "--replications", "2", "--workers", "1"]
    windows = invoke(*args, "--method", "windows")
    assert windows.exit_code == 0, windows.output
    crude = invoke(*args)
    assert crude.exit_code == 0, crude.output
    folders = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert len(folders) == 2  # the method is part of the content hash
    again = invoke(*args, "--method", "windows")
    assert again.exit_code == 0, again.output
    assert "4 resumed" in again.output and "0 tasks run" in again.output
    manifests = [json.loads((tmp_path / "results" / f / "manifest.json").read_text()) for f in folders]
    assert sorted(m["method"] for m in manifests) == ["crude", "windows"]
    by_method = {m["method"]: m for m in manifests}
    assert by_method["windows"]["methods"] == ["windows", "windows"]
    stored = (tmp_path / "results" / folders[0] / "results.jsonl").read_text().splitlines()
    assert len(stored) == 4


def test_compare_with_windows_pairs_by_replication(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke("compare", *FLAKY, "--vary", "tiers.payment.replicas=2,3", "--replications", "3",
                    "--workers", "1", "--dpi", "50", "--method", "windows", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "(paired by replication)" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "windows" and "--method windows" in manifest["command"]
    two, three = (json.loads((out / "results" / f"{s['label']}.json").read_text())
                  for s in manifest["scenarios"])
    assert two["method"] == three["method"] == "windows"
    # same failure laws: replication i has the same web path in both, so web availability pairs exactly
    assert [r["availability_web"] for r in two["per_replication"]] == \
        [r["availability_web"] for r in three["per_replication"]]
    timeline = json.loads((out / "timelines" / f"{manifest['scenarios'][0]['label']}.json").read_text())
    assert timeline["replication"] == manifest["representative_replication"]


def test_compare_time_limit_needs_a_precision_driven_run(tmp_path: Path) -> None:
    result = invoke("compare", "--vary", "redundancy=2,3", "--replications", "3", "--max-time", "5s",
                    "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert result.output.strip() == ("Error: --max-time: applies only to a precision-driven run, and "
                                     "--replications makes a fixed-size one; add --precision P (then "
                                     "--replications R is the first look)")
    assert not (tmp_path / "o").exists()
