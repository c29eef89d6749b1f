"""Deterministic end-to-end timelines: fixed service times, arrivals at chosen instants,
injected outages and no random failures, so every event time is exact."""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import pytest
import simpy

from sim.model.system import CheckoutSystem
from sim.model.timers import Timer
from sim.random.streams import Streams
from sim.scenario import scenario_from_dict
from sim.stats.metrics import Recorder

ONE_S = {"dist": "deterministic", "value": "1s"}


def base(**tiers: dict) -> dict[str, Any]:
    """A one-tier (``web``) scenario with 1 s service, no random failures, no random arrivals."""
    raw: dict[str, Any] = {
        "scenario": {"horizon": "1h", "replications": 2, "seed": 1},
        "traffic": {"arrival_rate": 1e-6},
        "customer": {"max_attempts": 1, "patience": "inf"},
        "path": {"tiers": ["web"]},
        "tiers": {"web": {"replicas": 1, "service_time": ONE_S, "concurrency": 1}},
    }
    for name, keys in tiers.items():
        raw["tiers"].setdefault(name, {}).update(keys)
    return raw


class Harness:
    """The model of one scenario with arrivals at chosen times and a log of what happened.

    Customers are named by their arrival time. ``log`` holds ``(time, event, arrival)`` tuples:
    events are ``"attempt"``, ``"done"``, ``"lost"``, ``"async-done"`` and the failure reasons
    (``"error"``, ``"crash"``, ``"shed"``, ``"timeout"``, ``"unavailable"``, ...).
    ``routed`` holds ``(time, replica name, arrival)`` for every request a replica accepted.
    """

    def __init__(self, raw: dict, arrivals: list[float]) -> None:
        self.scenario = scenario_from_dict(copy.deepcopy(raw))
        self.env = env = simpy.Environment()
        s = self.scenario
        self.rec = Recorder(s.warmup_s, s.horizon_s, tuple(s.path) + tuple(s.dependencies))
        self.system = CheckoutSystem(env, s, Streams(1, 0), self.rec)
        self.system.arrivals.stop()
        self.log: list[tuple[float, str, float]] = []
        self.routed: list[tuple[float, str, float]] = []
        flow = self.system.flow
        self._wrap(flow, "start_attempt", lambda c: (env.now, "attempt", c.arrived))
        self._wrap(flow, "attempt_failed", lambda c, reason: (env.now, reason, c.arrived))
        self._wrap(flow, "_lose", lambda c: (env.now, "lost", c.arrived))
        if flow.backlog is not None:
            self._wrap(flow.backlog, "_cancel", lambda o: (env.now, "lost", o.arrived))
            self._wrap(
                flow.backlog, "attempt_failed", lambda o, reason: (env.now, "async-" + reason, o.arrived)
            )
        rec = self.rec
        completed, async_completed = rec.completed_checkout, rec.async_completed

        def done(now, arrived, *rest):
            self.log.append(_r((now, "done", arrived)))
            completed(now, arrived, *rest)

        def async_done(now, arrived, *rest):
            self.log.append(_r((now, "async-done", arrived)))
            async_completed(now, arrived, *rest)

        rec.completed_checkout = done
        rec.async_completed = async_done
        for tier in self.system.tiers.values():
            for replica in tier.replicas:
                self._wrap_accept(replica)
        for t in arrivals:
            Timer(env, t, lambda _timer: flow.arrive())

    def _wrap(self, obj: object, name: str, entry) -> None:
        original = getattr(obj, name)

        def wrapper(*args):
            self.log.append(_r(entry(*args)))
            return original(*args)

        setattr(obj, name, wrapper)

    def _wrap_accept(self, replica) -> None:
        original = replica.accept

        def accept(c, service_s):
            self.routed.append(_r((self.env.now, replica.name, c.arrived)))
            original(c, service_s)

        replica.accept = accept

    def run(self, until: float = 500.0) -> Harness:
        self.env.run(until=until)
        return self

    def events(self, *kinds: str) -> list[tuple[float, str, float]]:
        return [e for e in self.log if e[1] in kinds]

    def times(self, kind: str) -> list[float]:
        return [e[0] for e in self.log if e[1] == kind]


def approx(xs: list) -> list:
    """Expected entries; the log rounds times to 1e-9 s, so they compare exactly."""
    return xs


def _r(entry: tuple) -> tuple:
    return tuple(round(x, 9) if isinstance(x, float) else x for x in entry)


