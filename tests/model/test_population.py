"""A closed population of clients with a think time: exact event times on a deterministic case,
the machine-repairman (M/M/1//N) throughput, the scenario keys and the work estimate."""

from __future__ import annotations

import math

import pytest
import simpy

from sim.experiment import run_replication
from sim.experiment.methods import MethodError, resolve_method
from sim.model.population import ClosedPopulation
from sim.model.system import CheckoutSystem
from sim.random.streams import Streams
from sim.scenario import ScenarioError, describe, scenario_from_dict, scenario_to_dict
from sim.scenario.workload import estimate_workload
from sim.stats.intervals import summarize
from sim.stats.metrics import Recorder
from tests.model.test_timelines import Harness, base


def closed(clients: int, think: object, **web: object) -> dict:
    raw = base(web=web)
    raw["traffic"] = {"model": "closed", "clients": clients, "think_time": think}
    return raw


def det(seconds: float) -> dict:
    return {"dist": "deterministic", "value": seconds}


def harness(raw: dict) -> Harness:
    """The deterministic harness with the population running (the harness stops open arrivals)."""
    h = Harness(raw, [])
    h.system.arrivals.stopped = False
    return h


def test_each_client_waits_for_its_checkout_then_thinks_again() -> None:
    # two clients think 10 s, one replica serves one request at a time for 1 s: both arrive at 10,
    # one is served 10-11, the other 11-12; they come back at 21 and 22, are served 21-22 and 22-23
    h = harness(closed(2, det(10.0)))
    h.run(until=30.0)
    assert h.times("attempt") == [10.0, 10.0, 21.0, 22.0]
    assert h.times("done") == [11.0, 12.0, 22.0, 23.0]
    assert isinstance(h.system.arrivals, ClosedPopulation)


def test_a_lost_checkout_also_frees_its_client() -> None:
    # patience 0.5 s and one attempt: every checkout is lost after 0.5 s, then the client thinks 10 s
    raw = closed(1, det(10.0))
    raw["customer"]["patience"] = "0.5s"
    h = harness(raw)
    h.run(until=25.0)
    assert h.times("attempt") == [10.0, 20.5]
    assert h.times("lost") == [10.5, 21.0]


def test_no_checkout_starts_after_the_horizon() -> None:
    raw = closed(1, det(10.0))
    raw["scenario"]["horizon"] = "25s"
    raw["scenario"]["warmup"] = "0s"
    h = harness(raw)
    h.env.run(until=h.system.stopped)
    assert h.times("attempt") == [10.0, 21.0]  # the next would be at 32 s, after the horizon


def repairman_throughput(clients: int, think_s: float, service_s: float) -> float:
    """M/M/1//N: X = (1 − p0) / S with p0 = 1 / Σ_{n=0..N} N!/(N−n)! (S/Z)^n."""
    r = service_s / think_s
    total = sum(math.factorial(clients) / math.factorial(clients - n) * r**n for n in range(clients + 1))
    return (1.0 - 1.0 / total) / service_s


def test_throughput_matches_the_machine_repairman_model() -> None:
    # 5 clients thinking 2 s (exponential), one server, exponential 0.5 s: X = 1.6019/s exactly,
    # well below the open-load bound N/Z = 2.5/s; Little's law on the whole loop: N = X·(R + Z)
    raw = closed(5, "2s", service_time={"dist": "exponential", "mean": 0.5}, concurrency=1)
    raw["scenario"].update(horizon="2h", warmup="5m")
    s = scenario_from_dict(raw)
    runs = [run_replication(s, 7, r).metrics for r in range(8)]
    exact = repairman_throughput(5, 2.0, 0.5)
    assert exact == pytest.approx(1.60187, rel=1e-5)  # p0 = 1 / 5.0234375
    x = summarize([m["throughput_per_s"] for m in runs])
    assert x.ci_low <= exact <= x.ci_high
    # customers in a checkout on average = X·R, so clients thinking = N − X·R = X·Z
    thinking = summarize([5.0 - m["mean_in_system"] for m in runs])
    assert thinking.ci_low <= exact * 2.0 <= thinking.ci_high


