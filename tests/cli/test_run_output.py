"""What `sim run` prints and writes, as a user sees it: the table's order, n, marks and advice,
the header, `--json -`, `--replications 1`, `--plot` safety, and Ctrl-C in a real process."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.cli.format import metric_table, ordered_metrics, too_wide
from sim.stats.intervals import Summary, summarize
from sim.stats.metrics import METRICS, metric_bounds

SMALL = ["--horizon", "1h", "--replications", "3", "--workers", "1"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def _rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        parts = line.split()
        if parts and (parts[0] in METRICS or parts[0].startswith("availability_")):
            rows[parts[0]] = parts
    return rows


def test_key_metrics_come_first_and_every_row_shows_n() -> None:
    result = invoke("run", *SMALL)
    assert result.exit_code == 0, result.output
    names = list(_rows(result.output))
    assert names[:3] == ["lost_checkouts", "lost_fraction", "availability"]
    assert names.index("mean_recovery_time_s") < names.index("attempted_checkouts")
    assert "  n" in result.stdout.splitlines()[2]  # after the scenario's line and the method's
    for name, parts in _rows(result.output).items():
        assert parts[-1].isdigit() or "too wide" in " ".join(parts) or parts[-1] == "0", (name, parts)


def test_order_puts_tier_availability_after_the_path() -> None:
    names = ["latency_p95_s", "availability_web", "availability", "lost_checkouts", "mean_recovery_time_s"]
    assert ordered_metrics(names) == ["lost_checkouts", "availability", "availability_web",
                                      "mean_recovery_time_s", "latency_p95_s"]


def test_bounds_are_never_printed_past_the_physical_range() -> None:
    # attempts per checkout are at least 1: a wide t interval is cut at 1 and marked
    s = summarize([1.0, 1.0, 1.3], bounds=metric_bounds("retry_load_factor"))
    assert s.ci_low == 1.0 and s.clipped_low and not s.clipped_high
    table = metric_table({"retry_load_factor": s})
    assert "[1.000*," in table and "* the t interval reached past" in table


def test_too_wide_interval_names_the_fix() -> None:
    wide = summarize([0.0, 0.0, 9.0, 1.0], bounds=(0.0, math.inf))  # a rare-event count
    narrow = summarize([100.0, 101.0, 99.0, 100.5], bounds=(0.0, math.inf))
    assert too_wide("lost_checkouts", wide) and not too_wide("latency_p95_s", narrow)
    table = metric_table({"lost_checkouts": wide, "latency_p95_s": narrow}, horizon_s=3600.0)
    assert "too wide to decide" in table.splitlines()[2]
    # relative half-width h over n replications: advice scales n by (h / 0.4)^2, rounded up to tens
    h = wide.half_width / wide.mean
    expected = int(math.ceil(4 * max(2.0, (h / 0.4) ** 2) / 10) * 10)
    assert f"--replications {expected})" in table or f"--replications {expected} " in table


def test_availability_is_judged_on_downtime() -> None:
    # 99.97% ± 0.05%: small against 1, but larger than the 0.03% downtime it measures
    s = Summary(0.9997, 0.0005, 5, 0.9992, 1.0)
    assert too_wide("availability", s)
    assert not too_wide("availability", Summary(0.99, 0.001, 5, 0.9895, 0.9905))


def test_one_replication_is_a_quick_look(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    result = invoke("run", "--horizon", "1h", "--replications", "1", "--json", str(path))
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert rows["lost_checkouts"][-4:] == ["n=1,", "no", "interval", "1"]
    assert "1 replication, seed" in result.output and "baseline:" in result.output
    stored = json.loads(path.read_text())
    assert stored["replications"] == 1 and len(stored["per_replication"]) == 1
    summary = stored["metrics"]["lost_checkouts"]
    assert summary["n"] == 1 and summary["std"] is None and summary["ci_low"] is None
    assert summary["mean"] == stored["per_replication"][0]["lost_checkouts"]


def test_json_dash_writes_the_result_to_stdout(tmp_path: Path) -> None:
    done = subprocess.run([str(Path(sys.executable).with_name("sim")), "run", *SMALL, "--json", "-"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # stdout is the JSON alone; the table went to stderr
    assert data["replications"] == 3 and "lost_checkouts" in data["metrics"]
    assert "lost_checkouts" in done.stderr and not (tmp_path / "-").exists()


def test_header_marks_the_description_when_an_override_changes_it() -> None:
    result = invoke("run", "--redundancy", "3", *SMALL)
    first = result.output.splitlines()[0]
    assert first.startswith("baseline: web×3 → payment×3")
    assert "two replicas each" in first and "(file description; overridden: tiers.payment.replicas, " \
        "tiers.web.replicas)" in first
    plain = invoke("run", *SMALL).output.splitlines()[0]
    assert plain.endswith("two replicas each, active-active; random replica failures")


def test_header_gives_mean_and_peak_of_a_daily_profile() -> None:
    from sim.scenario import load_scenario
    from sim.scenario.convert import arrival_rates, describe

    s = load_scenario("single-instance", ["scenario.horizon=6h", "scenario.warmup=0s"])
    profile = s.traffic.daily_profile
    mean, peak = arrival_rates(s)
    rate = s.traffic.arrival_rate_per_s
    assert mean == pytest.approx(rate * sum(profile[:6]) / 6)
    assert peak == pytest.approx(rate * max(profile[:6]))
    assert f"open arrivals, {mean:.3g} customers/s on average (peak {peak:.3g})" in describe(s)


def test_plot_refuses_a_non_empty_folder_unless_forced(tmp_path: Path) -> None:
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = invoke("run", *SMALL, "--plot", str(folder))
    assert result.exit_code == 2 and "not empty" in result.output and "--force" in result.output
    assert "lost_checkouts" not in result.output  # refused before simulating
    result = invoke("run", *SMALL, "--plot", str(folder), "--force")
    assert result.exit_code == 0, result.output
    assert (folder / "timeline.png").is_file() and (folder / "notes.txt").read_text() == "mine"


def test_a_directory_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text("")
    result = invoke("run", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.output and "a.toml" in result.output


def test_errors_in_a_built_in_scenario_name_it() -> None:
    result = invoke("run", "peak-payment-outage", "--horizon", "1h")
    assert result.exit_code == 2 and "<built-in>" not in result.output
    assert result.output.startswith("Error: peak-payment-outage (built-in): outages.0.start")


def test_progress_is_plain_lines_on_stderr_when_not_a_terminal() -> None:
    result = CliRunner().invoke(cli, ["run", *SMALL])
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[0] == "baseline: started, 3 replications, 1 at once"
    assert lines[-1].startswith("baseline: done, 3/3 replications in ")
    assert "\r" not in result.stderr and "lost_checkouts" in result.stdout


@pytest.mark.slow
def test_ctrl_c_stops_a_run_within_a_second() -> None:
    sim = str(Path(sys.executable).with_name("sim"))
    for workers in ("1", "2"):
        proc = subprocess.Popen([sim, "run", "--horizon", "30d", "--replications", "4", "--workers", workers],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert proc.stdout is not None
        proc.stdout.readline()  # the header: the replications are running
        time.sleep(1.5)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - start
        assert proc.returncode == 130, (workers, err)
        # ~0.5 s on an idle machine; the margin is for a machine busy with other tests
        assert elapsed < 2.0, (workers, elapsed)
        assert "interrupted" in err and "Traceback" not in err


def test_per_year_rows_are_judged_like_their_per_horizon_rows() -> None:
    wide = summarize([0.0, 0.0, 9.0, 1.0], bounds=(0.0, math.inf))
    assert too_wide("lost_checkouts_per_year", wide) and too_wide("outages_per_year", wide)
    # nines are a log scale of availability, whose own row carries the verdict
    assert not too_wide("availability_nines", Summary(2.8, 0.5, 10, 2.5, 3.7))