# -- one replica, FIFO queue ----------------------------------------------------------------
def test_single_replica_serves_fifo() -> None:
    h = Harness(base(), [0.0, 0.5, 0.7, 5.0]).run()
    assert h.events("done") == approx([(1.0, "done", 0.0), (2.0, "done", 0.5), (3.0, "done", 0.7),
                                       (6.0, "done", 5.0)])
    assert h.rec.completed == 4 and h.rec.lost == 0 and h.rec.deferred == 0
    assert h.rec.in_system == 0


def test_concurrency_two_serves_in_parallel() -> None:
    h = Harness(base(web={"concurrency": 2}), [0.0, 0.1, 0.2]).run()
    assert h.times("done") == approx([1.0, 1.1, 2.0])


def test_queue_limit_zero_sheds() -> None:
    h = Harness(base(web={"queue_limit": 0}), [0.0, 0.5, 1.5]).run()
    assert h.events("shed", "lost", "done") == approx(
        [(0.5, "shed", 0.5), (0.5, "lost", 0.5), (1.0, "done", 0.0), (2.5, "done", 1.5)]
    )
    assert h.rec.lost == 1 and h.rec.completed == 2


def test_queue_limit_one_sheds_the_third() -> None:
    h = Harness(base(web={"queue_limit": 1}), [0.0, 0.2, 0.4]).run()
    assert h.events("shed") == approx([(0.4, "shed", 0.4)])
    assert h.times("done") == approx([1.0, 2.0])


def test_patience_expires_in_queue() -> None:
    raw = base()
    raw["customer"]["patience"] = "1.5s"
    # 0.05 starts at 1.0 and gives up in service at 1.55 (holding the slot to 2.0); 0.2 waits
    # in the queue and gives up there at 1.7, before the slot frees
    h = Harness(raw, [0.0, 0.05, 0.2]).run()
    assert h.events("timeout", "done") == approx(
        [(1.0, "done", 0.0), (1.55, "timeout", 0.05), (1.7, "timeout", 0.2)]
    )
    assert [r[2] for r in h.routed] == [0.0, 0.05, 0.2]
    assert h.system.tiers["web"].replicas[0].waiting == 0
    assert h.rec.lost == 2


def test_patience_expires_in_service_and_the_slot_stays_busy() -> None:
    raw = base()
    raw["customer"]["patience"] = "1.5s"
    # 0.1 starts at 1.0 (deadline 1.6 < end 2.0): gives up at 1.6 but holds the slot until 2.0
    h = Harness(raw, [0.0, 0.1, 1.8]).run()
    assert h.events("timeout", "done") == approx(
        [(1.0, "done", 0.0), (1.6, "timeout", 0.1), (3.0, "done", 1.8)]
    )


# -- crashes and failover -----------------------------------------------------------------
def test_crash_fails_requests_in_service_and_waiting() -> None:
    raw = base(web={"concurrency": 2})
    raw["outages"] = [{"tier": "web", "start": 0.5, "duration": 10}]
    h = Harness(raw, [0.0, 0.2, 0.3, 1.0, 11.0]).run()
    assert sorted(h.events("crash", "unavailable", "done")) == approx(
        [(0.5, "crash", 0.0), (0.5, "crash", 0.2), (0.5, "crash", 0.3),  # two in service, one queued
         (1.0, "unavailable", 1.0),  # failover 0: no replica left to route to
         (12.0, "done", 11.0)]
    )


def test_failover_delay_errors_then_routes_to_the_healthy_replica() -> None:
    raw = base(web={"replicas": 2, "concurrency": "inf", "failover_delay": "5s"})
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 100, "replicas": 1}]  # web[0]
    h = Harness(raw, [11.0, 12.0, 13.0, 14.0, 16.0, 17.0]).run()
    assert h.events("error", "done") == approx(
        [(11.0, "error", 11.0), (13.0, "error", 13.0),  # round robin still sends web[0] half
         (13.0, "done", 12.0), (15.0, "done", 14.0),
         (17.0, "done", 16.0), (18.0, "done", 17.0)]  # noticed at 15: everything to web[1]
    )
    assert [r[1] for r in h.routed] == ["web[1]", "web[1]", "web[1]", "web[1]"]


