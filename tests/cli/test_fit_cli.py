"""sim fit through the command line (CliRunner and a real process), and sim run --parameter-uncertainty."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
WINDOW = ["--window-start", "2026-01-01T00:00:00Z", "--window-end", "2026-05-01T00:00:00Z"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def refused(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert "Traceback" not in result.output and lines[-1].startswith("Error: ")
    return lines[-1].removeprefix("Error: ")


def test_fit_writes_the_fragment_and_fit_json(tmp_path: Path) -> None:
    out, js = tmp_path / "f.toml", tmp_path / "fit.json"
    result = invoke("fit", str(EXAMPLES / "incidents.csv"), *WINDOW,
                    "--traffic", str(EXAMPLES / "traffic.csv"),
                    "--out", str(out), "--json", str(js), "--gof-resamples", "0")
    assert result.exit_code == 0, result.output
    doc = json.loads(js.read_text())
    assert set(doc["tiers"]) == {"web", "payment", "db"}
    assert doc["tiers"]["db"]["mtbf"]["n_events"] == 0 and doc["tiers"]["db"]["mttr"] is None
    assert doc["traffic"]["spikes"][0]["start"] == "2026-01-10T19:00:00+00:00"
    fragment = tomllib.loads(out.read_text())
    assert fragment["traffic"]["arrival_rate"] == pytest.approx(doc["traffic"]["arrival_rate"], rel=1e-5)
    assert fragment["tiers"]["web"]["mtbf"]["dist"] == doc["tiers"]["web"]["mtbf"]["dist"]
    assert "no failure in 240 replica-days" in result.output


@pytest.mark.slow
def test_shipped_fitted_scenario_is_what_fit_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, js = tmp_path / "s.toml", tmp_path / "fit.json"
    monkeypatch.chdir(ROOT)  # the files name their sources as given, relative to the repository
    result = invoke("fit", "examples/incidents.csv", *WINDOW, "--traffic", "examples/traffic.csv",
                    "--base", "examples/fit-architecture.toml", "--out", str(out), "--json", str(js))
    assert result.exit_code == 0, result.output
    assert out.read_text() == (ROOT / "scenarios" / "fitted-example.toml").read_text()
    assert json.loads(js.read_text()) == json.loads((EXAMPLES / "fit.json").read_text())
    assert load_scenario("fitted-example").tier("web").mtbf.mean == pytest.approx(
        json.loads(js.read_text())["tiers"]["web"]["mtbf"]["mean_s"], rel=1e-5)


@pytest.mark.parametrize(("csv", "expected"), [
    ("tier,replica,start\n", "line 1: missing column(s) end"),
    ("tier,replica,start,end\nweb,1,2026-01-01T02:00:00Z,2026-01-01T01:00:00Z\n", "line 2: end"),
    ("tier,replica,start,end\nweb,1,2026-01-01T00:00:00Z,2026-01-01T02:00:00Z\n"
     "web,1,2026-01-01T01:00:00Z,2026-01-01T03:00:00Z\n", "line 3: incident of web replica '1' overlaps"),
    ("tier,replica,start,end\nweb,1,01/02/2026,\n", "line 2: start '01/02/2026': not an ISO 8601 timestamp"),
])
def test_bad_incident_files_exit_2_with_one_line_naming_the_row(tmp_path: Path, csv: str,
                                                                 expected: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(csv)
    line = refused("fit", str(bad), "--out", str(tmp_path / "o.toml"), "--json", str(tmp_path / "o.json"))
    assert line.startswith(f"{bad}: ") and expected in line
    assert not (tmp_path / "o.toml").exists()


def test_bad_options_exit_2(tmp_path: Path) -> None:
    out = ["--out", str(tmp_path / "o.toml"), "--json", str(tmp_path / "o.json")]
    assert "--window-start soon: not an ISO 8601" in refused(
        "fit", str(EXAMPLES / "incidents.csv"), "--window-start", "soon", *out)
    base = tmp_path / "base.toml"
    base.write_text('[traffic]\narrival_rate = 1\n\n[tiers.web]\nreplicas = 1\n')
    assert "[tiers.db]: not defined" in refused(
        "fit", str(EXAMPLES / "incidents.csv"), *WINDOW, "--base", str(base), "--gof-resamples", "0", *out)
    assert "cannot read" in refused("fit", str(tmp_path / "missing.csv"), *out)


@pytest.mark.slow
def test_fit_as_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "sim"), "fit", str(EXAMPLES / "incidents.csv"),
                           "--out", str(tmp_path / "o.toml"), "--json", str(tmp_path / "o.json"),
                           "--gof-resamples", "0"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and (tmp_path / "o.json").exists()


def test_run_with_parameter_uncertainty_reports_the_split(tmp_path: Path) -> None:
    js = tmp_path / "r.json"
    result = invoke("run", "fitted-example", "--horizon", "20m", "--replications", "3", "--workers", "1",
                    "--parameter-uncertainty", str(EXAMPLES / "fit.json"), "--json", str(js))
    assert result.exit_code == 0, result.output
    assert "parameter uncertainty (" in result.output
    split = json.loads(js.read_text())["parameter_uncertainty"]
    assert "tiers.web.mtbf" in split["laws"] and "lost_checkouts" in split["metrics"]


def test_parameter_uncertainty_errors(tmp_path: Path) -> None:
    fit_json = EXAMPLES / "fit.json"
    assert "tiers.db: not a tier of scenario 'baseline'" in refused(
        "run", "baseline", "--horizon", "10m", "--replications", "2",
        "--parameter-uncertainty", str(fit_json))
    assert "needs a fixed-size run" in refused(
        "run", "fitted-example", "--precision", "10%", "--parameter-uncertainty", str(fit_json))
    bad = tmp_path / "bad.json"
    bad.write_text('{"tiers": {"web": {"mtbf": {"dist": "weibull", "sampling": {"kind": "?"}}}}}')
    assert "tiers.web.mtbf.sampling" in refused(
        "run", "fitted-example", "--horizon", "10m", "--replications", "2",
        "--parameter-uncertainty", str(bad))
