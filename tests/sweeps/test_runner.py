"""Sweeps: designs, checks before any work, content hashes, paired summaries, resume, executors."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.experiment.executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor
from sim.scenario import ScenarioError, builtin_scenarios_dir
from sim.scenario.io import jsonable
from sim.stats.intervals import paired_difference, summarize
from sim.sweeps.design import DesignError, SweepSpec, read_sweep_file
from sim.sweeps.plan import SweepPlan, plan_sweep
from sim.sweeps.runner import run_sweep
from sim.sweeps.store import RESULTS_LOG, ResultStore, summary_rows

# Small and quick (about 1,200 customers a replication) but with failures, so metrics vary.
TINY = """
[scenario]
name = "tiny"
horizon = "20m"
replications = 3
seed = 7

[traffic]
arrival_rate = 1.0

[customer]
max_attempts = 2
retry_backoff = "10s"
patience = "30s"

[path]
tiers = ["web", "payment"]

[tiers.web]
replicas = 2
service_time = "200ms"
concurrency = 8
mtbf = "30m"
mttr = "5m"

[tiers.payment]
replicas = 1
service_time = "400ms"
concurrency = 8
mtbf = "20m"
mttr = "10m"
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def plan(scenario: Path | str | None, **spec) -> SweepPlan:
    overrides = spec.pop("overrides", ())
    return plan_sweep(SweepSpec(scenario=scenario, **spec), overrides)


def canonical(stored: dict) -> str:
    """Results as text, NaN included, for exact comparisons."""
    return json.dumps(jsonable({f"{p},{r}": m for (p, r), m in sorted(stored.items())}), sort_keys=True)


def files(folder: Path) -> dict[str, bytes]:
    names = ("results.csv", "summary.csv", "manifest.json")
    return {name: (folder / name).read_bytes() for name in names}


# -- designs -----------------------------------------------------------------------------------


def test_grid_and_range_make_the_cartesian_product(tiny: Path) -> None:
    p = plan(tiny, grid={"tiers.payment.replicas": [1, 2]}, ranges={"tiers.payment.mttr": ("5m", "15m", 3)})
    assert p.keys == ("tiers.payment.replicas", "tiers.payment.mttr")
    assert p.points == (
        {"tiers.payment.replicas": 1, "tiers.payment.mttr": 300.0},
        {"tiers.payment.replicas": 1, "tiers.payment.mttr": 600.0},
        {"tiers.payment.replicas": 1, "tiers.payment.mttr": 900.0},
        {"tiers.payment.replicas": 2, "tiers.payment.mttr": 300.0},
        {"tiers.payment.replicas": 2, "tiers.payment.mttr": 600.0},
        {"tiers.payment.replicas": 2, "tiers.payment.mttr": 900.0},
    )
    assert [s.tier("payment").replicas for s in p.scenarios] == [1, 1, 1, 2, 2, 2]
    assert [s.tier("payment").mttr.mean for s in p.scenarios] == [300.0, 600.0, 900.0] * 2
    assert (p.replications, p.seed, p.total) == (3, 7, 18)  # the scenario's, by default
    tasks = list(p.tasks())
    assert [t.key for t in tasks[:4]] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    # common random numbers: replication i of every point has the same seed and index
    assert {(t.seed, t.replication) for t in tasks if t.key[1] == 1} == {(7, 1)}


def test_range_of_an_integer_key_is_rounded(tiny: Path) -> None:
    p = plan(tiny, ranges={"tiers.web.replicas": (1, 4, 4), "traffic.arrival_rate": (1, 2, 3)})
    assert [pt["tiers.web.replicas"] for pt in p.points[::3]] == [1, 2, 3, 4]
    assert all(type(pt["tiers.web.replicas"]) is int for pt in p.points)
    assert [pt["traffic.arrival_rate"] for pt in p.points[:3]] == [1.0, 1.5, 2.0]