def test_scenario_keys_round_trip_and_describe_the_load_model() -> None:
    s = scenario_from_dict(closed(100, "10s"))
    assert s.traffic.closed and s.traffic.clients == 100 and s.traffic.think_time.mean == 10.0
    assert scenario_from_dict(scenario_to_dict(s)) == s
    assert "closed population of 100 clients (think time 10s mean)" in describe(s)
    assert "model" not in scenario_to_dict(scenario_from_dict(base()))["traffic"]  # open: unchanged


@pytest.mark.parametrize(("traffic", "key", "words"), [
    ({"model": "closed", "think_time": "10s"}, "traffic.clients", 'missing (required with model = "closed")'),
    ({"model": "closed", "clients": 3}, "traffic.think_time", "missing"),
    ({"model": "closed", "clients": 3, "think_time": "1s", "arrival_rate": 2.0}, "traffic.arrival_rate",
     'not allowed with model = "closed"'),
    ({"model": "closed", "clients": 3, "think_time": "1s", "spikes": []}, "traffic.spikes", "not allowed"),
    ({"model": "closed", "clients": 0, "think_time": "1s"}, "traffic.clients", "an integer >= 1"),
    ({"model": "closed", "clients": 3, "think_time": det(0.0)}, "traffic.think_time", "mean > 0"),
    ({"arrival_rate": 1.0, "clients": 3}, "traffic.clients", 'only allowed with model = "closed"'),
    ({"model": "open"}, "traffic.arrival_rate", "missing; must be a number > 0"),
    ({"model": "shut", "arrival_rate": 1.0}, "traffic.model", '"open", "closed"'),
])
def test_bad_closed_traffic_is_refused_naming_the_key(traffic: dict, key: str, words: str) -> None:
    raw = base()
    raw["traffic"] = traffic
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(raw)
    assert key in str(err.value) and words in str(err.value)


def test_work_estimate_bounds_arrivals_by_clients_over_think_time() -> None:
    # at most N / E[Z] checkouts per second: 100 clients thinking 10 s for an hour = 36,000
    raw = closed(100, "10s")
    raw["scenario"]["horizon"] = "1h"
    work = estimate_workload(scenario_from_dict(raw))
    assert work.arrivals == pytest.approx(36_000.0)


def test_estimators_that_need_an_arrival_rate_refuse_a_closed_population() -> None:
    raw = closed(10, "10s")
    raw["outages"] = [{"tier": "web", "start": "10m", "duration": "1m"}]
    s = scenario_from_dict(raw)
    assert resolve_method("auto", s) == "crude"
    with pytest.raises(MethodError, match="needs open arrivals"):
        resolve_method("windows", s)


@pytest.mark.parametrize("extra", [
    {},  # retries, timeouts and an outage
    {"communication": {"status_page": True, "detection_delay": "10s", "return_after": "20s"}},
    {"async": True},
])
def test_every_client_is_thinking_or_in_a_checkout_at_all_times(extra: dict) -> None:
    # 30 clients, 3 attempts, 2 s patience, abandonment, one replica down for a minute: whatever ends
    # a checkout (completed, lost, given up, order queued) frees exactly one client
    raw = closed(30, "3s", service_time={"dist": "exponential", "mean": 0.3}, concurrency=2, replicas=2)
    raw["customer"] = {"max_attempts": 3, "patience": "2s", "retry_backoff": "1s", "abandon_probability": 0.2}
    raw["outages"] = [{"tier": "web", "start": "2m", "duration": "1m", "replicas": 1}]
    raw["scenario"]["horizon"] = "5m"
    if "communication" in extra:
        raw["communication"] = extra["communication"]
    if extra.get("async"):
        raw["tiers"]["web"].update({"async": True, "async_queue_capacity": 3})
    s = scenario_from_dict(raw)
    env = simpy.Environment()
    rec = Recorder(s.warmup_s, s.horizon_s, tuple(s.path))
    system = CheckoutSystem(env, s, Streams(3, 0), rec)
    population = system.arrivals
    backlog = system.flow.backlog
    for t in range(5, 300, 5):
        env.run(until=float(t))
        queued = backlog.size if backlog is not None else 0  # orders in the backlog: their clients are free
        assert population.thinking + rec.in_system - queued == 30, t
    assert rec.completed > 0 and rec.attempted > 30 and rec.lost > 0
