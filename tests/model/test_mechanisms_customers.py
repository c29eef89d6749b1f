"""Customer policies and asynchronous orders, exactly: jittered backoffs and abandonment replayed
draw for draw from the customers' choice stream, what feeds a circuit breaker, and how an order
is counted when the customer retried or the order was retried."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from sim.random.streams import Streams
from tests.model.test_timelines import Harness, async_payment, base, retrying


def det(seconds: float) -> dict[str, Any]:
    return {"dist": "deterministic", "value": seconds}


LOG_ROUNDING_S = 2e-9  # the harness logs times rounded to 1e-9 s


def attempt_gaps(h: Harness, arrival: float) -> list[float]:
    times = [t for t, kind, a in h.log if kind == "attempt" and a == arrival]
    return [b - a for a, b in itertools.pairwise(times)]


# -- backoff policies, draw for draw ----------------------------------------------------------------
CAP_S = 5.0


@pytest.mark.parametrize("policy", ["exponential-full-jitter", "exponential-equal-jitter"])
def test_exponential_jitter_replays_exactly(policy: str) -> None:
    raw = retrying(backoff_policy=policy, backoff_multiplier=2.0, backoff_cap=f"{CAP_S}s")
    h = Harness(raw, [11.0]).run()
    u = Streams(1, 0).uniform("customer-choices")
    ceilings = [min(CAP_S, 2.0 * 2.0**k) for k in range(3)]  # 2, 4, then 8 capped at 5
    if policy == "exponential-full-jitter":
        expected = [u() * c for c in ceilings]
    else:
        expected = [c / 2.0 + u() * c / 2.0 for c in ceilings]
    assert attempt_gaps(h, 11.0) == pytest.approx(expected, abs=LOG_ROUNDING_S)


def test_decorrelated_jitter_replays_exactly() -> None:
    h = Harness(retrying(backoff_policy="decorrelated-jitter", backoff_cap="7s"), [11.0]).run()
    u = Streams(1, 0).uniform("customer-choices")
    expected, prev = [], 2.0
    for _ in range(3):
        prev = min(7.0, 2.0 + u() * (3.0 * prev - 2.0))
        expected.append(prev)
    assert attempt_gaps(h, 11.0) == pytest.approx(expected, abs=LOG_ROUNDING_S)


def test_abandonment_replays_the_choice_stream() -> None:
    arrivals = [11.0 + 20.0 * i for i in range(4)]  # one customer at a time, each done within 20 s
    h = Harness(retrying(abandon_probability=0.5), arrivals).run()
    u = Streams(1, 0).uniform("customer-choices")
    expected = []
    for _ in arrivals:
        attempts = 1
        while attempts < 4 and u() >= 0.5:  # after each failure but the last: give up with p = 0.5
            attempts += 1
        expected.append(attempts)
    assert [len(attempt_gaps(h, a)) + 1 for a in arrivals] == expected
    assert h.rec.lost == 4


# -- what feeds a circuit breaker ---------------------------------------------------------------------
BREAKER = {"min_calls": 2, "failure_rate_threshold": 0.5, "window": "60s", "open_duration": "100s",
           "half_open_probes": 1}


def test_served_requests_count_as_successes_in_the_breaker_window() -> None:
    raw = base(web={"circuit_breaker": BREAKER})
    raw["outages"] = [{"tier": "web", "start": 5, "duration": 300}]
    # 1 is served (1 call, 0 failed); 6 fails: 1 of 2 calls, 50%, opens; 7 fails fast
    h = Harness(raw, [1.0, 6.0, 7.0]).run()
    assert h.events("done", "unavailable", "breaker") == [
        (2.0, "done", 1.0), (6.0, "unavailable", 6.0), (7.0, "breaker", 7.0)
    ]


def test_a_down_dependency_does_not_open_the_breaker_of_a_tier() -> None:
    raw = base(web={"circuit_breaker": {**BREAKER, "min_calls": 1, "failure_rate_threshold": 1.0}},
               db={"replicas": 1})
    raw["path"]["dependencies"] = ["db"]
    raw["outages"] = [{"tier": "db", "start": 10, "duration": 5}]
    h = Harness(raw, [11.0, 16.0]).run()
    assert h.events("dependency", "breaker", "done") == [(11.0, "dependency", 11.0), (17.0, "done", 16.0)]


# -- asynchronous orders ------------------------------------------------------------------------------
def test_an_order_accepted_on_a_retry_is_deferred() -> None:
    raw = async_payment()
    raw["customer"].update(max_attempts=2, retry_backoff=det(2.0))
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 2}]
    # web down at 11, retry at 13, web done at 14 (order accepted), payment done at 15
    h = Harness(raw, [11.0]).run()
    assert h.events("async-done", "lost") == [(15.0, "async-done", 11.0)]
    assert (h.rec.completed, h.rec.deferred) == (1, 1)
    assert h.rec.extra_delay_total == pytest.approx((13.0 - 11.0) + (15.0 - 14.0), abs=1e-12)
    assert h.rec.latency.mean == pytest.approx(14.0 - 11.0, abs=1e-12)


def test_an_order_that_fails_near_its_deadline_is_cancelled_at_the_deadline() -> None:
    raw = async_payment(async_max_delay="3s")
    raw["outages"] = [{"tier": "payment", "start": 13.5, "duration": 20}]
    # accepted at 13 (deadline 16), in service at payment when it crashes at 13.5: the retry is
    # due at the deadline, where the order is cancelled
    h = Harness(raw, [12.0]).run()
    assert h.events("async-crash", "lost", "async-done") == [
        (13.5, "async-crash", 12.0), (16.0, "lost", 12.0)
    ]


def test_a_served_order_frees_its_backlog_slot() -> None:
    raw = async_payment(async_queue_capacity=1)
    raw["outages"] = []
    h = Harness(raw, [1.0, 5.0, 9.0]).run()
    assert h.events("async-done", "backlog-full", "lost") == [
        (3.0, "async-done", 1.0), (7.0, "async-done", 5.0), (11.0, "async-done", 9.0)
    ]
    assert h.system.flow.backlog.size == 0


def test_waiting_orders_are_sent_in_acceptance_order_when_the_tier_is_back() -> None:
    raw = async_payment()
    raw["tiers"]["payment"]["concurrency"] = 1
    # accepted at 13, 15 and 17 while payment is down (10 → 30); one at a time from 30
    h = Harness(raw, [12.0, 14.0, 16.0]).run()
    assert h.events("async-done") == [(31.0, "async-done", 12.0), (32.0, "async-done", 14.0),
                                      (33.0, "async-done", 16.0)]
