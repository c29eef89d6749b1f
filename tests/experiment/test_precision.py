"""Precision-driven runs: the look schedule, the stopping rule and the time limit on a scripted source
(exact), equality with a fixed-size run, the CLI flags, and the coverage of the stopped intervals."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from click.testing import CliRunner

import sim
from sim.cli import cli
from sim.experiment.precision import (
    DEFAULT_TARGETS,
    assess,
    look_schedule,
    relative_half_width,
    run_to_precision,
)
from sim.experiment.replication import run_replication
from sim.scenario.io import jsonable
from sim.scenario.load import scenario_from_dict
from sim.stats.intervals import summarize
from sim.theory.analytic import lost_in_outage


class FakeClock:
    """A wall clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def scripted(values: list[float], clock: FakeClock | None = None, cost_s: float = 1.0,
             reverse: bool = False, calls: list | None = None, launched: list | None = None):
    """Draws that give replication i the metric ``{"x": values[i]}``; each finished replication moves
    the clock by ``cost_s``; a replication is launched only while ``expired()`` is false."""

    def draws(start: int, stop: int, expired: Callable[[], bool]) -> Iterator[tuple[int, dict]]:
        if calls is not None:
            calls.append((start, stop))
        order = range(stop - 1, start - 1, -1) if reverse else range(start, stop)
        for i in order:
            if expired():
                return
            if launched is not None:
                launched.append(i)
            if clock is not None:
                clock.now += cost_s
            yield i, {"x": values[i]}

    return draws


def first_met(values: list[float], schedule: tuple[int, ...], target: float) -> int:
    """The first look at which the Student-t interval (from summarize) is within ±target of the mean."""
    for n in schedule:
        s = summarize(values[:n])
        if s.mean != 0 and s.half_width / abs(s.mean) <= target:
            return n
    return schedule[-1]


# ---------------------------------------------------------------------------------------------
# The schedule and the stopping rule, exactly.


def test_look_schedule_doubles_from_the_first_look() -> None:
    assert look_schedule(10, 5) == (10, 20, 40, 80, 160)
    assert look_schedule(3, 1) == (3,)
    with pytest.raises(ValueError, match="at least 2"):
        look_schedule(1)
    with pytest.raises(ValueError, match="max_looks"):
        look_schedule(10, 0)


def test_relative_half_width_is_the_t_interval_over_the_mean_and_undefined_at_mean_zero() -> None:
    values = [3.0, 5.0, 4.0, 8.0]
    s = summarize(values)
    rel, mean, n, reason = relative_half_width(values)
    assert (mean, n, reason) == (5.0, 4, "")
    assert rel == pytest.approx(s.half_width / 5.0, rel=1e-12)
    rel, mean, n, reason = relative_half_width([0.0, 0.0, 0.0])
    assert math.isnan(rel) and mean == 0.0 and "no events" in reason
    assert "fewer than two" in relative_half_width([1.0, math.nan])[3]


def test_unavailability_target_is_relative_to_one_minus_availability() -> None:
    rows = [{"availability": a, "lost_checkouts": 1.0} for a in (0.99, 0.98, 0.97, 0.99)]
    unavailability = [1.0 - r["availability"] for r in rows]
    outcome = assess(rows, DEFAULT_TARGETS, 0.05)[1]
    assert outcome.metric == "unavailability"
    expected = summarize(unavailability).half_width / np.mean(unavailability)
    assert outcome.rel_half_width == pytest.approx(expected)
    assert not outcome.met


def test_stops_at_the_first_look_that_meets_the_target_and_draws_batch_by_batch() -> None:
    rng = np.random.default_rng(7)
    values = list(rng.lognormal(0.0, 1.0, 640))
    schedule = look_schedule(10, 7)
    expected = first_met(values, schedule, 0.2)
    assert 10 < expected < 640  # the data make the rule look more than once and stop early
    calls: list = []
    items, outcome = run_to_precision(scripted(values, calls=calls), 0.2, targets=("x",), first=10,
                                      max_looks=7)
    assert outcome.replications == expected and outcome.met and outcome.stopped_by == "precision"
    assert outcome.looks == tuple(n for n in schedule if n <= expected)
    assert calls == [(0 if k == 0 else schedule[k - 1], n) for k, n in enumerate(outcome.looks)]
    assert [item["x"] for item in items] == values[:expected]


