"""Hop calls: exact timelines of a tier's replicas calling the next tier — the caller's slot held
while the call is out, per-call timeouts, orphaned work, retries with backoff, the customer's
patience bounding a call, a caller crashing mid-call, calls per checkout."""

from __future__ import annotations

from typing import Any

from tests.model.test_timelines import Harness, approx, base


def det(seconds: float) -> dict[str, Any]:
    return {"dist": "deterministic", "value": seconds}


def web_payment(payment: dict[str, Any] | None = None, retry: dict[str, Any] | None = None,
                **web: Any) -> dict[str, Any]:
    """web (1 s, one slot) → payment (1 s, unlimited slots), no failures, patience unlimited."""
    raw = base(web={"concurrency": 1, **web},
               payment={"concurrency": "inf", "service_time": det(1.0), **(payment or {})})
    raw["path"]["tiers"] = ["web", "payment"]
    if retry is not None:
        raw["tiers"]["payment"]["retry"] = retry
    return raw


def test_without_hop_keys_the_previous_tier_frees_its_slot_before_the_next_tier_works() -> None:
    h = Harness(web_payment(), [0.0, 0.5]).run()
    # 0.5 waits for web's slot until 1.0 only: web 1–2, payment 2–3
    assert h.events("done") == approx([(2.0, "done", 0.0), (3.0, "done", 0.5)])


def test_a_caller_holds_its_slot_while_its_call_is_out() -> None:
    h = Harness(web_payment(retry={"attempts": 1}), [0.0, 0.5]).run()
    # web[0] serves 0 from 0 to 1, then waits for payment (1–2) with its only slot busy:
    # 0.5 starts at web at 2, calls payment at 3
    assert h.events("done") == approx([(2.0, "done", 0.0), (4.0, "done", 0.5)])
    assert [(t, name) for t, name, _ in h.routed] == [(0.0, "web[0]"), (0.5, "web[0]"), (1.0, "payment[0]"),
                                                      (3.0, "payment[0]")]
    web = h.system.tiers["web"].replicas[0]
    assert web.held == {} and web.in_service == {}  # every held slot was released


def test_timed_out_calls_keep_running_and_are_retried_after_the_backoff() -> None:
    # payment takes 1.5 s, the call times out after 1 s: tries at 1, 2.1, 3.2 (0.1 s backoff);
    # each is orphaned at its timeout and still completes at the callee 1.5 s after it started
    raw = web_payment(payment={"service_time": det(1.5), "idempotency": False},
                      retry={"attempts": 3, "timeout": "1s", "backoff": det(0.1)})
    h = Harness(raw, [0.0]).run()
    assert [t for t, name, _ in h.routed if name.startswith("payment")] == approx([1.0, 2.1, 3.2])
    assert h.events("timeout", "lost") == approx([(4.2, "timeout", 0.0), (4.2, "lost", 0.0)])
    # three completed charges for one lost checkout: two duplicates
    assert h.rec.duplicate_charges == 2 and h.rec.lost == 1 and h.rec.completed == 0


def test_duplicate_charges_are_completions_of_orphaned_calls_that_were_retried() -> None:
    # timeout 1.2 s, payment 1.5 s: the first try is orphaned at 2.2 and completes at 2.5; the
    # retry (at 2.3) completes at 3.8, after its own timeout at 3.5: the customer is lost, yet
    # charged twice. Customer 10.0's single try completes within its timeout: one charge.
    retry = {"attempts": 2, "timeout": "1.2s", "backoff": det(0.1)}
    raw = web_payment(payment={"service_time": det(1.5), "idempotency": False}, retry=retry)
    h = Harness(raw, [0.0]).run()
    assert h.rec.duplicate_charges == 1
    raw["tiers"]["payment"]["idempotency"] = True  # the same key twice: charged once
    assert Harness(raw, [0.0]).run().rec.duplicate_charges == 0
    raw["tiers"]["payment"]["idempotency"] = False
    raw["tiers"]["payment"]["retry"]["timeout"] = "2s"  # never times out: one charge each
    h = Harness(raw, [0.0, 10.0]).run()
    assert h.rec.duplicate_charges == 0 and h.rec.completed == 2


