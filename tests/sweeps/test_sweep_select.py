"""KN++ over a sweep's points: its decision, the folder it writes, and resuming after an interruption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.experiment.executors import SerialExecutor
from sim.experiment.selection import select_best
from sim.scenario.io import jsonable
from sim.sweeps.design import SweepSpec
from sim.sweeps.plan import SweepPlan, plan_sweep
from sim.sweeps.select import (
    SelectionOptionError,
    SelectionProgress,
    point_name,
    select_in_sweep,
    selection_spec,
)
from sim.sweeps.store import RESULTS_LOG

# One tier of one replica: the repair time decides how many checkouts are lost (about 110, 220
# and 290 per 2 h replication at 5, 10 and 15 minutes), a few dozen replications in all.
SHOP = """
[scenario]
name = "shop"
horizon = "2h"
seed = 11
[traffic]
arrival_rate = 0.2
[path]
tiers = ["web"]
[tiers.web]
replicas = 1
service_time = "50ms"
mtbf = "{mtbf}"
mttr = "10m"
"""


def _plan(tmp_path: Path, grid: dict, mtbf: str = "1h", max_replications: int = 200) -> SweepPlan:
    path = tmp_path / "shop.toml"
    path.write_text(SHOP.format(mtbf=mtbf))
    return plan_sweep(selection_spec(SweepSpec(scenario=path, grid=grid), max_replications))


MTTRS = {"tiers.web.mttr": ["5m", "10m", "15m"]}


def _lines(folder: Path) -> list[tuple[int, int]]:
    records = map(json.loads, (folder / RESULTS_LOG).read_text().splitlines())
    return [(r["point"], r["replication"]) for r in records]


def test_a_clearly_best_point_is_named_at_the_first_stage(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"tiers.web.mtbf": ["10m", "inf"]}, mtbf="1h")
    result = select_in_sweep(plan, tmp_path / "out", "availability", 0.05, n0=10, executor="serial")
    sel = result.selection
    assert sel is not None and sel.stopped == "selected" and result.best_point == 1
    assert sel.observations == (10, 10) and sel.eliminated_at == (10, None)
    assert sel.means[1] == 1.0
    assert result.statement() == ("point 1 (tiers.web.mtbf=inf) is best (or within δ = 0.05 of the best) in "
                                  "availability with probability ≥ 95%")
    assert result.ran == 20
    assert sorted(_lines(tmp_path / "out")) == [(p, j) for p in (0, 1) for j in range(10)]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["hash"] == plan.hash and manifest["replications"] == 200
    assert manifest["selection"]["best_point"] == 1 and manifest["selection"]["n0"] == 10
    assert manifest["selection"]["statement"] == result.statement()


def test_the_decision_is_that_of_select_best_on_the_points_scenarios(tmp_path: Path) -> None:
    plan = _plan(tmp_path, MTTRS)
    names = [point_name(plan, p) for p in range(3)]
    direct = select_best(plan.scenarios, names, "lost_checkouts", 30.0, plan.seed, workers=1, n0=5,
                         max_replications=200)
    through = select_in_sweep(plan, tmp_path / "out", "lost_checkouts", 30.0, n0=5, executor="serial")
    assert through.selection == direct
    assert direct.stopped == "selected" and max(direct.observations) > 5  # more than the first stage
    # the tables hold the replications KN++ used, up to each point's elimination
    rows = (tmp_path / "out" / "summary.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[2]) for row in rows] == list(direct.observations)


def test_an_interrupted_selection_resumes_to_the_same_decision_without_rerunning(tmp_path: Path) -> None:
    plan = _plan(tmp_path, MTTRS)
    whole = select_in_sweep(plan, tmp_path / "whole", "lost_checkouts", 30.0, n0=5, executor="serial")

    def interrupt(p: SelectionProgress) -> None:
        if p.ran == 17:  # in the first stage's 15 or just after it
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        select_in_sweep(plan, tmp_path / "cut", "lost_checkouts", 30.0, n0=5, executor="serial",
                        progress=interrupt)
    before = _lines(tmp_path / "cut")
    assert len(before) == 17
    resumed = select_in_sweep(plan, tmp_path / "cut", "lost_checkouts", 30.0, n0=5, executor="serial")
    assert resumed.selection == whole.selection and resumed.statement() == whole.statement()
    after = _lines(tmp_path / "cut")
    assert after[:17] == before and len(set(after)) == len(after)  # no stored replication ran again
    assert resumed.resumed == 17 and resumed.ran == whole.ran - 17
    for name in ("results.csv", "summary.csv", "manifest.json"):
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    # another δ in the same folder reuses every stored replication it needs
    again = select_in_sweep(plan, tmp_path / "cut", "lost_checkouts", 60.0, n0=5, executor="serial")
    assert again.ran == 0 and again.resumed == whole.ran and again.selection is not None


def test_batches_on_another_executor_give_the_same_decision(tmp_path: Path) -> None:
    plan = _plan(tmp_path, MTTRS)
    one = select_in_sweep(plan, tmp_path / "one", "lost_checkouts", 30.0, n0=5, executor="serial")

    class Wide(SerialExecutor):
        workers = 4  # KN++ draws four replications per point at a time

    with Wide() as wide:
        four = select_in_sweep(plan, tmp_path / "four", "lost_checkouts", 30.0, n0=5, executor=wide)
    assert four.selection == one.selection
    stored = set(_lines(tmp_path / "four"))  # every replication KN++ used, and the rest of each batch
    assert all((p, j) in stored for p, n in enumerate(one.selection.observations) for j in range(n))
    assert four.ran == len(stored)


def test_candidates_limit_the_points_and_bad_options_are_refused(tmp_path: Path) -> None:
    plan = _plan(tmp_path, MTTRS)
    only = select_in_sweep(plan, tmp_path / "only", "lost_checkouts", 30.0, n0=5, candidates=[2],
                           executor="serial", constrained=True)
    assert only.selection is None and only.best_point == 2 and only.ran == 0
    assert only.statement() == "point 2 (tiers.web.mttr=15m) is the only point that meets the SLO constraint"
    for kwargs, message in (({"delta": 0.0}, "--select needs --delta D > 0"),
                            ({"metric": "nope"}, "--metric nope: unknown metric"),
                            ({"n0": 300}, "--n0 300: must be from 2 to --max-replications (200)"),
                            ({"metric": "mean_recovery_time_s", "candidates": [0, 1]},
                             "has no value in some replication of point 0")):
        args = {"metric": "lost_checkouts", "delta": 30.0, "n0": 5, **kwargs}
        with pytest.raises(SelectionOptionError, match=message.replace("(", r"\(").replace(")", r"\)")):
            select_in_sweep(plan, tmp_path / "bad", executor="serial", **args)
    with pytest.raises(SelectionOptionError, match="--max-replications 1"):
        selection_spec(SweepSpec(), 1)


def test_a_folder_prefilled_by_a_plain_sweep_is_reused_line_for_line(tmp_path: Path) -> None:
    from sim.sweeps.runner import run_sweep
    from sim.sweeps.store import ResultStore

    plan = _plan(tmp_path, MTTRS)
    whole = select_in_sweep(plan, tmp_path / "whole", "lost_checkouts", 30.0, n0=5, executor="serial")
    path = tmp_path / "shop.toml"
    plain = run_sweep(plan_sweep(SweepSpec(scenario=path, grid=MTTRS, replications=4)), "serial")
    store = ResultStore(tmp_path / "pre", plan)  # the first 4 replications of every point, by a plain sweep
    try:
        for key, metrics in plain.stored.items():
            store.append(key, metrics, {})
    finally:
        store.close()
    resumed = select_in_sweep(plan, tmp_path / "pre", "lost_checkouts", 30.0, n0=5, executor="serial")
    assert resumed.selection == whole.selection
    assert resumed.resumed == 12 and resumed.ran == whole.ran - 12
    # the values KN++ stored are those of the plain sweep's tasks
    records = [json.loads(line) for line in (tmp_path / "whole" / RESULTS_LOG).read_text().splitlines()]
    for r in records:
        if r["replication"] < 4:
            assert r["metrics"] == jsonable(plain.stored[(r["point"], r["replication"])])  # NaN as null
    # a plain sweep of the bound, named by the same hash, would share the folder
    assert plan_sweep(SweepSpec(scenario=path, grid=MTTRS, replications=200)).hash == plan.hash
