"""Every line of results.jsonl is checked before it reaches a table: a point or replication out of
the sweep's range, an unknown metric or a value a metric cannot take is skipped with a warning (its
task runs again), never written to results.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from sim.sweeps.design import DesignError, SweepSpec
from sim.sweeps.plan import plan_sweep
from sim.sweeps.runner import run_sweep
from sim.sweeps.store import RESULTS_CSV, RESULTS_LOG, ResultStore

SCENARIO = {
    "scenario.horizon": "2m", "scenario.replications": 2, "traffic.arrival_rate": 0.5,
    "tiers.web.mtbf": "inf", "tiers.payment.mtbf": "inf",
}


@pytest.fixture
def done(tmp_path: Path):
    """A finished sweep of 2 points × 2 replications and its folder."""
    plan = plan_sweep(SweepSpec(scenario="baseline", overrides=dict(SCENARIO),
                                grid={"tiers.web.replicas": [1, 2]}))
    out = tmp_path / "sweep"
    run_sweep(plan, "serial", out=out)
    return plan, out


def _line(plan, **fields) -> str:
    record = {"sweep": plan.hash[:12], "point": 0, "replication": 0,
              "metrics": {"lost_checkouts": 1.0}, **fields}
    return json.dumps(record) + "\n"


@pytest.mark.parametrize(("fields", "reason"), [
    ({"point": -1}, "point -1 is not an integer from 0 to 1"),
    ({"point": 2}, "point 2 is not an integer from 0 to 1"),
    ({"replication": -1}, "replication -1 is not an integer from 0 to 1"),
    ({"point": "0"}, "point '0' is not an integer from 0 to 1"),
    ({"point": True}, "point True is not an integer from 0 to 1"),
    ({"metrics": {"made_up": 1.0}}, "unknown metric 'made_up'"),
    ({"metrics": {"availability_db": 1.0}}, "unknown metric 'availability_db'"),
    ({"metrics": {"lost_fraction": 1.5}}, "metric lost_fraction = 1.5 is outside [0, 1]"),
    ({"metrics": {"lost_checkouts": "many"}}, "metric lost_checkouts is 'many', not a number"),
    ({"metrics": {}}, "no metrics"),
])
def test_a_bad_line_is_skipped_with_its_reason(done, fields: dict, reason: str) -> None:
    plan, out = done
    log = out / RESULTS_LOG
    before = log.read_text()
    log.write_text(_line(plan, **fields) + before)  # first, so it would win over the good line
    store = ResultStore(out, plan)
    try:
        assert store.skipped == [f"{RESULTS_LOG} line 1: {reason}; skipped (the task runs again)"]
        assert len(store.stored) == plan.total  # every good line is kept
    finally:
        store.close()


def test_results_csv_never_shows_a_line_outside_the_sweep(done) -> None:
    plan, out = done
    log = out / RESULTS_LOG
    good = log.read_text().splitlines(keepends=True)
    log.write_text(_line(plan, point=-1) + "".join(good[1:]))  # the first task's line is replaced
    messages: list[str] = []
    result = run_sweep(plan, "serial", out=out, log=messages.append)
    assert result.resumed == plan.total - 1  # the replaced task ran again
    assert messages[0] == (f"warning: {RESULTS_LOG} line 1: point -1 is not an integer from 0 to 1; "
                           "skipped (the task runs again)")
    with (out / RESULTS_CSV).open() as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["point"], r["replication"]) for r in rows) == [("0", "0"), ("0", "1"), ("1", "0"),
                                                                     ("1", "1")]


def test_a_line_of_another_sweep_is_an_error(done) -> None:
    plan, out = done
    log = out / RESULTS_LOG
    log.write_text(_line(plan, sweep="0123456789ab") + log.read_text())
    with pytest.raises(DesignError, match="holds results of another sweep"):
        ResultStore(out, plan)