def test_lhs_is_stratified_and_reproducible_for_the_seed(tiny: Path) -> None:
    spec = {"lhs": {"traffic.arrival_rate": (1, 3), "tiers.web.mttr": ("1m", "10m")}, "samples": 8}
    a, b = plan(tiny, seed=11, **spec), plan(tiny, seed=11, **spec)
    assert a.points == b.points and a.hash == b.hash
    assert plan(tiny, seed=12, **spec).points != a.points
    rates = np.array([p["traffic.arrival_rate"] for p in a.points])
    mttrs = np.array([p["tiers.web.mttr"] for p in a.points])
    # a Latin hypercube puts exactly one sample in each of the 8 equal slices of every axis
    assert sorted(np.floor((rates - 1) / 2 * 8).astype(int)) == list(range(8))
    assert sorted(np.floor((mttrs - 60) / 540 * 8).astype(int)) == list(range(8))
    assert [s.traffic.arrival_rate_per_s for s in a.scenarios] == list(rates)


def test_sobol_design_and_integer_keys(tiny: Path) -> None:
    spec = {"lhs": {"tiers.web.replicas": (1, 3), "traffic.arrival_rate": (0.5, 2)}, "samples": 16,
            "sampler": "sobol", "seed": 3}
    p = plan(tiny, **spec)
    assert p.points == plan(tiny, **spec).points
    replicas = [pt["tiers.web.replicas"] for pt in p.points]
    assert set(replicas) == {1, 2, 3} and all(type(r) is int for r in replicas)
    assert all(0.5 <= pt["traffic.arrival_rate"] <= 2 for pt in p.points)
    assert p.design["sampler"] == "sobol"


def test_grid_crossed_with_samples(tiny: Path) -> None:
    p = plan(tiny, grid={"tiers.payment.replicas": [1, 2]}, lhs={"traffic.arrival_rate": (1, 2)}, samples=3)
    assert len(p.points) == 6
    rates = [pt["traffic.arrival_rate"] for pt in p.points]
    assert rates[:3] == rates[3:]  # the same samples at every grid point


