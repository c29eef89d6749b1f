"""Mechanisms that fail subtly: exact expectations on tiny deterministic scenarios, each written so
that a one-line slip in the mechanism (not only its absence) changes the expected numbers.

Covered: one service-demand stream per tier (common random numbers), backlog slots freed by
expired orders, down reasons counted once when a replica fails inside a zone outage, patience
per attempt, and repair crews held for the whole repair.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from sim.experiment import run_replication
from sim.random.distributions import Exponential
from sim.random.streams import Streams
from sim.scenario import scenario_from_dict
from tests.model.test_timelines import Harness, async_payment, base


def det(seconds: float) -> dict[str, Any]:
    return {"dist": "deterministic", "value": seconds}


# -- service demands: one stream per tier ------------------------------------------------------
ARRIVALS = [1.0, 2.0, 3.0, 4.0, 5.0]


def two_tier(web_service: Any, payment_service: Any, extra_tier: bool = False) -> dict[str, Any]:
    """web → (cart →) payment, unlimited concurrency, no failures."""
    raw = base(web={"concurrency": "inf", "service_time": web_service},
               payment={"concurrency": "inf", "service_time": payment_service})
    raw["path"]["tiers"] = ["web", "payment"]
    if extra_tier:
        raw["tiers"]["cart"] = {"concurrency": "inf", "service_time": {"dist": "exponential", "mean": 0.2}}
        raw["path"]["tiers"] = ["web", "cart", "payment"]
    return raw


def demands(raw: dict, arrivals: list[float]) -> dict[str, list[float]]:
    """The service time each replica was asked to give, per tier, by arrival (then request) order."""
    h = Harness(raw, arrivals)
    got: dict[str, list[tuple[float, float]]] = {}
    for tier in h.system.tiers.values():
        for replica in tier.replicas:
            original = replica.accept

            def accept(c, service_s, _original=original, _tier=tier.name):
                got.setdefault(_tier, []).append((c.arrived, service_s))
                _original(c, service_s)

            replica.accept = accept
    h.run()
    return {name: [s for _, s in sorted(pairs, key=lambda p: p[0])] for name, pairs in got.items()}


def stream(name: str, mean_s: float, n: int) -> list[float]:
    draw = Streams(1, 0).sampler(name, Exponential(mean_s))
    return [draw() for _ in range(n)]


def test_each_tier_draws_service_demands_from_its_own_stream() -> None:
    got = demands(two_tier({"dist": "exponential", "mean": 0.5},
                           {"dist": "exponential", "mean": 2.0}), ARRIVALS)
    # customer i's demand at a tier is the i-th draw of that tier's named stream
    assert got["web"] == stream("service:web", 0.5, 5)
    assert got["payment"] == stream("service:payment", 2.0, 5)


def test_changing_or_adding_a_tier_keeps_the_other_tiers_demands() -> None:
    reference = demands(two_tier({"dist": "exponential", "mean": 0.5},
                                 {"dist": "exponential", "mean": 2.0}), ARRIVALS)
    faster_web = demands(two_tier(det(0.1), {"dist": "exponential", "mean": 2.0}), ARRIVALS)
    with_cart = demands(two_tier({"dist": "exponential", "mean": 0.5},
                                 {"dist": "exponential", "mean": 2.0}, extra_tier=True), ARRIVALS)
    assert faster_web["web"] == [0.1] * 5
    assert faster_web["payment"] == reference["payment"]
    assert with_cart["web"] == reference["web"]
    assert with_cart["payment"] == reference["payment"]
    assert with_cart["cart"] == stream("service:cart", 0.2, 5)


def test_a_retry_draws_a_fresh_demand_from_the_tier_retry_stream() -> None:
    raw = two_tier({"dist": "exponential", "mean": 0.5}, {"dist": "exponential", "mean": 2.0})
    raw["customer"].update(max_attempts=2, retry_backoff=det(100.0))
    raw["outages"] = [{"tier": "payment", "start": 0.5, "duration": 30.0}]
    # payment is down (failover 0: nothing to route to) for the first attempts of the customers
    # arriving at 1, 11 and 21; their retries at 101-121 need a second, independent demand
    got = demands(raw, [1.0, 11.0, 21.0])
    first = stream("service:web", 0.5, 3)
    retry = stream("retry-service:web", 0.5, 3)
    assert got["web"] == [first[0], retry[0], first[1], retry[1], first[2], retry[2]]
    assert got["payment"] == stream("retry-service:payment", 2.0, 3)


def test_an_async_order_is_served_with_the_customer_first_demand() -> None:
    raw = async_payment()
    raw["outages"] = []
    raw["tiers"]["payment"]["service_time"] = {"dist": "exponential", "mean": 2.0}
    got = demands(raw, [1.0, 2.0, 3.0])
    assert got["payment"] == stream("service:payment", 2.0, 3)


# -- asynchronous backlog: an expired order frees its slot --------------------------------------
def test_expired_orders_make_room_in_a_one_slot_backlog() -> None:
    raw = async_payment(async_queue_capacity=1, async_max_delay="5s")
    raw["outages"][0]["duration"] = 50  # payment down 10 → 60
    # accepted one second after arrival (web serves 1 s); each accepted order expires 5 s later
    h = Harness(raw, [12.0, 14.0, 20.0, 22.0, 30.0, 70.0]).run()
    assert h.events("backlog-full", "lost", "async-done") == [
        (15.0, "backlog-full", 14.0), (15.0, "lost", 14.0),
        (18.0, "lost", 12.0),  # expires: its slot is free for the next customer
        (23.0, "backlog-full", 22.0), (23.0, "lost", 22.0),
        (26.0, "lost", 20.0),
        (36.0, "lost", 30.0),
        (72.0, "async-done", 70.0),
    ]
    assert (h.rec.attempted, h.rec.completed, h.rec.lost) == (6, 1, 5)
    assert h.system.flow.backlog.size == 0
    assert h.rec.in_system == 0


def test_an_order_retried_past_its_deadline_frees_its_slot() -> None:
    # the failed replica stays in the pool for 100 s: the order is retried at its deadline and
    # cancelled then, freeing the single slot for the customer arriving at 20
    raw = async_payment(async_queue_capacity=1, async_max_delay="3s", failover_delay="100s")
    h = Harness(raw, [12.0, 20.0]).run()
    assert h.events("lost", "async-done", "backlog-full") == [(16.0, "lost", 12.0), (24.0, "lost", 20.0)]
    assert h.system.flow.backlog.size == 0


# -- failures inside a zone outage: down reasons counted once --------------------------------------
def zone_and_own_failures(mttr_s: float) -> dict[str, Any]:
    """One web replica in zone a; zone a down 10 → 30; the replica fails every 20 s of uptime."""
    raw = base(web={"zones": ["a"], "mtbf": det(20.0), "mttr": det(mttr_s)})
    raw["scenario"]["horizon"] = "100s"
    raw["zones"] = {"a": {"mtbf": "inf"}}
    raw["outages"] = [{"zone": "a", "start": 10, "duration": 20}]
    return raw


@pytest.mark.parametrize(
    ("mttr_s", "availability", "outages", "recovery_s"),
    [
        # fails at 20 inside the zone outage, repaired at 40 (after the zone is back at 30):
        # down [10, 40], then its own cycle: down [60, 80]
        (20.0, 1.0 - 50.0 / 100.0, 2, (30.0 + 20.0) / 2),
        # fails at 20, repaired at 25 while the zone is still down: back only at 30; then down
        # [45, 50], [70, 75], [95, 100]
        (5.0, 1.0 - 35.0 / 100.0, 4, (20.0 + 5.0 + 5.0 + 5.0) / 4),
    ],
)
def test_a_replica_failing_inside_a_zone_outage_is_down_once(
    mttr_s: float, availability: float, outages: int, recovery_s: float
) -> None:
    m = run_replication(scenario_from_dict(zone_and_own_failures(mttr_s)), 1, 0).metrics
    assert m["availability"] == pytest.approx(availability, abs=1e-12)
    assert m["availability_web"] == pytest.approx(availability, abs=1e-12)
    assert m["outage_count"] == outages
    assert m["mean_recovery_time_s"] == pytest.approx(recovery_s, abs=1e-9)


def test_overlapping_down_reasons_keep_the_healthy_count_exact() -> None:
    raw = zone_and_own_failures(20.0)
    raw["tiers"]["web"].update(replicas=2, zones=["a", "b"], concurrency="inf")
    raw["zones"]["b"] = {"mtbf": "inf"}
    h = Harness(raw, [])
    counts: list[tuple[float, int]] = []
    h.rec.healthy_replicas = lambda now, tier, n: counts.append((now, n))
    h.run(until=59.0)
    # both replicas fail at 20 (their own cycle); web[0] also has zone a down 10 → 30
    assert counts == [(10.0, 1), (20.0, 0), (40.0, 1), (40.0, 2)]
    assert [r.down_reasons for r in h.system.tiers["web"].replicas] == [0, 0]


# -- patience is per attempt -------------------------------------------------------------------------
def test_patience_runs_from_the_start_of_each_attempt() -> None:
    raw = base(web={"service_time": det(3.0)})
    raw["customer"].update(max_attempts=2, patience="4s", retry_backoff=det(2.0))
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 2}]
    # the first attempt finds web down at 11; the retry at 13 has 4 s of its own, enough for
    # 3 s of service (patience counted from arrival would give up at 15)
    h = Harness(raw, [11.0]).run()
    assert h.events("attempt", "unavailable", "timeout", "done", "lost") == [
        (11.0, "attempt", 11.0), (11.0, "unavailable", 11.0), (13.0, "attempt", 11.0), (16.0, "done", 11.0)
    ]
    assert (h.rec.completed, h.rec.deferred, h.rec.lost) == (1, 1, 0)
    assert h.rec.extra_delay_total == 2.0
    assert h.rec.latency.mean == 5.0


def test_patience_of_a_retry_expires_in_the_queue_at_its_own_deadline() -> None:
    raw = base(web={"service_time": det(3.0)})
    raw["customer"].update(max_attempts=2, patience="4s", retry_backoff=det(2.0))
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 2}]
    # 12.5 occupies web until 15.5; the retry at 13 waits, and gives up at 17 (13 + 4), not 15
    h = Harness(raw, [11.0, 12.5]).run()
    assert h.events("timeout", "done", "lost") == [
        (15.5, "done", 12.5), (17.0, "timeout", 11.0), (17.0, "lost", 11.0)
    ]


# -- repair crews ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("crews", "expected"),
    [
        # one crew: web[1]'s repair starts when web[0]'s ends (15) and ends at 20
        (1, [(10.0, 1), (10.0, 0), (15.0, 1), (20.0, 2), (25.0, 1)]),
        # a crew each: both repaired at 15, both fail again at 25
        ("inf", [(10.0, 1), (10.0, 0), (15.0, 1), (15.0, 2), (25.0, 1), (25.0, 0)]),
    ],
)
def test_a_repair_crew_is_held_until_the_repair_ends(crews: Any, expected: list) -> None:
    raw = base(web={"replicas": 2, "concurrency": "inf", "mtbf": det(10.0), "mttr": det(5.0),
                    "repair_crews": crews})
    h = Harness(raw, [])
    counts: list[tuple[float, int]] = []
    h.rec.healthy_replicas = lambda now, tier, n: counts.append((now, n))
    h.run(until=29.0)
    assert counts == expected


def test_one_crew_serialises_repairs_and_availability_follows() -> None:
    raw = base(web={"replicas": 2, "concurrency": "inf", "mtbf": det(10.0), "mttr": det(5.0),
                    "repair_crews": 1, "min_healthy": 2})
    raw["scenario"]["horizon"] = "24s"
    m = run_replication(scenario_from_dict(copy.deepcopy(raw)), 1, 0).metrics
    # both fail at 10; web[0] back at 15, web[1] at 20: the tier (2 needed) is down 10 → 20
    assert m["outage_count"] == 1
    assert m["mean_recovery_time_s"] == 10.0
    assert math.isclose(m["availability"], 1.0 - 10.0 / 24.0)


# -- the end of a run ----------------------------------------------------------------------------------
def test_an_outage_open_at_the_horizon_is_measured_to_its_end() -> None:
    raw = base()
    raw["scenario"]["horizon"] = "100s"
    raw["outages"] = [{"tier": "web", "start": 90, "duration": 40}]
    m = run_replication(scenario_from_dict(raw), 1, 0).metrics
    # the run goes on past the horizon until the outage that began in the window ends (130)
    assert m["outage_count"] == 1
    assert m["mean_recovery_time_s"] == 40.0
    assert m["availability"] == pytest.approx(0.9, abs=1e-12)  # only [90, 100) inside the window