def test_results_in_any_order_and_repeated_are_kept_in_index_order_once() -> None:
    values = [float(i % 5) for i in range(40)]

    def twice(start, stop, expired):
        for i, item in scripted(values, reverse=True)(start, stop, expired):
            yield i, item
            yield i, {"x": -1.0}  # a repeat (a worker that died after finishing): the first is kept

    items, outcome = run_to_precision(twice, 1e-9, targets=("x",), first=5, max_looks=3)
    assert [item["x"] for item in items] == values[:20]
    assert outcome.stopped_by == "max_looks" and not outcome.met


def test_a_zero_mean_target_is_not_met_and_says_why() -> None:
    _items, outcome = run_to_precision(scripted([0.0] * 40), 0.5, targets=("x",), first=5, max_looks=3)
    assert outcome.replications == 20 and outcome.stopped_by == "max_looks" and not outcome.met
    (x,) = outcome.outcomes
    assert math.isnan(x.rel_half_width) and x.reason == "mean is 0 (no events yet)"
    assert outcome.to_dict()["targets"][0]["rel_half_width"] is None


def test_time_limit_discards_the_unfinished_batch_and_stops_launching() -> None:
    clock = FakeClock()
    launched: list = []
    values = [float(i % 3) for i in range(100)]  # never precise enough at 1e-6
    items, outcome = run_to_precision(scripted(values, clock, launched=launched), 1e-6, targets=("x",),
                                      first=4, max_looks=6, max_time=10.0, clock=clock)
    # looks at 4 (t=4) and 8 (t=8); the batch 8..15 is abandoned at t=10, after replications 8 and 9
    assert outcome.looks == (4, 8) and outcome.replications == 8 and len(items) == 8
    assert outcome.stopped_by == "time" and outcome.discarded == 2 and not outcome.met
    assert launched == list(range(10))  # nothing launched after the limit
    assert outcome.elapsed_s == 10.0


def test_time_spent_exactly_at_a_look_stops_there() -> None:
    clock = FakeClock()
    _items, outcome = run_to_precision(scripted([1.0, 2.0] * 20, clock), 1e-6, targets=("x",), first=4,
                                      max_looks=6, max_time=8.0, clock=clock)
    assert outcome.looks == (4, 8) and outcome.discarded == 0 and outcome.stopped_by == "time"


def test_the_first_look_completes_even_past_the_time_limit() -> None:
    clock = FakeClock()
    _items, outcome = run_to_precision(scripted([1.0, 2.0] * 20, clock, cost_s=5.0), 1e-6, targets=("x",),
                                       first=4, max_looks=6, max_time=3.0, clock=clock)
    assert outcome.looks == (4,) and outcome.replications == 4 and outcome.stopped_by == "time"


def test_a_source_that_ends_early_is_an_error_and_bad_arguments_are_refused() -> None:
    def short(start, stop, expired):
        yield start, {"x": 1.0}

    with pytest.raises(RuntimeError, match="stopped after 1 of 4"):
        run_to_precision(short, 0.1, targets=("x",), first=4)
    with pytest.raises(ValueError, match="precision"):
        run_to_precision(short, 0.0, targets=("x",))
    with pytest.raises(ValueError, match="max_time"):
        run_to_precision(short, 0.1, targets=("x",), max_time=-1.0)


# ---------------------------------------------------------------------------------------------
# The simulator: a precision-driven run is the fixed-size run of its final size.

SMALL = {
    "scenario": {"name": "small", "horizon": "20m", "replications": 3, "seed": 5},
    "traffic": {"arrival_rate": 2.0},
    "customer": {"max_attempts": 2},
    "path": {"tiers": ["web", "payment"]},
    "tiers": {"web": {"replicas": 1, "service_time": "100ms", "mtbf": "30m", "mttr": "5m"},
              "payment": {"replicas": 1, "service_time": "200ms", "concurrency": 8}},
}