def test_failure_mode_hang_holds_the_attempt_until_patience() -> None:
    raw = base(web={"failure_mode": "hang", "failover_delay": "5s"})
    raw["customer"]["patience"] = "3s"
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 100}]
    h = Harness(raw, [11.0, 16.0]).run()
    assert h.events("timeout", "error", "unavailable") == approx(
        [(14.0, "timeout", 11.0), (16.0, "unavailable", 16.0)]
    )


def test_failure_mode_error_fails_at_once() -> None:
    raw = base(web={"failover_delay": "5s"})
    raw["customer"]["patience"] = "3s"
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 100}]
    h = Harness(raw, [11.0]).run()
    assert h.events("timeout", "error") == approx([(11.0, "error", 11.0)])


def test_active_passive_standby_takes_over_after_failover_delay() -> None:
    raw = base(web={"replicas": 2, "mode": "active-passive", "failover_delay": "5s", "concurrency": "inf"})
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 100, "replicas": 1}]  # the primary
    h = Harness(raw, [1.0, 2.0, 11.0, 16.0, 120.0]).run()
    assert h.events("error") == approx([(11.0, "error", 11.0)])
    # the standby serves from the promotion on, and stays primary after web[0] is repaired
    assert h.routed == approx([(1.0, "web[0]", 1.0), (2.0, "web[0]", 2.0), (16.0, "web[1]", 16.0),
                               (120.0, "web[1]", 120.0)])
    assert h.times("done") == approx([2.0, 3.0, 17.0, 121.0])


def test_health_checks_set_the_detection_delay() -> None:
    # checks every 4 s, 2 failed checks to eject; replica phases 0 s and 2 s (spread evenly)
    raw = base(web={"replicas": 2, "concurrency": "inf", "health_check_interval": "4s",
                    "unhealthy_threshold": 2})
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 100}]
    # web[0]: failing checks at 12 and 16 -> ejected at 16; web[1]: checks at 14 and 18 -> 18
    h = Harness(raw, [15.5, 16.5, 17.5, 18.5]).run()
    assert h.events("error", "unavailable") == approx(
        [(15.5, "error", 15.5), (16.5, "error", 16.5), (17.5, "error", 17.5), (18.5, "unavailable", 18.5)]
    )
    tier = h.system.tiers["web"]
    assert tier.detection_delay(tier.replicas[0], 10.0) == pytest.approx(6.0)
    assert tier.detection_delay(tier.replicas[1], 10.0) == pytest.approx(8.0)


# -- zones and dependencies ------------------------------------------------------------------
def two_tier_zones() -> dict:
    raw = base(web={"replicas": 2, "zones": ["a", "b"], "concurrency": "inf"},
               payment={"replicas": 2, "zones": ["a", "b"], "service_time": ONE_S, "concurrency": "inf"})
    raw["path"]["tiers"] = ["web", "payment"]
    raw["zones"] = {"a": {"mtbf": "inf"}, "b": {"mtbf": "inf"}}
    return raw


def test_zone_outage_takes_every_replica_in_it_down() -> None:
    raw = two_tier_zones()
    raw["outages"] = [{"zone": "a", "start": 10, "duration": 100}]
    h = Harness(raw, [11.0, 12.0]).run(until=50.0)
    web, payment = h.system.tiers["web"], h.system.tiers["payment"]
    assert [r.up for r in web.replicas] == [False, True]
    assert [r.up for r in payment.replicas] == [False, True]
    assert h.times("done") == approx([13.0, 14.0])
    assert {r[1] for r in h.routed} == {"web[1]", "payment[1]"}
    assert h.rec.path.up  # each tier still has one healthy replica
    h.run(until=200.0)
    assert all(r.up for r in web.replicas + payment.replicas)


def test_outage_of_the_only_zone_takes_the_path_down() -> None:
    raw = two_tier_zones()
    raw["tiers"]["web"]["zones"] = ["a"]
    raw["tiers"]["payment"]["zones"] = ["a"]
    raw["outages"] = [{"zone": "a", "start": 10, "duration": 100}]
    h = Harness(raw, [11.0]).run(until=50.0)
    assert h.events("unavailable") == approx([(11.0, "unavailable", 11.0)])
    assert not h.rec.path.up and h.rec.path.since == 10.0


