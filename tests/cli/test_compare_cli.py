"""`sim compare` with variants of one scenario, through CliRunner: names, common random numbers,
the terminal summary with paired differences and verdicts, one simulation pass, safe file names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

QUICK = ["--horizon", "40m", "--replications", "3", "--workers", "1", "--dpi", "50"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_vary_compares_variants_on_common_random_numbers(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.experiment.replication as replication

    calls: list[bool] = []
    original = replication.run_replication

    def counting(*args, **kwargs):
        calls.append(kwargs.get("timeline", False))
        return original(*args, **kwargs)

    monkeypatch.setattr("sim.experiment.methods.run_replication", counting)
    out = tmp_path / "cmp"
    result = invoke("compare", "baseline", "--vary", "redundancy=1,3", *QUICK, "--out", str(out))
    assert result.exit_code == 0, result.output
    # one pass: every replication of every variant simulated once, recording its timeline
    assert calls == [True] * 6
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["name"] for s in manifest["scenarios"]] == ["baseline redundancy=1", "baseline redundancy=3"]
    assert [s["label"] for s in manifest["scenarios"]] == ["baseline-redundancy-1", "baseline-redundancy-3"]
    one, three = (json.loads((out / "results" / f"{s['label']}.json").read_text())
                  for s in manifest["scenarios"])
    assert one["scenario"]["tiers"]["web"]["replicas"] == 1
    assert three["scenario"]["tiers"]["web"]["replicas"] == 3
    # common random numbers: the same customers arrive in replication i of both variants
    assert [r["attempted_checkouts"] for r in one["per_replication"]] == \
        [r["attempted_checkouts"] for r in three["per_replication"]]
    text = result.output
    assert "key results: mean [95% CI] over 3 replications" in text
    assert "baseline redundancy=3 − baseline redundancy=1 (paired by replication):" in text
    summary = text[text.index("key results"):]
    rows = [line.split()[0] for line in summary.splitlines()[3:7]]
    assert rows == ["lost_checkouts", "availability", "mean_recovery_time_s", "mean_service_recovery_time_s"]
    cost = next(line for line in summary.splitlines()
                if line.startswith("infrastructure_cost") and "significant" in line)
    assert "significant, worse" in cost  # three replicas cost more in every replication
    timeline = json.loads((out / "timelines" / "baseline-redundancy-1.json").read_text())
    assert len(timeline["windows"]) == 3 and timeline["replication"] == manifest["representative_replication"]


def test_variant_adds_to_the_scenario_as_it_is(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke("compare", "baseline", "--variant", "tiers.web.replicas=3; tiers.payment.mttr=5m",
                    *QUICK, "--out", str(out))
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["name"] for s in manifest["scenarios"]] == [
        "baseline", "baseline tiers.web.replicas=3 tiers.payment.mttr=5m"]
    variant_header = result.output.splitlines()[1]
    assert "(file description; overridden: tiers.payment.mttr" in variant_header
    assert "tiers.web.replicas)" in variant_header
    assert variant_header.split(": ", 1)[1] in (out / "report.md").read_text()  # the report says the same


@pytest.mark.parametrize(("args", "expected"), [
    (["compare", "baseline"], "at least two scenarios"),
    (["compare", "baseline", "--vary", "redundancy=2"], "nothing to compare"),
    (["compare", "baseline", "active-active", "--vary", "redundancy=2,3"], "one SCENARIO"),
    (["compare", "baseline", "--vary", "redundancy"], "expected KEY=VALUE"),
    (["compare", "baseline", "--vary", "redundancy=0,2"], "--vary redundancy=0"),
    (["compare", "baseline", "--variant", "tiers.nosuch.replicas=2"], "--variant tiers.nosuch.replicas=2"),
])
def test_bad_variants_exit_2(args: list[str], expected: str, tmp_path: Path) -> None:
    result = invoke(*args, "--out", str(tmp_path / "x"))
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output


def test_scenario_names_never_leave_the_folder(tmp_path: Path) -> None:
    evil = tmp_path / "evil.toml"
    text = (Path(__file__).resolve().parents[2] / "scenarios" / "active-active.toml").read_text()
    evil.write_text(text)
    out = tmp_path / "deep" / "cmp"
    result = invoke("compare", str(evil), str(evil), "--set", 'scenario.name="../../escaped"', *QUICK,
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    written = {p.resolve() for p in tmp_path.rglob("*") if p.is_file()} - {evil.resolve()}
    assert written and all(p.is_relative_to(out.resolve()) for p in written)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["label"] for s in manifest["scenarios"]] == ["escaped", "escaped-2"]
