"""Shared fixtures: a small comparison folder and a small sweep folder, each built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.report.collect import store_comparison
from sim.report.compare import build_compare_report
from sim.scenario import load_scenario

# one replica per tier failing every 40 min on average: a few outages per replication
TINY = """
[scenario]
name = "tiny"
horizon = "3h"
replications = 4
seed = 3

[traffic]
arrival_rate = 1.0

[customer]
max_attempts = 3
retry_backoff = "10s"

[costs]
order_value = 50.0
currency = "EUR"

[path]
tiers = ["web", "payment"]

[tiers.web]
replicas = 1
service_time = "200ms"
mtbf = "40m"
mttr = "6m"
failover_delay = "5s"
replica_cost_per_hour = 0.5

[tiers.payment]
replicas = 1
service_time = "400ms"
mtbf = "60m"
mttr = "10m"
failover_delay = "5s"
replica_cost_per_hour = 1.5
"""

REPLICATIONS = 4
SEED = 3


@pytest.fixture(scope="session")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="session")
def comparison_dir(tmp_path_factory: pytest.TempPathFactory, tiny_file: Path) -> Path:
    """A comparison of the tiny scenario with 1, 2 and 3 replicas per tier, with its report."""
    scenarios = [load_scenario(tiny_file, [f"scenario.name=r{n}"], redundancy=n) for n in (1, 2, 3)]
    folder = tmp_path_factory.mktemp("compare") / "cmp"
    store_comparison(scenarios, folder, REPLICATIONS, SEED, workers=1, command="sim compare (test)")
    build_compare_report(folder)
    return folder


@pytest.fixture(scope="session")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory, tiny_file: Path) -> Path:
    """A real `sim sweep` folder: a 3 × 2 grid, 3 replications, serial."""
    from sim.sweeps.runner import sweep

    folder = tmp_path_factory.mktemp("sweep") / "sw"
    sweep(str(tiny_file), grid={"tiers.payment.replicas": [1, 2, 3], "tiers.web.replicas": [1, 2]},
          replications=3, seed=5, executor="serial", out=folder, overrides=["scenario.horizon=1h"])
    return folder