def test_down_dependency_fails_every_attempt() -> None:
    raw = base(db={"replicas": 1})
    raw["path"]["dependencies"] = ["db"]
    raw["tiers"]["web"]["concurrency"] = "inf"
    raw["outages"] = [{"tier": "db", "start": 10, "duration": 5}]
    h = Harness(raw, [9.0, 10.5, 12.0, 16.0]).run()
    assert h.events("dependency", "done") == approx(
        [(10.0, "done", 9.0), (10.5, "dependency", 10.5), (12.0, "dependency", 12.0), (17.0, "done", 16.0)]
    )
    assert h.routed == approx([(9.0, "web[0]", 9.0), (16.0, "web[0]", 16.0)])  # no load on web


# -- asynchronous payment ----------------------------------------------------------------------
def async_payment(**payment: Any) -> dict:
    raw = base(web={"concurrency": "inf"},
               payment={"service_time": ONE_S, "concurrency": "inf", "async": True, **payment})
    raw["path"]["tiers"] = ["web", "payment"]
    raw["outages"] = [{"tier": "payment", "start": 10, "duration": 20}]
    return raw


def test_async_order_accepted_in_outage_is_completed_after_it() -> None:
    h = Harness(async_payment(), [12.0]).run()
    # web serves at 13, the order is accepted and waits; payment rejoins the pool at 30 and
    # serves the order by 31
    assert h.events("async-done", "lost", "done") == approx([(31.0, "async-done", 12.0)])
    assert h.routed == approx([(12.0, "web[0]", 12.0), (30.0, "payment[0]", 12.0)])
    assert h.rec.completed == 1 and h.rec.deferred == 1 and h.rec.lost == 0
    assert h.rec.extra_delay_total == pytest.approx(31.0 - 13.0)
    assert h.rec.latency.quantile(0.5) == pytest.approx(1.0, rel=0.01)  # to acceptance only


def test_async_order_outside_outage_is_not_deferred() -> None:
    h = Harness(async_payment(), [1.0]).run()
    assert h.events("async-done") == approx([(3.0, "async-done", 1.0)])
    assert h.rec.deferred == 0 and h.rec.completed == 1


def test_async_order_lost_when_max_delay_exceeded() -> None:
    h = Harness(async_payment(async_max_delay="10s"), [12.0]).run()
    # accepted at 13, deadline 23; payment is back only at 30: the order is cancelled at 23
    assert h.events("async-done", "lost") == approx([(23.0, "lost", 12.0)])
    assert [r[1] for r in h.routed] == ["web[0]"]
    assert h.rec.lost == 1 and h.rec.completed == 0


def test_async_backlog_full_rejects_the_attempt() -> None:
    h = Harness(async_payment(async_queue_capacity=1), [12.0, 12.5]).run()
    assert h.events("backlog-full", "lost", "async-done") == approx(
        [(13.5, "backlog-full", 12.5), (13.5, "lost", 12.5), (31.0, "async-done", 12.0)]
    )


def test_breaker_in_front_of_an_async_tier_counts_a_full_backlog_as_failures() -> None:
    breaker = {"min_calls": 2, "failure_rate_threshold": 0.5, "window": "60s", "open_duration": "100s",
               "half_open_probes": 1}
    h = Harness(async_payment(async_queue_capacity=1, circuit_breaker=breaker), [12.0, 12.5, 13.0]).run()
    # 12 accepted (success), 12.5 rejected (1 of 2 failed: opens), 13 fails fast at the breaker
    assert h.events("backlog-full", "breaker") == approx(
        [(13.5, "backlog-full", 12.5), (14.0, "breaker", 13.0)]
    )


# -- status page ---------------------------------------------------------------------------------
def status_page(return_probability: float) -> dict:
    raw = base()
    raw["customer"].update(max_attempts=3, retry_backoff={"dist": "deterministic", "value": "3s"})
    raw["communication"] = {
        "status_page": True,
        "detection_delay": "5s",
        "return_probability": return_probability,
        "return_after": {"dist": "deterministic", "value": "100s"},
    }
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 20}]
    return raw


def test_status_page_informed_customers_come_back_later() -> None:
    h = Harness(status_page(1.0), [11.0]).run()
    # fails at 11 and 14 (page not up yet); the page shows from 15: the failure at 17 sends the
    # customer away for 100 s, and it returns with a fresh set of attempts
    assert h.times("attempt") == approx([11.0, 14.0, 17.0, 117.0])
    assert h.events("done", "lost") == approx([(118.0, "done", 11.0)])
    assert h.rec.deferred == 1
    assert not h.system.status_page.showing  # cleared when the path came back at 30