BAD_DESIGNS = [
    ({"grid": {"tiers.payment.replics": [1]}}, "unknown key; allowed keys in [tiers.payment]"),
    ({"grid": {"tiers.pay.replicas": [1]}}, "no tier 'pay' in the scenario (defined: web, payment)"),
    ({"grid": {"nonsense.key": [1]}}, "unknown section"),
    ({"grid": {"tiers.payment.replicas": [1, 0]}}, "tiers.payment.replicas = 0: must be an integer >= 1"),
    ({"grid": {"tiers.payment.mttr": ["5m", "soon"]}}, 'tiers.payment.mttr = "soon": must be a positive'),
    ({"grid": {"tiers.payment.replicas": []}}, "an empty list of values"),
    ({"grid": {"tiers.payment.replicas": [1, 2, 1]}}, "repeats the value 1"),
    ({"ranges": {"tiers.payment.mttr": ("5m", "60m", 0)}}, "STEPS = 0 is an empty range"),
    ({"ranges": {"tiers.payment.mttr": ("60m", "5m", 3)}}, "empty range: LO (3600) must be below HI (300)"),
    ({"ranges": {"tiers.payment.mttr": ("5m", "later", 3)}}, "HI 'later': expected a finite number"),
    ({"ranges": {"tiers.payment.replicas": (1, 2, 3)}}, "repeat values after rounding (1, 2, 2)"),
    ({"ranges": {"traffic.arrival_rate": (-1, 1, 3)}}, "traffic.arrival_rate = -1.0: must be a number > 0"),
    ({"lhs": {"traffic.arrival_rate": (1, 2)}}, "--lhs needs --samples K"),
    ({"samples": 4}, "needs --lhs"),
    ({"lhs": {"traffic.arrival_rate": (1, 2)}, "samples": 10, "sampler": "sobol"},
     "a power of 2 (e.g. 8 or 16)"),
    ({"lhs": {"tiers.web.replicas": (1.5, 3)}, "samples": 4}, "LO and HI must be integers"),
    ({"grid": {"scenario.seed": [1, 2]}}, "not a sweep key: set it with --seed"),
    ({"grid": {"tiers.payment.replicas": [1, 2]}, "reference": 5}, "point 5 does not exist"),
    ({"grid": {"tiers.payment.replicas": [1, 2]}, "reference": {"tiers.payment.replicas": 3}},
     "matches 0 points"),
    ({"grid": {"tiers.payment.replicas": [1, 2]}, "reference": "tiers.web.replicas=2"}, "not a swept key"),
    ({"replications": 1}, "expected an integer >= 2"),
    # valid alone, rejected together with the base scenario: the message names the point
    ({"grid": {"tiers.web.replicas": [2, 1]}, "overrides": ["tiers.web.min_healthy=2"]},
     "must be an integer from 1 to replicas (1) (at sweep point 1: tiers.web.replicas=1)"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_DESIGNS)
def test_bad_designs_fail_before_any_work_with_one_line(tiny: Path, spec: dict, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        plan(tiny, **spec)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text


def test_content_hash(tiny: Path) -> None:
    p = plan(tiny, grid={"tiers.payment.mttr": ["20m", "40m"]})
    assert plan(tiny, grid={"tiers.payment.mttr": [1200, 2400]}).hash == p.hash  # same resolved points
    assert plan(tiny, grid={"tiers.payment.mttr": ["20m", "41m"]}).hash != p.hash
    assert plan(tiny, grid={"tiers.payment.mttr": ["40m", "20m"]}).hash != p.hash  # point ids differ
    assert plan(tiny, grid={"tiers.payment.mttr": ["20m", "40m"]}, replications=4).hash != p.hash
    assert plan(tiny, grid={"tiers.payment.mttr": ["20m", "40m"]}, seed=8).hash != p.hash
    changed = plan(tiny, grid={"tiers.payment.mttr": ["20m", "40m"]}, overrides=["traffic.arrival_rate=1.1"])
    assert changed.hash != p.hash
    # where the scenario was read from is not part of it
    builtin = builtin_scenarios_dir() / "baseline.toml"
    assert plan("baseline", grid={"tiers.web.replicas": [1]}).hash == \
        plan(builtin, grid={"tiers.web.replicas": [1]}).hash
    assert p.name == f"tiny-{p.hash[:12]}"


def test_options_and_sweep_file_agree(tiny: Path, tmp_path: Path) -> None:
    (tmp_path / "sweeps").mkdir()
    path = tmp_path / "sweeps" / "mttr.toml"
    path.write_text("""
[sweep]
scenario = "../tiny.toml"
replications = 4
seed = 2
reference = { "tiers.payment.replicas" = 2, "tiers.payment.mttr" = "5m" }

[set]
"scenario.horizon" = "10m"

[grid]
tiers.payment.replicas = [1, 2]

[range]
"tiers.payment.mttr" = { low = "5m", high = "15m", steps = 3 }
""")
    from_file = plan_sweep(read_sweep_file(path))
    options = SweepSpec.from_options(["tiers.payment.replicas=1,2"], ["tiers.payment.mttr=5m:15m:3"],
                                     scenario=str(tiny), replications=4, seed=2,
                                     reference="tiers.payment.replicas=2,tiers.payment.mttr=5m")
    from_options = plan_sweep(options, ["scenario.horizon=10m"])
    assert from_file.hash == from_options.hash
    assert from_file.points == from_options.points
    assert from_file.reference == from_options.reference == 3
    # the command line adds to the file; one key swept twice is an error
    cli = SweepSpec.from_options(["tiers.web.replicas=1,2"], seed=9, reference=0)
    more = read_sweep_file(path).merged(cli)
    assert plan_sweep(more).seed == 9 and len(plan_sweep(more).points) == 12
    with pytest.raises(DesignError, match="swept twice"):
        read_sweep_file(path).merged(SweepSpec.from_options(["tiers.payment.replicas=3"]))


def test_reference_by_values_must_name_one_point(tiny: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'[sweep]\nscenario = "{tiny}"\nreference = {{ "tiers.payment.replicas" = 2 }}\n'
                    '[grid]\n"tiers.payment.replicas" = [1, 2]\n"tiers.web.replicas" = [1, 2]\n')
    with pytest.raises(DesignError, match="matches 2 points"):
        plan_sweep(read_sweep_file(path))


@pytest.mark.parametrize(("text", "message"), [
    ("[sweep]\nsceanrio = 'x'\n", "sweep.sceanrio: unknown key"),
    ("[grids]\n", "grids: unknown section"),
    ("[grid]\n'tiers.web.replicas' = 2\n", "must be an array of values"),
    ("[range]\n'tiers.web.mttr' = '5m:60m'\n", "expected LO:HI:STEPS"),
    ("[sweep]\nreplications = 'ten'\n", "sweep.replications: has the wrong type"),
    ("[grid\n", "invalid TOML"),
])
def test_bad_sweep_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(DesignError, match=message.replace("[", r"\[")):
        read_sweep_file(path)


# -- running, storing, resuming ------------------------------------------------------------------


def test_run_writes_tidy_results_summary_and_manifest(tiny: Path, tmp_path: Path) -> None:
    p = plan(tiny, grid={"tiers.payment.replicas": [1, 2]}, reference=0)
    out = tmp_path / "out"
    result = run_sweep(p, "serial", out=out)
    assert result.resumed == 0 and len(result.stored) == 6
    results = (out / "results.csv").read_text().splitlines()
    assert results[0].startswith("point,replication,tiers.payment.replicas,attempted_checkouts,")
    assert [line.split(",")[:3] for line in results[1:]] == [
        ["0", "0", "1"], ["0", "1", "1"], ["0", "2", "1"], ["1", "0", "2"], ["1", "1", "2"], ["1", "2", "2"]]
    summary = (out / "summary.csv").read_text().splitlines()
    assert len(summary) == 3
    assert ",lost_checkouts_mean,lost_checkouts_ci_low,lost_checkouts_ci_high,lost_checkouts_diff_mean," \
        in summary[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["hash"] == p.hash and manifest["seed"] == 7 and manifest["replications"] == 3
    assert manifest["points"][1] == {"point": 1, "tiers.payment.replicas": 2}
    assert manifest["scenario"]["tiers"]["payment"]["replicas"] == 1  # the base, before the sweep
    assert manifest["reference"] == 0 and manifest["version"] == sim.__version__
    assert len((out / RESULTS_LOG).read_text().splitlines()) == 6
    pytest.importorskip("pyarrow")
    import pandas as pd

    table = pd.read_parquet(out / "results.parquet")
    assert list(table["tiers.payment.replicas"]) == [1, 1, 1, 2, 2, 2]


def test_paired_differences_use_common_random_numbers(tiny: Path) -> None:
    p = plan(tiny, grid={"tiers.payment.replicas": [1, 2, 3]}, replications=6, reference=1)
    result = run_sweep(p, "serial")
    _, rows = result.summary()
    for point, row in enumerate(rows):
        lost = [result.stored[(point, r)]["lost_checkouts"] for r in range(6)]
        ref = [result.stored[(1, r)]["lost_checkouts"] for r in range(6)]
        expected = paired_difference(lost, ref)
        assert (row["lost_checkouts_diff_mean"], row["lost_checkouts_diff_ci_low"],
                row["lost_checkouts_diff_ci_high"]) == (expected.mean, expected.ci_low, expected.ci_high)
        s = summarize(lost, bounds=(0.0, math.inf))
        assert (row["lost_checkouts_mean"], row["lost_checkouts_ci_low"]) == (s.mean, s.ci_low)
        # replicas do not change the arrivals: the same customers arrive at every point
        assert row["attempted_checkouts_diff_mean"] == 0.0
        assert row["attempted_checkouts_diff_ci_low"] == row["attempted_checkouts_diff_ci_high"] == 0.0
    assert rows[1]["lost_checkouts_diff_mean"] == 0.0
    # pairing removes the arrival noise the points share: the paired interval is the narrower one
    d = rows[0]["lost_checkouts_diff_ci_high"] - rows[0]["lost_checkouts_diff_ci_low"]
    unpaired = 2 * 2.571 * math.hypot(
        summarize([result.stored[(0, r)]["lost_checkouts"] for r in range(6)]).std,
        summarize([result.stored[(1, r)]["lost_checkouts"] for r in range(6)]).std) / math.sqrt(6)
    assert d < unpaired
    assert "lost_checkouts_diff_mean" not in summary_rows(p, result.stored, None)[0]


def test_resume_skips_stored_tasks_and_ignores_a_torn_line(tiny: Path, tmp_path: Path) -> None:
    p = plan(tiny, grid={"tiers.payment.replicas": [1, 2]}, ranges={"tiers.web.mttr": ("1m", "5m", 2)})
    whole, part = tmp_path / "whole", tmp_path / "part"
    run_sweep(p, "serial", out=whole)
    lines = (whole / RESULTS_LOG).read_bytes().splitlines(keepends=True)
    part.mkdir()
    (part / "manifest.json").write_bytes((whole / "manifest.json").read_bytes())
    # five tasks stored, in completion order, then a line cut short by a kill
    (part / RESULTS_LOG).write_bytes(b"".join(lines[:5]) + lines[5][:40])
    result = run_sweep(p, "serial", out=part)
    assert result.resumed == 5
    assert files(part) == files(whole)
    log = (part / RESULTS_LOG).read_text().splitlines()
    assert len(log) == 12 and all(json.loads(line) for line in log)  # the torn line was cut off
    keys = [(json.loads(line)["point"], json.loads(line)["replication"]) for line in log]
    assert len(set(keys)) == 12
    again = run_sweep(p, "serial", out=part)  # all done: nothing runs, the same files
    assert again.resumed == 12 and files(part) == files(whole)


def test_store_dedupes_results_reported_twice(tiny: Path, tmp_path: Path) -> None:
    p = plan(tiny, grid={"tiers.payment.replicas": [1]})
    store = ResultStore(tmp_path / "s", p)
    try:
        assert store.append((0, 0), {"lost_checkouts": 1.0}, {})
        assert not store.append((0, 0), {"lost_checkouts": 2.0}, {})
    finally:
        store.close()
    again = ResultStore(tmp_path / "s", p)
    try:
        assert again.stored == {(0, 0): {"lost_checkouts": 1.0}}
        assert len((tmp_path / "s" / RESULTS_LOG).read_text().splitlines()) == 1
    finally:
        again.close()


def _hold_folder(folder: Path, p: SweepPlan, ready, release) -> None:
    store = ResultStore(folder, p)
    ready.set()
    release.wait(60)
    store.close()


def test_two_sweeps_never_write_to_one_folder_at_once(tiny: Path, tmp_path: Path) -> None:
    p = plan(tiny, grid={"tiers.payment.replicas": [1]})
    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_folder, args=(tmp_path / "s", p, ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(DesignError, match="another sweep is writing to this folder"):
            ResultStore(tmp_path / "s", p)
    finally:
        release.set()
        holder.join(60)
    ResultStore(tmp_path / "s", p).close()  # free again


def test_a_folder_holding_another_sweep_is_refused(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_sweep(plan(tiny, grid={"tiers.payment.replicas": [1, 2]}), "serial", out=out)
    before = files(out)
    with pytest.raises(DesignError, match="holds a different sweep"):
        run_sweep(plan(tiny, grid={"tiers.payment.replicas": [1, 3]}), "serial", out=out)
    assert files(out) == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(DesignError, match="not a sweep folder"):
        run_sweep(plan(tiny, grid={"tiers.payment.replicas": [1]}), "serial", out=other)
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


def test_python_api(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pd = pytest.importorskip("pandas")
    grid = {"tiers.payment.replicas": [1, 2]}
    table = sim.sweep(tiny, grid=grid, replications=2, seed=4, executor="serial")
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns[:3]) == ["point", "replication", "tiers.payment.replicas"]
    assert len(table) == 4
    monkeypatch.setitem(sys.modules, "pandas", None)  # pandas not installed: a list of records
    records = sim.sweep(tiny, grid=grid, replications=2, seed=4, executor="serial", out=tmp_path / "api")
    assert [r["point"] for r in records] == [0, 0, 1, 1]
    assert records[3]["lost_checkouts"] == table["lost_checkouts"].iloc[3]
    scenario = sim.load_scenario(tiny)  # a Scenario object works as the base too
    again = sim.sweep(scenario, grid=grid, replications=2, seed=4, executor="serial")
    assert [r["lost_checkouts"] for r in again] == [r["lost_checkouts"] for r in records]


# -- executors -----------------------------------------------------------------------------------


def test_serial_and_process_pool_give_identical_results(tiny: Path) -> None:
    p = plan(tiny, grid={"tiers.payment.replicas": [1, 2]}, ranges={"tiers.web.mttr": ("1m", "5m", 3)})
    serial = run_sweep(p, "serial")
    pooled = run_sweep(p, "processes", workers=2)
    with ProcessExecutor(3) as three:
        tripled = run_sweep(p, three)
    assert canonical(serial.stored) == canonical(pooled.stored) == canonical(tripled.stored)
    assert isinstance(make_executor(None, 1), SerialExecutor)


def test_process_pool_recovers_from_a_killed_worker(tiny: Path) -> None:
    p = plan(tiny, grid={"tiers.payment.replicas": [1, 2, 3]}, replications=4)
    expected = run_sweep(p, "serial").stored
    got: dict = {}
    with ProcessExecutor(2) as pool:
        for i, (key, result) in enumerate(pool.run(p.tasks())):
            if i == 0:
                victim = multiprocessing.active_children()[0]
                os.kill(victim.pid, signal.SIGKILL)
            assert key not in got
            got[key] = result.metrics
    assert canonical(got) == canonical(expected)


def test_map_replications_still_orders_by_replication(tiny: Path) -> None:
    from sim.experiment.executors import map_replications

    scenario = sim.load_scenario(tiny)
    one, used1 = map_replications(scenario, 5, range(4), workers=1)
    two, used2 = map_replications(scenario, 5, range(4), workers=2)
    assert (used1, used2) == (1, 2)
    assert [r.replication for r in two] == [0, 1, 2, 3]
    assert [r.metrics["lost_checkouts"] for r in one] == [r.metrics["lost_checkouts"] for r in two]


@pytest.mark.slow
def test_serial_processes_and_dask_write_identical_files(tiny: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    p = plan(tiny, grid={"tiers.payment.replicas": [1, 2, 3]}, ranges={"tiers.web.mttr": ("1m", "5m", 2)},
             replications=4, seed=21, reference=0)
    run_sweep(p, "serial", out=tmp_path / "serial", parquet=False)
    run_sweep(p, "processes", workers=2, out=tmp_path / "processes", parquet=False)
    with DaskExecutor("dask", workers=2) as cluster:  # a real LocalCluster, two worker processes
        assert cluster.workers == 2
        run_sweep(p, cluster, out=tmp_path / "dask", parquet=False)
    assert files(tmp_path / "serial") == files(tmp_path / "processes") == files(tmp_path / "dask")


@pytest.mark.slow
def test_dask_worker_killed_mid_sweep_loses_and_duplicates_nothing(tiny: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    p = plan(tiny, grid={"tiers.payment.replicas": [1, 2, 3, 4]}, replications=6, seed=2,
             overrides=["scenario.horizon=1h"])
    expected = run_sweep(p, "serial").stored
    with DaskExecutor("dask", workers=2) as cluster:
        victim = next(iter(cluster.client.run(os.getpid).values()))
        killed = []

        def kill_one(progress) -> None:
            if progress.done >= 3 and not killed:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        result = run_sweep(p, cluster, out=tmp_path / "dask", progress=kill_one)
    assert killed
    assert canonical(result.stored) == canonical(expected)
    keys = [tuple(json.loads(line)[k] for k in ("point", "replication"))
            for line in (tmp_path / "dask" / RESULTS_LOG).read_text().splitlines()]
    assert sorted(keys) == sorted(expected)
