"""Precision-driven sweeps: every point runs the same looks (common random numbers) until every point
meets the target; the tables equal a fixed-size sweep of the final look; a time limit stops at the
last completed look and the same sweep resumes from what is stored."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

import sim
from sim.experiment.precision import DEFAULT_MAX_LOOKS
from sim.sweeps.design import SweepSpec
from sim.sweeps.plan import plan_sweep
from sim.sweeps.runner import run_sweep
from sim.sweeps.store import MANIFEST, RESULTS_CSV, RESULTS_LOG, SUMMARY_CSV

# about 1,200 attempted checkouts a replication (sd ~35): ±2.5% needs 12 replications, not 3 or 6
TINY = """
[scenario]
name = "tiny"
horizon = "20m"
replications = 3
seed = 7

[traffic]
arrival_rate = 1.0

[path]
tiers = ["web"]

[tiers.web]
replicas = 2
service_time = "200ms"
mtbf = "30m"
mttr = "5m"
"""
TARGET = {"precision": 0.025, "targets": ("attempted_checkouts",), "max_looks": DEFAULT_MAX_LOOKS}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _plan(tiny: Path, precision: dict | None = TARGET):
    spec = SweepSpec(scenario=str(tiny), grid={"tiers.web.replicas": [1, 2]},
                     origins={"tiers.web.replicas": "grid"})
    return plan_sweep(spec, method="crude", precision=precision)


def test_every_point_runs_the_same_looks_and_equals_the_fixed_sweep_of_the_final_size(tiny: Path) -> None:
    driven = sim.sweep(str(tiny), grid={"tiers.web.replicas": [1, 2]}, precision=0.025,
                       targets=["attempted_checkouts"], method="crude", executor="serial")
    final = len(driven) // 2
    assert final in (6, 12, 24) and len(driven) == 2 * final  # on the schedule 3 · 2^k, both points alike
    fixed = sim.sweep(str(tiny), grid={"tiers.web.replicas": [1, 2]}, replications=final, method="crude",
                      executor="serial")
    assert driven.equals(fixed) if hasattr(driven, "equals") else driven == fixed


def test_the_target_is_part_of_the_hash_and_the_time_limit_is_not(tiny: Path) -> None:
    assert _plan(tiny).hash != _plan(tiny, None).hash
    assert _plan(tiny).hash != _plan(tiny, {**TARGET, "precision": 0.05}).hash
    assert _plan(tiny).manifest()["precision_target"] == {**TARGET, "targets": ["attempted_checkouts"]}


def test_a_time_limit_keeps_the_last_complete_look_and_the_same_sweep_resumes(tiny: Path,
                                                                              tmp_path: Path) -> None:
    ticks = itertools.count()
    # the clock jumps past the limit after the first look: nothing more is launched
    stopped = run_sweep(_plan(tiny), "serial", out=tmp_path / "cut", max_time=5.0,
                        clock=lambda: 0.0 if next(ticks) < 2 else 100.0)
    assert stopped.precision.stopped_by == "time" and stopped.precision.looks == (3,)
    assert not stopped.precision.met and stopped.plan.replications == 3
    manifest = json.loads((tmp_path / "cut" / MANIFEST).read_text())
    assert manifest["replications"] == 3 and manifest["precision"]["stopped_by"] == "time"
    assert len((tmp_path / "cut" / RESULTS_CSV).read_text().splitlines()) == 1 + 2 * 3
    resumed = run_sweep(_plan(tiny), "serial", out=tmp_path / "cut")
    whole = run_sweep(_plan(tiny), "serial", out=tmp_path / "whole")
    assert resumed.resumed >= 6 and resumed.precision.met and whole.precision.met
    assert resumed.precision.looks == whole.precision.looks
    for name in (RESULTS_CSV, SUMMARY_CSV):
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    keys = [(x["point"], x["replication"]) for x in map(json.loads, (tmp_path / "cut" / RESULTS_LOG)
                                                         .read_text().splitlines())]
    assert len(keys) == len(set(keys))  # nothing stored twice


def test_time_and_targets_without_precision_are_refused(tiny: Path) -> None:
    with pytest.raises(ValueError, match="give precision"):
        sim.sweep(str(tiny), grid={"tiers.web.replicas": [1, 2]}, max_time=10.0)
    with pytest.raises(ValueError, match="max_time applies to a precision-driven sweep"):
        run_sweep(_plan(tiny, None), "serial", max_time=10.0)
    with pytest.raises(ValueError, match="unknown target metric"):
        sim.sweep(str(tiny), grid={"tiers.web.replicas": [1, 2]}, precision=0.1, targets=["nope"])
