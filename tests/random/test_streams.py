"""Random streams: derived by name, independent of one another (common random numbers)."""

from __future__ import annotations

import copy

import numpy as np
import simpy

from sim.model.system import CheckoutSystem
from sim.random.distributions import Exponential
from sim.random.streams import Streams, name_key
from sim.scenario import scenario_from_dict
from sim.stats.metrics import Recorder


def test_same_name_same_stream() -> None:
    a = Streams(7, 2).generator("arrivals").random(5)
    b = Streams(7, 2).generator("arrivals").random(5)
    assert np.array_equal(a, b)


def test_different_name_replication_or_seed_differ() -> None:
    base = Streams(7, 2).generator("arrivals").random(5)
    assert not np.array_equal(base, Streams(7, 2).generator("patience").random(5))
    assert not np.array_equal(base, Streams(7, 3).generator("arrivals").random(5))
    assert not np.array_equal(base, Streams(8, 2).generator("arrivals").random(5))


def test_name_key_is_stable() -> None:
    # SHA-256 based: the same in every process (never the salted hash())
    assert name_key("arrivals") == name_key("arrivals")
    assert len(name_key("x")) == 4 and all(0 <= k < 2**32 for k in name_key("x"))


def test_sampler_blocks_match_generator() -> None:
    s = Streams(1, 0)
    draw = s.sampler("service:web", Exponential(2.0))
    got = [draw() for _ in range(600)]  # more than one block
    rng = s.generator("service:web")
    expected = np.concatenate([rng.exponential(2.0, 512), rng.exponential(2.0, 512)])[:600]
    assert np.allclose(got, expected)


RAW = {
    "scenario": {"horizon": "30m", "replications": 2, "seed": 5},
    "traffic": {"arrival_rate": 2.0},
    "customer": {"max_attempts": 2, "retry_backoff": "5s"},
    "path": {"tiers": ["web"]},
    "tiers": {"web": {"replicas": 2, "service_time": "200ms", "mtbf": "10m", "mttr": "1m"}},
}


def arrival_times(replicas: int) -> list[float]:
    raw = copy.deepcopy(RAW)
    raw["tiers"]["web"]["replicas"] = replicas
    scenario = scenario_from_dict(raw)
    env = simpy.Environment()
    rec = Recorder(scenario.warmup_s, scenario.horizon_s, ("web",))
    system = CheckoutSystem(env, scenario, Streams(5, 0), rec)
    times: list[float] = []
    flow = system.flow
    original = flow.arrive

    def arrive() -> None:
        times.append(env.now)
        original()

    system.arrivals.on_arrival = arrive
    env.run(until=scenario.horizon_s)
    return times


def test_adding_a_replica_does_not_change_the_arrival_stream() -> None:
    two, three = arrival_times(2), arrival_times(3)
    assert len(two) > 1000
    assert two == three
