"""A run in which nothing goes wrong reports one-sided bounds, not certainty: end to end, from the
replications to the JSON and the terminal table."""

from __future__ import annotations

import json
import math
import re

import pytest

from sim.cli.format import metric_table
from sim.experiment import run
from sim.scenario import scenario_from_dict
from sim.scenario.io import jsonable

NEVER_FAILS = {"replicas": 2, "service_time": "50ms", "concurrency": 16, "mtbf": "100000d", "mttr": "1m"}
QUIET = {
    "scenario": {"name": "quiet", "horizon": "10m", "warmup": "0s", "replications": 5, "seed": 3},
    "traffic": {"arrival_rate": 1.0},
    "customer": {"max_attempts": 3, "retry_backoff": "10s", "patience": "60s"},
    "path": {"tiers": ["web", "payment"]},
    "tiers": {
        "web": dict(NEVER_FAILS),
        "payment": dict(NEVER_FAILS),
    },
}


@pytest.fixture(scope="module")
def quiet():
    return run(scenario_from_dict(QUIET), workers=1)


def test_no_outage_gives_a_nonzero_upper_bound(quiet) -> None:
    outages = quiet.metrics["outage_count"]
    assert [r["outage_count"] for r in quiet.per_replication] == [0.0] * 5
    assert (outages.mean, outages.ci_low, outages.method) == (0.0, 0.0, "poisson-upper")
    assert outages.ci_high == pytest.approx(-math.log(0.05) / 5)
    a = quiet.metrics["availability"]
    assert a.method == "zero-upper" and a.ci_high == 1.0 and a.ci_low == pytest.approx(0.05 ** 0.2)
    assert quiet.metrics["mean_recovery_time_s"].n == 0
    nines = quiet.metrics["availability_nines"]
    assert nines.ci_high == math.inf and nines.ci_low == pytest.approx(-math.log10(1 - 0.05 ** 0.2))
    down = quiet.metrics["downtime_minutes_per_year"]
    assert down.mean == 0.0 and down.ci_high == pytest.approx((1 - 0.05 ** 0.2) * 525600)


def test_json_says_how_each_metric_was_estimated(quiet) -> None:
    data = json.loads(json.dumps(jsonable(quiet.to_dict())))
    assert data["method"] == "crude" and data["precision_met"] is None
    for name, summary in data["metrics"].items():
        assert {"mean", "std", "n", "ci_low", "ci_high", "method", "rel_half_width"} <= set(summary), name
    assert data["metrics"]["outage_count"]["method"] == "poisson-upper"
    assert data["metrics"]["availability_nines"]["ci_high"] == "inf"
    for name in ("lost_checkouts_per_year", "downtime_minutes_per_year", "availability_nines"):
        assert name in data["metrics"]


def test_table_shows_bounds_and_no_negative_nines(quiet) -> None:
    table = metric_table(quiet.metrics, 600.0)
    rows = {line.split()[0]: line for line in table.splitlines() if line.strip()}
    assert re.search(r"outage_count\s+0\s+≤ 0\.599 at 95%", rows["outage_count"])
    assert "≥ " in rows["availability_nines"] and "-" not in rows["availability_nines"]
    assert "one-sided 95% bound" in table
    assert rows["lost_checkouts_per_year"].split()[0] == "lost_checkouts_per_year"


def test_nines_never_print_negative_when_availability_reaches_zero() -> None:
    from sim.stats.intervals import Summary
    from sim.stats.summaries import per_year

    # a wide t interval cut at both physical ends: [0, 1]
    a = Summary(0.86, 0.2, 3, 0.0, 1.0, clipped_low=True, clipped_high=True, complement=True)
    metrics = {"availability": a, **per_year({"availability": a}, 3600.0)}
    assert metrics["availability_nines"].ci_low == 0.0
    row = next(line for line in metric_table(metrics).splitlines() if line.startswith("availability_nines"))
    assert "-" not in row and "≥ 0.00 at 95%" in row