def comparable(result) -> str:
    data = result.to_dict()
    for key in ("runtime", "precision", "precision_met"):
        data.pop(key, None)
    return json.dumps(jsonable(data), sort_keys=True)


def test_a_precision_run_equals_the_fixed_run_of_its_size_on_one_or_two_workers() -> None:
    scenario = scenario_from_dict(SMALL)
    stopped = sim.run(scenario, seed=3, workers=2, precision=1e-6, max_looks=2)  # looks at 3 and 6
    assert stopped.replications == 6 and stopped.precision.stopped_by == "max_looks"
    assert stopped.to_dict()["precision_met"] is False
    serial = sim.run(scenario, seed=3, workers=1, precision=1e-6, max_looks=2)
    fixed = sim.run(scenario, replications=6, seed=3, workers=1)
    assert comparable(stopped) == comparable(fixed) == comparable(serial)
    assert fixed.precision is None and fixed.to_dict()["precision_met"] is None


def test_the_time_limit_stops_worker_processes_within_a_few_replications() -> None:
    scenario = scenario_from_dict(SMALL)
    result = sim.run(scenario, seed=3, workers=2, precision=1e-9, max_time=1.5, max_looks=14)
    outcome = result.precision
    assert outcome.stopped_by == "time" and result.replications in look_schedule(3, 14)
    assert result.replications == outcome.looks[-1] < 3 * 2**13
    # a replication takes about 15 ms here: one second of slack is dozens of them
    assert result.wall_s < 1.5 + 1.0


def test_run_checks_targets_and_refuses_time_without_precision() -> None:
    scenario = scenario_from_dict(SMALL)
    with pytest.raises(ValueError, match="unknown target metric 'nope'"):
        sim.run(scenario, precision=0.1, targets=["nope"])
    with pytest.raises(ValueError, match="give precision"):
        sim.run(scenario, max_time=10.0)


# ---------------------------------------------------------------------------------------------
# The command line.


ATTEMPTED = "attempted_checkouts"


