"""Retry control: each kind's arithmetic exactly, then the caps they put on a failing hop and on
customers' retries, counted call by call; and retry amplification (1 + p + p² + p³) against its
exact value within a confidence interval."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from sim.experiment import run_replication
from sim.model.retry_control import AdaptiveThrottle, RetryBudget, TokenBucket, controls
from sim.scenario import scenario_from_dict
from sim.scenario.spec import RETRY_CONTROL_PRESETS, RetryControlSpec
from tests.model.test_hops import det, web_payment
from tests.model.test_timelines import Harness


# -- the arithmetic of each kind ---------------------------------------------------------------
def test_retry_budget_allows_ratio_of_requests_plus_the_reserve_within_the_ttl() -> None:
    budget = RetryBudget(ratio=0.1, min_per_s=0.0, ttl_s=10.0)
    for i in range(19):
        assert budget.admit(i * 0.1, retry=False)
    assert budget.admit(2.0, retry=True)  # 19 deposits × 0.1 = 1.9: one retry
    assert not budget.admit(2.0, retry=True)  # 0.9 left
    assert budget.admit(2.0, retry=False) and budget.admit(2.0, retry=True)  # the 20th deposit
    # deposits expire after the ttl: at 10.05 the first request (t = 0) has gone
    assert budget.balance(10.05) == pytest.approx(0.1 * 19 - 2)
    reserve = RetryBudget(ratio=0.0, min_per_s=1.0, ttl_s=3.0)  # 3 retries per 3 s, no requests
    assert [reserve.admit(0.0, retry=True) for _ in range(4)] == [True, True, True, False]
    assert reserve.admit(3.5, retry=True)  # the retries of t = 0 have expired


def test_token_buckets_charge_retries_and_refund_successes() -> None:
    aws = TokenBucket(**{k: v for k, v in RETRY_CONTROL_PRESETS["aws-sdk"].items()})
    assert sum(aws.admit(0.0, retry=True) for _ in range(200)) == 100  # 500 tokens / 5
    aws.outcome(0.0, ok=True)
    aws.outcome(0.0, ok=True)
    assert not aws.admit(0.0, retry=True, after_timeout=False)  # 2 tokens < 5
    fresh = TokenBucket(**RETRY_CONTROL_PRESETS["aws-sdk"])
    assert sum(fresh.admit(0.0, retry=True, after_timeout=True) for _ in range(100)) == 50  # 500 / 10
    brooker = TokenBucket(**RETRY_CONTROL_PRESETS["token-bucket"])
    assert sum(brooker.admit(0.0, retry=True) for _ in range(10)) == 5
    for _ in range(10):
        brooker.outcome(0.0, ok=True)  # 10 successes × 0.1 = one retry
    assert brooker.admit(0.0, retry=True) and not brooker.admit(0.0, retry=True)
    for _ in range(100):
        brooker.outcome(0.0, ok=True)
    assert brooker.tokens == 5.0  # capped at the capacity
    assert all(brooker.admit(0.0, retry=False) for _ in range(10))  # first tries cost nothing


def test_adaptive_throttling_rejects_with_the_sre_probability() -> None:
    draws = iter([0.6, 0.05])
    throttle = AdaptiveThrottle(k=2.0, window_s=120.0, uniform=lambda: next(draws))
    for _ in range(10):  # accepted requests: p = max(0, (n − 2n)/(n + 1)) = 0, no draws
        assert throttle.admit(0.0, retry=False)
        throttle.outcome(0.0, ok=True)
    for _ in range(11):  # failing ones: p ≤ 0 up to 20 requests against 10 accepts
        assert throttle.admit(1.0, retry=False)
    assert throttle.reject_probability(1.0) == pytest.approx((21 - 2 * 10) / 22)
    assert throttle.admit(1.0, retry=False)  # 0.6 >= 1/22: sent
    assert throttle.reject_probability(1.0) == pytest.approx((22 - 20) / 23)
    assert not throttle.admit(1.0, retry=True)  # 0.05 < 2/23: refused, still counted
    assert throttle.reject_probability(1.0) == pytest.approx((23 - 20) / 24)
    # two minutes on, the requests and accepts of t = 0 have left the window
    assert throttle.reject_probability(120.5) == pytest.approx(13 / 14)


def test_presets_are_the_published_numbers() -> None:
    assert RETRY_CONTROL_PRESETS["finagle"] == {"ratio": 0.2, "min_per_s": 10.0, "ttl_s": 10.0}
    assert RETRY_CONTROL_PRESETS["aws-sdk"] == {"capacity": 500.0, "retry_cost": 5.0,
                                                "timeout_retry_cost": 10.0, "success_deposit": 1.0}
    assert RETRY_CONTROL_PRESETS["token-bucket"]["success_deposit"] == 0.1
    assert RETRY_CONTROL_PRESETS["adaptive-throttling"] == {"k": 2.0, "window_s": 120.0}


def test_controls_are_shared_or_one_per_caller() -> None:
    spec = RetryControlSpec("finagle", tuple(sorted(RETRY_CONTROL_PRESETS["finagle"].items())))
    shared = controls(spec, "hop:payment", 3, True, lambda name: lambda: 0.5)
    per_caller = controls(spec, "hop:payment", 3, False, lambda name: lambda: 0.5)
    assert shared[0] is shared[1] is shared[2]
    assert len({id(c) for c in per_caller}) == 3
    assert controls(None, "x", 2, True, lambda name: lambda: 0.5) == [None, None]


# -- caps on a failing hop, counted call by call --------------------------------------------------
def failing_payment(retry: dict[str, Any] | None, web_replicas: int = 1, max_attempts: int = 1) -> dict:
    """web → payment whose only replica is down but still routed to: every call errors at once."""
    raw = web_payment(payment={"failover_delay": "100d"}, retry=retry, replicas=web_replicas,
                      concurrency="inf")
    raw["outages"] = [{"tier": "payment", "start": 0.0, "duration": "30d"}]
    raw["customer"].update({"max_attempts": max_attempts, "retry_backoff": det(0.5)})
    return raw


def calls(raw: dict, n: int) -> dict[str, float]:
    h = Harness(raw, [float(i) for i in range(n)]).run(until=5000)
    m = h.rec.results(0.0, 0.0)
    return {t: m[f"calls_per_checkout_{t}"] for t in ("web", "payment")}


HOP = {"attempts": 3, "backoff": det(0.01)}
BUDGET_10 = {"kind": "finagle", "ratio": 0.1, "min_per_s": 0, "ttl": "1d"}


def test_layered_retries_multiply_and_a_ten_percent_budget_caps_the_hop_near_one_point_one() -> None:
    assert calls(failing_payment(HOP), 100) == {"web": 1.0, "payment": 3.0}
    assert calls(failing_payment(HOP, max_attempts=3), 100) == {"web": 3.0, "payment": 9.0}
    # every first try deposits 0.1 retry: 100 first tries buy exactly 10 retries
    assert calls(failing_payment({**HOP, "budget": BUDGET_10}), 100) == {"web": 1.0, "payment": 1.1}
    # three customer attempts: 300 first tries at the hop, 30 retries — 3.3× in all
    assert calls(failing_payment({**HOP, "budget": BUDGET_10}, max_attempts=3), 100) == \
        {"web": 3.0, "payment": pytest.approx(3.3, abs=1e-12)}


def test_a_token_bucket_without_successes_allows_its_capacity_and_no_more() -> None:
    assert calls(failing_payment({**HOP, "budget": "token-bucket"}), 20) == {"web": 1.0, "payment": 1.25}
    # per caller replica, each of web's two replicas has its own 5 tokens; shared, they have 5
    per_caller = failing_payment({**HOP, "budget": "token-bucket"}, web_replicas=2)
    assert calls(per_caller, 20)["payment"] == 1.5
    shared = failing_payment({**HOP, "budget": "token-bucket", "budget_scope": "tier"}, web_replicas=2)
    assert calls(shared, 20)["payment"] == 1.25


def test_a_customer_retry_budget_is_shared_by_all_customers() -> None:
    raw = failing_payment(None, max_attempts=3)
    raw["tiers"]["payment"]["failover_delay"] = 0  # taken out at once: attempts fail unrouted
    assert calls(raw, 20) == {"web": 3.0, "payment": 0.0}
    raw["customer"]["retry_budget"] = "token-bucket"  # 5 customer retries in all
    assert calls(raw, 20) == {"web": 1.25, "payment": 0.0}
    h = Harness(raw, [float(i) for i in range(20)]).run(until=5000)
    assert h.rec.lost == 20 and h.rec.attempts == 25


# -- retry amplification against its exact value ----------------------------------------------------
def amplification(down: int, attempts: int, replications: int) -> np.ndarray:
    """calls_per_checkout_payment per replication: 10 payment replicas, ``down`` of them failed but
    still routed to (random balancing): each call fails independently with p = down / 10."""
    raw = failing_payment({"attempts": attempts, "backoff": det(0.01)})
    raw["scenario"]["horizon"] = "5m"
    raw["traffic"]["arrival_rate"] = 20.0
    raw["tiers"]["web"]["service_time"] = det(0.01)
    raw["tiers"]["payment"].update({"replicas": 10, "load_balancing": "random",
                                    "service_time": det(0.01)})
    raw["outages"][0]["replicas"] = down
    scenario = scenario_from_dict(raw)
    return np.array([run_replication(scenario, 7, r).metrics["calls_per_checkout_payment"]
                     for r in range(replications)])


@pytest.mark.slow
@pytest.mark.parametrize("down", [3, 5])
def test_retry_amplification_is_one_plus_p_plus_p_squared_plus_p_cubed(down: int) -> None:
    p = down / 10
    exact = 1 + p + p**2 + p**3  # N = 3 retries (Brooker, "Fixing retries with token buckets", 2022)
    x = amplification(down, 4, 6)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    assert abs(x.mean() - exact) <= half, (x.mean(), half, exact)
    assert np.all(amplification(10, 4, 2) == 4.0)  # p = 1: every call is tried four times
