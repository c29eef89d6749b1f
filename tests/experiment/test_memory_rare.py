"""Method rare: the same results in any process and with any number of workers, and memory flat in
the horizon (a replication is a fixed batch of cycles; the horizon enters only through the exact
transient expectations, whose memory is the chain's size)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sim
from sim.rare.batches import BatchSize, RareBatches
from sim.scenario.load import scenario_from_dict
from sim.scenario.spec import Scenario

ROOT = Path(__file__).resolve().parents[2]
MEMORY_RATIO_LIMIT = 1.1  # peak RSS at 1000 days over 1 day, as benchmarks/run.py's target for crude

_RAW = {
    "scenario": {"name": "rare-2x2", "horizon": "1d"},
    "traffic": {"arrival_rate": 1.0},
    "customer": {"max_attempts": 2, "retry_backoff": "5s", "patience": "20s"},
    "path": {"tiers": ["web", "payment"]},
    "tiers": {name: {"replicas": 2, "service_time": "50ms", "mtbf": "50m", "mttr": "1m", "repair_crews": 1}
              for name in ("web", "payment")},
}


def scenario(horizon: str = "1d") -> Scenario:
    raw = json.loads(json.dumps(_RAW))
    raw["scenario"]["horizon"] = horizon
    return scenario_from_dict(raw)


def _in_fresh_process(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_rare_replication_is_the_same_in_a_fresh_process() -> None:
    size = BatchSize(3, 2, 200.0)
    here = RareBatches(scenario(), size).replication(5, 2).metrics
    there = _in_fresh_process("""
        import json, math
        from tests.experiment.test_memory_rare import scenario
        from sim.rare.batches import BatchSize, RareBatches
        m = RareBatches(scenario(), BatchSize(3, 2, 200.0)).replication(5, 2).metrics
        print(json.dumps({k: (None if math.isnan(v) else v) for k, v in m.items()}))
    """)
    assert {k: (None if v != v else v) for k, v in here.items()} == there


@pytest.mark.slow
def test_workers_1_and_2_give_identical_rare_results() -> None:
    one = sim.run(scenario(), replications=2, seed=4, workers=1, method="rare")
    two = sim.run(scenario(), replications=2, seed=4, workers=2, method="rare")
    assert one.method == two.method == "rare" and two.workers == 2
    a, b = one.to_dict(), two.to_dict()
    for d in (a, b):
        d.pop("runtime")
    # JSON text: every metric and every replication's values, byte for byte (NaN as NaN)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.slow
def test_rare_memory_is_flat_in_the_horizon() -> None:
    """Peak RSS of a rare replication at a 1-day and a 1000-day horizon, each in a fresh process."""
    code = """
        import json, resource
        import sim
        from tests.experiment.test_memory_rare import scenario
        result = sim.run(scenario("{horizon}"), replications=1, seed=1, workers=1, method="rare")
        print(json.dumps({{"rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                           "lost": result.metrics["lost_checkouts"].mean}}))
    """
    short = _in_fresh_process(code.format(horizon="1d"))
    long = _in_fresh_process(code.format(horizon="1000d"))
    assert long["lost"] > 500 * short["lost"]  # the long horizon really is estimated (per-horizon counts)
    assert long["rss_kb"] <= MEMORY_RATIO_LIMIT * short["rss_kb"], (short, long)