@pytest.fixture()
def small_file(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text("""
[scenario]
name = "small"
horizon = "20m"
replications = 3
seed = 5

[traffic]
arrival_rate = 2.0

[path]
tiers = ["web"]

[tiers.web]
replicas = 1
service_time = "100ms"
mtbf = "30m"
mttr = "5m"
""")
    return str(path)


def test_cli_precision_met_prints_each_target_and_writes_precision_met(small_file, tmp_path) -> None:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["run", small_file, "--precision", "50%", "--target", ATTEMPTED,
                                      "--workers", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "stopped: every target met" in result.output
    assert "attempted_checkouts: ±" in result.output and "target ±50%, met" in result.output
    data = json.loads(out.read_text())
    assert data["precision_met"] is True and data["precision"]["targets"][0]["metric"] == ATTEMPTED
    assert data["replications"] == data["precision"]["replications"] == 3


def test_cli_says_plainly_when_a_target_is_not_met(small_file) -> None:
    result = CliRunner().invoke(cli, ["run", small_file, "--precision", "0.0001", "--max-time", "1s",
                                      "--target", ATTEMPTED, "--replications", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("target ±"))
    assert line.startswith("target ±0.01% not met for attempted_checkouts: ±")
    assert "more time is needed (about --max-time " in line


@pytest.mark.parametrize(("args", "flag"), [
    (["--precision", "5x"], "--precision '5x'"),
    (["--precision", "0%"], "--precision '0%'"),
    (["--precision", "150%"], "--precision '150%'"),
    (["--precision", "5%", "--max-time", "soon"], "--max-time 'soon'"),
    (["--precision", "5%", "--max-time", "0s"], "--max-time '0s'"),
    (["--precision", "5%", "--target", "nope"], "--target 'nope'"),
    (["--precision", "5%", "--replications", "1"], "--replications 1"),
    (["--replications", "3", "--max-time", "60s"], "--max-time"),
    (["--replications", "3", "--target", "lost_checkouts"], "--target"),
    (["--precision", "off", "--max-time", "60s"], "--max-time"),
])
def test_cli_bad_precision_flags_exit_2_naming_the_flag(args, flag) -> None:
    result = CliRunner().invoke(cli, ["run", "--horizon", "10m", *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: {flag}") and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_accepts_percent_and_fraction_alike(small_file) -> None:
    outputs = [CliRunner().invoke(cli, ["run", small_file, "--precision", p, "--target", ATTEMPTED,
                                        "--workers", "1", "--max-time", "2m"]) for p in ("20%", "0.2")]
    assert [o.exit_code for o in outputs] == [0, 0]
    assert [line for line in outputs[0].output.splitlines() if "target ±20%" in line] == \
        [line for line in outputs[1].output.splitlines() if "target ±20%" in line]


# ---------------------------------------------------------------------------------------------
# Coverage of the precision-stopped 95% interval. 1000 repetitions: if the true coverage is 95%, the
# observed fraction has standard deviation sqrt(0.95 · 0.05 / 1000) = 0.69%, and 93-97% is ±2.9
# standard deviations (a false alarm about 0.4% of the time).

REPEATS = 1000


def numpy_draws(sample: np.ndarray):
    def draws(start, stop, expired):
        for i in range(start, stop):
            yield i, {"x": float(sample[i])}

    return draws


@pytest.mark.slow
@pytest.mark.parametrize(("name", "draw", "true_mean"), [
    ("lognormal", lambda rng, n: rng.lognormal(0.0, 1.0, n), math.exp(0.5)),
    # an outage in half the replications, its losses lognormal: lost_checkouts' zero-inflated shape
    ("zero-inflated", lambda rng, n: np.where(rng.random(n) < 0.5, rng.lognormal(3.0, 1.0, n), 0.0),
     0.5 * math.exp(3.5)),
])
def test_precision_stopped_intervals_cover_the_true_mean(name, draw, true_mean) -> None:
    rng = np.random.default_rng(20261128)
    covered, met, sizes = 0, 0, []
    for _ in range(REPEATS):
        sample = draw(rng, 10 * 2**9)
        items, outcome = run_to_precision(numpy_draws(sample), 0.10, targets=("x",), first=10, max_looks=10)
        covered += summarize([item["x"] for item in items], bounds=(0.0, math.inf)).contains(true_mean)
        sizes.append(outcome.replications)
        met += outcome.met
    assert len(set(sizes)) > 1, f"{name}: the stopping rule never varied the size"
    assert met == REPEATS, f"{name}: the target was missed {REPEATS - met} times"
    assert 0.93 <= covered / REPEATS <= 0.97, f"{name}: coverage {covered / REPEATS:.3f}"


@pytest.mark.slow
def test_precision_stopped_intervals_of_the_simulator_cover_lambda_times_the_outage() -> None:
    # one replica down for 60 s in a 10-minute horizon, 0.5 customers/s who never retry: λD = 30 lost
    raw = {"scenario": {"name": "outage", "horizon": "10m", "warmup": 0},
           "traffic": {"arrival_rate": 0.5}, "customer": {"max_attempts": 1, "patience": "inf"},
           "path": {"tiers": ["app"]},
           "tiers": {"app": {"replicas": 1, "service_time": {"dist": "deterministic", "value": 0.001}}},
           "outages": [{"tier": "app", "start": 300.0, "duration": 60.0}]}
    scenario = scenario_from_dict(raw)
    exact = lost_in_outage(0.5, 60.0)
    repeats, covered = 200, 0
    for seed in range(repeats):
        def draws(start, stop, expired, seed=seed):
            for i in range(start, stop):
                yield i, run_replication(scenario, seed, i).metrics

        items, _ = run_to_precision(draws, 0.10, targets=("lost_checkouts",), first=10, max_looks=5)
        covered += summarize([m["lost_checkouts"] for m in items]).contains(exact)
    # 200 repetitions: standard deviation 1.5%; 93-97% is ±1.3 sd, so the band is widened to ±3 sd
    assert 0.905 <= covered / repeats <= 0.995, f"coverage {covered / repeats:.3f}"
