"""Breaker scopes and the adaptive breaker: one breaker shared by a tier's callers opens on
everyone's failures, one per caller replica only on its own; the adaptive breaker refuses in
proportion to the failure rate. Exact call counts on tiny deterministic scenarios."""

from __future__ import annotations

import pytest

from sim.model.breaker import AdaptiveBreaker, CircuitBreaker, breakers
from sim.scenario.spec import CircuitBreakerSpec
from tests.model.test_retry_control import calls, failing_payment
from tests.model.test_timelines import Harness

BREAKER = {"min_calls": 2, "failure_rate_threshold": 0.5, "open_duration": "100s", "window": "10s"}


def test_a_tier_breaker_opens_on_all_callers_failures_a_per_caller_one_on_its_own() -> None:
    # customers 0..5 alternate between web[0] and web[1]; every call to payment errors
    shared = failing_payment({"attempts": 1}, web_replicas=2)
    shared["tiers"]["payment"]["circuit_breaker"] = dict(BREAKER)
    # calls at 1 (web[0]) and 2 (web[1]) fail: the shared breaker opens, the other four are refused
    assert calls(shared, 6)["payment"] == pytest.approx(2 / 6)
    per_caller = failing_payment({"attempts": 1}, web_replicas=2)
    per_caller["tiers"]["payment"]["circuit_breaker"] = {**BREAKER, "scope": "caller-replica"}
    # web[0]'s breaker opens after its calls at 1 and 3, web[1]'s after 2 and 4: customers 4, 5 refused
    assert calls(per_caller, 6)["payment"] == pytest.approx(4 / 6)


def test_the_adaptive_breaker_refuses_in_proportion_to_the_failure_rate() -> None:
    spec = CircuitBreakerSpec(0.5, 10.0, 4, 30.0, 3, kind="adaptive", defensiveness=1.5)
    draws = iter([0.7, 0.8])
    b = AdaptiveBreaker(spec, lambda: next(draws))
    for ok in (True, False, True):
        b.record(1.0, ok)
    assert b.reject_probability(1.0) == 0.0 and b.allow(1.0)  # 3 calls < min_calls: no draw
    b.record(1.0, False)
    assert b.reject_probability(1.0) == pytest.approx(0.75)  # min(1, 1.5 × 2/4)
    assert not b.allow(1.0) and b.allow(1.0)  # 0.7 < 0.75 refused, 0.8 passes
    assert b.reject_probability(12.0) == 0.0  # the window has slid past them


def test_an_adaptive_breaker_stops_calls_and_lets_them_through_once_failures_age_out() -> None:
    raw = failing_payment(None)
    raw["tiers"]["payment"]["circuit_breaker"] = {"kind": "adaptive", "min_calls": 2, "window": "10s"}
    # calls at 1 and 2 fail: p = 1, customers 2..5 refused; at 21 and 22 the window is empty again
    h = Harness(raw, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 20.0, 21.0]).run()
    assert h.rec.results(0.0, 0.0)["calls_per_checkout_payment"] == pytest.approx(4 / 8)
    assert [e[0] for e in h.events("breaker")] == [3.0, 4.0, 5.0, 6.0]


def test_breakers_are_one_per_caller_or_one_shared() -> None:
    spec = CircuitBreakerSpec(0.5, 10.0, 2, 30.0, 1)
    shared = breakers(spec, "payment", 3, lambda name: lambda: 0.5)
    assert shared[0] is shared[1] is shared[2] and type(shared[0]) is CircuitBreaker
    per_caller = breakers(CircuitBreakerSpec(0.5, 10.0, 2, 30.0, 1, scope="caller-replica"), "payment", 3,
                          lambda name: lambda: 0.5)
    assert len({id(b) for b in per_caller}) == 3
    names: list[str] = []
    breakers(CircuitBreakerSpec(0.5, 10.0, 2, 30.0, 1, scope="caller-replica", kind="adaptive"), "payment", 2,
             lambda name: names.append(name) or (lambda: 0.5))
    assert names == ["breaker:payment:0", "breaker:payment:1"]  # streams named, not keyed by identity