def test_customer_retries_of_a_charged_checkout_charge_again_without_a_key() -> None:
    # the customer gives up at 2 (web 0–1, payment 1–2.5): that charge completes at 2.5 all the
    # same; the retry at 3 (web 3–4, payment 4–5.5) times out at 5 and charges again at 5.5
    raw = web_payment(payment={"service_time": det(1.5), "idempotency": False}, retry={"attempts": 1})
    raw["customer"].update({"patience": "2s", "max_attempts": 2, "retry_backoff": det(1.0)})
    h = Harness(raw, [0.0]).run()
    assert h.events("timeout", "lost", "done") == approx([(2.0, "timeout", 0.0), (5.0, "timeout", 0.0),
                                                         (5.0, "lost", 0.0)])
    assert h.rec.duplicate_charges == 1
    raw["customer"]["patience"] = "3s"  # patient enough: one attempt, one charge
    h = Harness(raw, [0.0]).run()
    assert h.events("timeout", "done") == approx([(2.5, "done", 0.0)])
    assert h.rec.duplicate_charges == 0


def test_the_customers_patience_ends_a_call_without_a_hop_retry() -> None:
    raw = web_payment(payment={"service_time": det(3.0)},
                      retry={"attempts": 3, "timeout": "10s", "backoff": det(0.1)})
    raw["customer"]["patience"] = "2.5s"
    h = Harness(raw, [0.0]).run()
    assert h.events("timeout") == approx([(2.5, "timeout", 0.0)])
    assert [t for t, name, _ in h.routed if name.startswith("payment")] == [1.0]


def test_a_backoff_longer_than_the_patience_left_fails_at_the_deadline() -> None:
    raw = web_payment(payment={"service_time": det(3.0)},
                      retry={"attempts": 3, "timeout": "1s", "backoff": det(5.0)})
    raw["customer"]["patience"] = "4s"
    h = Harness(raw, [0.0]).run()
    assert h.events("timeout") == approx([(4.0, "timeout", 0.0)])
    assert [t for t, name, _ in h.routed if name.startswith("payment")] == [1.0]


def test_a_caller_crash_fails_the_attempt_and_orphans_its_call() -> None:
    raw = web_payment(payment={"service_time": det(3.0), "idempotency": False}, retry={"attempts": 1})
    raw["outages"] = [{"tier": "web", "start": 2.0, "duration": 10}]
    h = Harness(raw, [0.0]).run()
    assert h.events("crash", "lost") == approx([(2.0, "crash", 0.0), (2.0, "lost", 0.0)])
    h.run(until=600)
    assert h.rec.duplicate_charges == 0 and h.rec.completed == 0  # charged once (at 4), then lost


def test_errors_are_retried_after_the_backoff_and_counted_as_calls() -> None:
    # payment's only replica is down but still in the pool: each try errors at once; three tries
    # per attempt (0.25 s apart), three attempts (10 s apart): 9 calls reach payment
    raw = web_payment(payment={"failover_delay": "1h"}, retry={"attempts": 3, "backoff": det(0.25)})
    raw["outages"] = [{"tier": "payment", "start": 0.0, "duration": "30m"}]
    raw["customer"].update({"max_attempts": 3, "retry_backoff": det(10.0)})
    h = Harness(raw, [0.0]).run()
    assert h.events("error", "lost") == approx([(1.5, "error", 0.0), (13.0, "error", 0.0),
                                               (24.5, "error", 0.0), (24.5, "lost", 0.0)])
    m = h.rec.results(0.0, 0.0)
    assert m["calls_per_checkout_web"] == 3.0 and m["calls_per_checkout_payment"] == 9.0  # 3 × 3


def test_a_tier_without_replicas_to_route_to_is_not_called() -> None:
    raw = web_payment(retry={"attempts": 2, "backoff": det(0.5)})
    raw["outages"] = [{"tier": "payment", "start": 0.0, "duration": "30m"}]  # noticed at once
    h = Harness(raw, [0.0]).run()
    assert h.events("unavailable", "lost") == approx([(1.5, "unavailable", 0.0), (1.5, "lost", 0.0)])
    m = h.rec.results(0.0, 0.0)
    assert m["calls_per_checkout_payment"] == 0.0 and m["calls_per_checkout_web"] == 1.0