def test_status_page_uninformed_leave() -> None:
    h = Harness(status_page(0.0), [11.0]).run()
    assert h.times("attempt") == approx([11.0, 14.0, 17.0])
    assert h.events("done", "lost") == approx([(17.0, "lost", 11.0)])


def test_status_page_not_shown_before_detection_delay() -> None:
    raw = status_page(1.0)
    raw["outages"][0]["duration"] = 4.5  # over before the 5 s detection delay
    h = Harness(raw, [11.0]).run()
    assert h.times("attempt") == approx([11.0, 14.0, 17.0])
    assert h.events("done") == approx([(18.0, "done", 11.0)])
    assert not h.system.status_page.showing


# -- retries and backoff ----------------------------------------------------------------------------
def retrying(**customer: Any) -> dict:
    raw = base()
    raw["customer"].update(max_attempts=4, retry_backoff={"dist": "deterministic", "value": "2s"}, **customer)
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 100}]
    return raw


def test_sampled_backoff_constant() -> None:
    h = Harness(retrying(), [11.0]).run()
    assert h.times("attempt") == approx([11.0, 13.0, 15.0, 17.0])
    assert h.events("lost") == approx([(17.0, "lost", 11.0)])


def test_sampled_backoff_grows_by_multiplier() -> None:
    h = Harness(retrying(backoff_multiplier=2.0), [11.0]).run()
    assert h.times("attempt") == approx([11.0, 13.0, 17.0, 25.0])


def test_backoff_cap_limits_the_wait() -> None:
    h = Harness(retrying(backoff_multiplier=2.0, backoff_cap="5s"), [11.0]).run()
    assert h.times("attempt") == approx([11.0, 13.0, 17.0, 22.0])


def test_retry_after_outage_is_deferred_with_its_extra_delay() -> None:
    raw = retrying(backoff_multiplier=2.0)
    raw["outages"][0]["duration"] = 5  # back at 15: the third attempt (17) succeeds
    h = Harness(raw, [11.0]).run()
    assert h.times("attempt") == approx([11.0, 13.0, 17.0])
    assert h.events("done") == approx([(18.0, "done", 11.0)])
    assert h.rec.deferred == 1 and h.rec.extra_delay_total == pytest.approx(6.0)
    assert h.rec.attempts == 3


@pytest.mark.parametrize(
    ("policy", "bounds"),
    [
        ("exponential-full-jitter", [(0.0, 2.0), (0.0, 4.0), (0.0, 8.0)]),
        ("exponential-equal-jitter", [(1.0, 2.0), (2.0, 4.0), (4.0, 8.0)]),
    ],
)
def test_jittered_backoff_within_its_bounds(policy: str, bounds: list[tuple[float, float]]) -> None:
    arrivals = [11.0 + 0.01 * i for i in range(40)]
    h = Harness(retrying(backoff_policy=policy, patience="1s"), arrivals).run()
    for arrival in arrivals:
        times = [e[0] for e in h.log if e[1] == "attempt" and e[2] == arrival]
        assert len(times) == 4
        gaps = [b - a for a, b in itertools.pairwise(times)]
        for gap, (low, high) in zip(gaps, bounds, strict=True):
            assert low - 1e-9 <= gap <= high + 1e-9


def test_decorrelated_jitter_within_base_and_three_times_previous() -> None:
    arrivals = [11.0 + 0.01 * i for i in range(40)]
    h = Harness(retrying(backoff_policy="decorrelated-jitter"), arrivals).run()
    for arrival in arrivals:
        times = [e[0] for e in h.log if e[1] == "attempt" and e[2] == arrival]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        prev = 2.0
        for gap in gaps:
            assert 2.0 - 1e-9 <= gap <= 3.0 * prev + 1e-9
            prev = gap


def test_abandon_probability_one_gives_up_after_the_first_failure() -> None:
    h = Harness(retrying(abandon_probability=1.0), [11.0]).run()
    assert h.times("attempt") == approx([11.0])
    assert h.events("lost") == approx([(11.0, "lost", 11.0)])


def test_measured_window_excludes_warmup_arrivals() -> None:
    raw = base()
    raw["scenario"]["warmup"] = "10s"
    h = Harness(raw, [5.0, 15.0]).run()
    assert h.rec.customers == 2 and h.rec.attempted == 1 and h.rec.completed == 1
    assert math.isclose(h.rec.latency.mean, 1.0)
