"""Precision-driven runs from the command line: the default ``sim run`` is one, ``--replications R``
and ``--precision off`` are fixed-size, and ``compare`` and ``sweep`` take the same options."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.cli.format import SUMS
from sim.cli.method import DEFAULT_MAX_TIME_S, DEFAULT_PRECISION, run_request
from sim.cli.options import InputError
from sim.experiment.methods import NOT_ESTIMATED
from sim.experiment.precision import DEFAULT_TARGETS

# a Markov infrastructure (exponential laws, steady traffic): auto picks the rare-event cycles
MARKOV = """
[scenario]
name = "markov"
horizon = "2h"
replications = 2
seed = 4

[traffic]
arrival_rate = 1.0

[path]
tiers = ["web"]

[tiers.web]
replicas = 2
service_time = "100ms"
mtbf = "2h"
mttr = "10m"
"""
ATTEMPTED = "attempted_checkouts"


@pytest.fixture
def markov(tmp_path: Path) -> Path:
    path = tmp_path / "markov.toml"
    path.write_text(MARKOV)
    return path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


# -- what the options ask for ---------------------------------------------------------------------


def test_no_flags_ask_for_the_default_precision_and_auto() -> None:
    request = run_request(None, None, (), None, None)
    assert request.driven and request.default and request.method == "auto"
    assert request.precision == {"precision": DEFAULT_PRECISION, "max_time": DEFAULT_MAX_TIME_S,
                                 "targets": DEFAULT_TARGETS}
    assert (DEFAULT_PRECISION, DEFAULT_MAX_TIME_S) == (0.10, 60.0)


@pytest.mark.parametrize("args", [(None, 5), ("off", None), ("OFF", 7)])
def test_replications_alone_or_precision_off_is_a_fixed_size_crude_run(args) -> None:
    precision, replications = args
    request = run_request(precision, None, (), replications, None)
    assert not request.driven and request.precision == {} and request.method == "crude"
    assert run_request(precision, None, (), replications, "windows").method == "windows"


def test_an_explicit_precision_keeps_its_options_and_has_no_time_limit_unless_given() -> None:
    request = run_request("5%", None, (ATTEMPTED, ATTEMPTED), 4, None)
    assert request.precision == {"precision": 0.05, "max_time": None, "targets": (ATTEMPTED,)}
    assert not request.default and request.method == "auto"
    assert run_request(None, "2m", (), None, "crude").precision["max_time"] == 120.0  # default target


@pytest.mark.parametrize(("args", "message"), [
    ((None, "60s", (), 3), "--max-time: applies only to a precision-driven run, and --replications makes"),
    (("off", None, ("lost_checkouts",), None), "--target: applies only to a precision-driven run, and "
                                              "--precision off makes a fixed-size one; drop --precision off"),
    (("5%", None, (), 1), "--replications 1: with --precision it is the first look"),
])
def test_combinations_that_mean_nothing_are_refused(args, message) -> None:
    with pytest.raises(InputError) as err:
        run_request(*args, None)
    assert err.value.message.startswith(message)


# -- sim run ----------------------------------------------------------------------------------------


def test_default_run_is_precision_driven_and_its_json_says_how_every_metric_was_estimated(
        markov: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = invoke("run", str(markov), "--workers", "1", "--json", str(out))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "replications from 2 (precision-driven)" in lines[0]
    assert lines[1].startswith("method rare (auto: the infrastructure is a Markov chain")
    assert lines[2].startswith("precision-driven: until lost_checkouts and unavailability are ±10% (95% CI) "
                               "or 60 s of wall clock (the default")
    data = json.loads(out.read_text())
    assert data["method"] == "rare"
    assert data["precision"]["target"] == 0.1 and data["precision"]["max_time_s"] == 60.0
    assert data["precision"]["looks"][0] == 2 and data["replications"] == data["precision"]["looks"][-1]
    assert data["precision_met"] is data["precision"]["met"]
    if data["precision_met"]:
        assert "precision: target met" in result.output
    else:
        assert "precision: TARGET NOT MET" in result.output and "target ±10% not met for" in result.output
    for name, metric in data["metrics"].items():
        assert {"mean", "std", "n", "ci_low", "ci_high", "method", "rel_half_width"} <= set(metric), name
        assert metric["method"].startswith("rare+"), name
    for name, why in NOT_ESTIMATED["rare"].items():  # left blank by the estimator: the output says why
        if name in data["metrics"]:
            assert data["metrics"][name]["mean"] is None and data["metrics"][name]["reason"] == why
            assert name in SUMS or any(x.startswith("blank: ") and name in x and why in x for x in lines)
    lost = data["metrics"]["lost_checkouts"]
    half = (lost["ci_high"] - lost["ci_low"]) / 2
    assert math.isclose(lost["rel_half_width"], half / abs(lost["mean"]), rel_tol=1e-9)
    achieved = next(t for t in data["precision"]["targets"] if t["metric"] == "lost_checkouts")
    assert achieved["met"] == (achieved["rel_half_width"] <= 0.1)
    for name in ("availability", "outage_count", "mean_recovery_time_s", "downtime_minutes_per_year"):
        exact = data["metrics"][name]  # the chain's expectation: exactly zero width, not float noise
        assert exact["method"] == "rare+exact", name
        assert exact["ci_low"] == exact["ci_high"] == exact["mean"] and exact["std"] == 0.0, name
        assert exact["rel_half_width"] == 0.0, name


def test_replications_on_the_command_line_keep_a_fixed_size_crude_run(markov: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = invoke("run", str(markov), "--replications", "3", "--workers", "1", "--json", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "method crude (the full model)"
    assert "precision" not in result.output.lower().replace("precision_met", "")
    data = json.loads(out.read_text())
    assert data["method"] == "crude" and data["replications"] == 3
    assert data["precision_met"] is None and data["precision"] is None
    assert data["metrics"]["lost_checkouts"]["method"] in ("t", "zero-upper")


def test_precision_off_runs_the_scenario_files_replications(markov: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = invoke("run", str(markov), "--precision", "off", "--workers", "1", "--json", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["replications"] == 2 and data["precision"] is None and data["method"] == "crude"


@pytest.mark.parametrize("scenario", ["peak-payment-outage", "single-instance"])
def test_rare_on_a_scenario_it_cannot_estimate_is_one_line_exit_2(scenario: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = invoke("run", scenario, "--method", "rare", "--json", str(out))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --method rare: ")
    assert "Traceback" not in result.output
    assert "use method windows" in lines[0] or "use method crude" in lines[0]
    assert not out.exists()


def test_a_precision_stopped_run_is_identical_on_one_and_two_workers(markov: Path, tmp_path: Path) -> None:
    # attempted checkouts (~7200 per replication, sd ~85): ±1% is out of reach at 2 replications
    # (t with 1 degree of freedom), within reach at 4 or 8
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.json"
        result = invoke("run", str(markov), "--precision", "1%", "--target", ATTEMPTED, "--method", "crude",
                        "--workers", workers, "--json", str(out))
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(out.read_text()))
    for data in outputs:
        assert data["precision"]["stopped_by"] == "precision" and len(data["precision"]["looks"]) >= 2
        data.pop("runtime")
        data["precision"].pop("elapsed_s")
    assert outputs[0] == outputs[1]


def test_a_precision_driven_rare_run_is_identical_on_one_and_two_workers(markov: Path,
                                                                        tmp_path: Path) -> None:
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.json"
        result = invoke("run", str(markov), "--precision", "10%", "--method", "rare", "--workers", workers,
                        "--json", str(out))
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(out.read_text()))
    for data in outputs:
        assert data["method"] == "rare" and data["precision"]["stopped_by"] == "precision"
        data.pop("runtime")
        data["precision"].pop("elapsed_s")
    assert outputs[0] == outputs[1]


# -- compare and sweep ------------------------------------------------------------------------------


def test_compare_runs_the_baseline_to_the_target_and_the_variant_on_its_replications(
        markov: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke("compare", str(markov), "--vary", "tiers.web.replicas=2,3", "--precision", "1%",
                    "--target", ATTEMPTED, "--method", "crude", "--workers", "1", "--dpi", "50",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "replications from 2 (precision-driven)" in result.output.splitlines()[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["precision"]["precision"] == 0.01 and manifest["method"] == "crude"
    first, second = (json.loads((out / "results" / f"{s['label']}.json").read_text())
                     for s in manifest["scenarios"])
    assert first["precision"]["stopped_by"] == "precision"
    assert second["replications"] == first["replications"] == manifest["replications"] > 2
    assert second["precision"] is None  # it ran the baseline's replications, paired
    met = "target met" if first["precision_met"] else "TARGET NOT MET"
    assert f"precision (the baseline; every scenario ran its {first['replications']} replications): {met}" \
        in result.output


def test_sweep_runs_every_point_to_the_target_and_resumes(markov: Path, tmp_path: Path) -> None:
    out = tmp_path / "sw"
    args = ["sweep", str(markov), "--grid", "tiers.web.replicas=2,3", "--precision", "1%", "--target",
            ATTEMPTED, "--method", "crude", "--workers", "1", "--out", str(out)]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    assert "replications from 2 per point (precision-driven" in first.output
    manifest = json.loads((out / "manifest.json").read_text())
    outcome = manifest["precision"]
    assert outcome["stopped_by"] == "precision" and outcome["met"] and outcome["looks"][0] == 2
    final = outcome["looks"][-1]
    assert manifest["replications"] == final and manifest["precision_target"]["precision"] == 0.01
    rows = (out / "results.csv").read_text().splitlines()[1:]
    assert len(rows) == 2 * final  # every point the same replications: common random numbers
    for point in outcome["points"]:
        assert point["met"] and point["targets"][0]["rel_half_width"] <= 0.01
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert "0 tasks run" in again.output
    assert (out / "results.csv").read_text().splitlines()[1:] == rows


def test_sweep_is_fixed_size_unless_asked_and_refuses_a_time_limit_without_precision(
        markov: Path, tmp_path: Path) -> None:
    result = invoke("sweep", str(markov), "--grid", "tiers.web.replicas=2,3", "--max-time", "10s",
                    "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert result.output.strip() == ("Error: --max-time: applies only to a precision-driven sweep; add "
                                     "--precision P (a sweep is fixed-size by default)")
    assert not (tmp_path / "o").exists()


def test_a_missed_target_names_more_time_and_the_rare_method_only_where_it_could_run() -> None:
    from sim.cli.run import precision_report
    from sim.experiment.precision import PrecisionOutcome, TargetOutcome

    missed = TargetOutcome("lost_checkouts", 0.1, 0.14, 100.0, 10, met=False)
    outcome = PrecisionOutcome(0.1, 60.0, (missed,), 10, (10,), "time", 0, 65.0)
    lines = precision_report(outcome, 65.0, "windows", rare_possible=False)
    assert lines[0].startswith("\nprecision: TARGET NOT MET; 10 replications (looks at 10); stopped: time")
    # the half-width shrinks like 1/√n: (0.14/0.1)² ≈ 2 times the 65 s spent
    assert lines[-1] == ("target ±10% not met for lost_checkouts: ±14% after 10 replications in 65 s; "
                         "more time is needed (about --max-time 2m)")
    assert "a rare-event method (--method rare) or more time" in \
        precision_report(outcome, 65.0, "windows", rare_possible=True)[-1]
    assert "--method rare" not in precision_report(outcome, 65.0, "rare", rare_possible=True)[-1]


def test_auto_says_why_it_chose_and_one_method_serves_a_whole_comparison(markov: Path) -> None:
    from sim.cli.method import common_method, why_chosen
    from sim.scenario import load_scenario

    markov_scenario, lognormal = load_scenario(str(markov)), load_scenario("peak-payment-outage")
    assert why_chosen("auto", "windows", lognormal).startswith(
        "auto: incident windows; the rare-event method needs a Markov infrastructure")
    assert "injected outages" in why_chosen("auto", "windows", lognormal)
    assert why_chosen("windows", "windows", lognormal) == "as asked (--method)"
    expected = ("rare", why_chosen("auto", "rare", markov_scenario))
    assert common_method("auto", [markov_scenario]) == expected
    method, why = common_method("auto", [markov_scenario, lognormal])
    assert method == "windows" and why.endswith(f"(for {lognormal.name}; one method for all)")
    with pytest.raises(InputError, match="--method rare: "):
        common_method("rare", [markov_scenario, lognormal])
