"""CircuitBreaker: exact state sequences (no randomness, no SimPy)."""

from __future__ import annotations

from sim.model.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from sim.scenario.spec import CircuitBreakerSpec


def make(threshold: float = 0.5, window_s: float = 10.0, min_calls: int = 4, open_s: float = 30.0,
         probes: int = 2) -> CircuitBreaker:
    return CircuitBreaker(CircuitBreakerSpec(threshold, window_s, min_calls, open_s, probes))


def feed(breaker: CircuitBreaker, events: list[tuple[float, bool]]) -> list[str]:
    """Record each (time, ok) outcome and return the state after each one."""
    states = []
    for now, ok in events:
        breaker.record(now, ok)
        states.append(breaker.state)
    return states


def test_starts_closed_and_allows_calls() -> None:
    b = make()
    assert b.state == CLOSED
    assert b.allow(0.0)
    assert b.opened_count == 0


def test_opens_at_threshold_only_after_min_calls() -> None:
    b = make(threshold=0.5, min_calls=4)
    # three failures: 100% failure rate but fewer than min_calls calls
    states = feed(b, [(0.1, False), (0.2, False), (0.3, False), (0.4, False)])
    assert states == [CLOSED, CLOSED, CLOSED, OPEN]
    assert b.opened_at == 0.4
    assert b.opened_count == 1


def test_failure_rate_below_threshold_stays_closed() -> None:
    b = make(threshold=0.5, min_calls=4)
    # 1 failure in 4 calls, then 2 in 5 (40%), then 3 in 6 (50%: reaches the threshold)
    states = feed(b, [(0.1, True), (0.2, True), (0.3, False), (0.4, True), (0.5, False), (0.6, False)])
    assert states == [CLOSED] * 5 + [OPEN]


def test_successes_never_open() -> None:
    b = make(min_calls=1)
    assert feed(b, [(t / 10, True) for t in range(50)]) == [CLOSED] * 50


def test_old_failures_leave_the_window() -> None:
    b = make(threshold=0.5, window_s=10.0, min_calls=4)
    # three failures early, then the window (10 s) passes: they no longer count
    assert feed(b, [(0.5, False), (1.5, False), (2.5, False)]) == [CLOSED] * 3
    states = feed(b, [(20.5, False), (21.5, True), (22.5, True), (23.5, True)])
    assert states == [CLOSED] * 4
    # only 1 failure of 4 calls in the window: one more failure makes 2 of 5 (< 50%)
    assert feed(b, [(24.0, False)]) == [CLOSED]
    assert feed(b, [(24.5, False)]) == [OPEN]  # 3 of 6


def test_failures_within_the_window_accumulate() -> None:
    b = make(threshold=0.5, window_s=10.0, min_calls=4)
    states = feed(b, [(0.5, False), (3.5, False), (6.5, False), (9.5, False)])
    assert states == [CLOSED, CLOSED, CLOSED, OPEN]


def test_open_rejects_until_open_duration_then_half_open() -> None:
    b = make(min_calls=1, threshold=1.0, open_s=30.0, probes=2)
    feed(b, [(5.0, False)])
    assert b.state == OPEN
    assert [b.allow(t) for t in (5.0, 20.0, 34.999)] == [False, False, False]
    assert b.state == OPEN
    assert b.allow(35.0) is True
    assert b.state == HALF_OPEN
    assert b.allow(35.1) is True  # second probe
    assert b.allow(35.2) is False  # no more than half_open_probes in flight
    assert b.state == HALF_OPEN


def test_outcomes_recorded_while_open_are_ignored() -> None:
    b = make(min_calls=1, threshold=1.0, open_s=30.0)
    feed(b, [(5.0, False)])
    assert feed(b, [(6.0, True), (7.0, False)]) == [OPEN, OPEN]
    assert b.opened_at == 5.0
    assert b.opened_count == 1


def test_all_probes_succeed_closes() -> None:
    b = make(min_calls=1, threshold=1.0, open_s=30.0, probes=2)
    feed(b, [(5.0, False)])
    assert b.allow(35.0) and b.allow(35.0)
    assert feed(b, [(35.5, True)]) == [HALF_OPEN]
    assert feed(b, [(35.6, True)]) == [CLOSED]
    assert b.allow(36.0)
    assert feed(b, [(36.0, True)]) == [CLOSED]


def test_closing_resets_the_window() -> None:
    b = make(threshold=0.5, min_calls=4, open_s=1.0, probes=1, window_s=10.0)
    feed(b, [(0.1, False), (0.2, False), (0.3, False), (0.4, False)])
    assert b.state == OPEN
    assert b.allow(1.5)
    feed(b, [(1.6, True)])
    assert b.state == CLOSED
    # had the old failures survived, 4 failures + 1 failure of 6 calls would reopen
    assert feed(b, [(2.0, False), (2.1, True), (2.2, True)]) == [CLOSED] * 3


def test_one_failed_probe_reopens() -> None:
    b = make(min_calls=1, threshold=1.0, open_s=30.0, probes=3)
    feed(b, [(5.0, False)])
    assert b.allow(35.0) and b.allow(35.0) and b.allow(35.0)
    assert feed(b, [(35.2, True), (35.3, False)]) == [HALF_OPEN, OPEN]
    assert b.opened_at == 35.3
    assert b.opened_count == 2
    # and the open period restarts from the failed probe
    assert b.allow(65.2) is False
    assert b.allow(65.3) is True
    assert b.state == HALF_OPEN


def test_half_open_probe_counter_resets_each_time() -> None:
    b = make(min_calls=1, threshold=1.0, open_s=10.0, probes=1)
    feed(b, [(0.0, False)])
    assert b.allow(10.0)
    feed(b, [(10.5, False)])
    assert b.state == OPEN
    assert b.allow(20.5) is True  # a new half-open period lets a new probe through
    assert b.allow(20.5) is False
