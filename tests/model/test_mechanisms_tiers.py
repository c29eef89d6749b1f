"""Tiers, failures and incidents, exactly: which replica the load balancer picks, who takes over
in active-passive mode, k-of-n availability, each replica's and zone's own failure streams, and
when the status page shows. Each expectation changes if the mechanism is subtly wrong."""

from __future__ import annotations

from typing import Any

import pytest

from sim.experiment import run_replication
from sim.random.distributions import Exponential
from sim.random.streams import Streams
from sim.scenario import scenario_from_dict
from tests.model.test_timelines import Harness, base, status_page


def det(seconds: float) -> dict[str, Any]:
    return {"dist": "deterministic", "value": seconds}


def routed_to(h: Harness) -> list[str]:
    return [name for _, name, _ in h.routed]


# -- replica queue ------------------------------------------------------------------------------
def test_a_crash_empties_the_queue_and_its_count() -> None:
    raw = base(web={"queue_limit": 1})
    raw["outages"] = [{"tier": "web", "start": 0.5, "duration": 0.5}]
    # 0 in service and 0.2 queued both fail at the crash; after the repair (1.0) the queue has
    # its one place again: 2.2 waits behind 2.0 instead of being shed
    h = Harness(raw, [0.0, 0.2, 2.0, 2.2]).run()
    assert sorted(h.events("crash", "shed", "done")) == [
        (0.5, "crash", 0.0), (0.5, "crash", 0.2), (3.0, "done", 2.0), (4.0, "done", 2.2)
    ]
    assert h.system.tiers["web"].replicas[0].waiting == 0


def test_a_crash_fails_a_request_that_would_outlast_its_patience_at_once() -> None:
    raw = base(web={"service_time": det(3.0)})
    raw["customer"]["patience"] = "1.5s"
    raw["outages"] = [{"tier": "web", "start": 1.0, "duration": 1.0}]
    # in service 0 → 3 with patience to 1.5: the crash at 1.0 fails it then, not at its deadline
    h = Harness(raw, [0.0]).run()
    assert h.events("crash", "timeout", "done", "lost") == [(1.0, "crash", 0.0), (1.0, "lost", 0.0)]


def test_service_ending_exactly_at_the_deadline_completes() -> None:
    raw = base()
    raw["customer"]["patience"] = "1s"
    h = Harness(raw, [0.0]).run()
    assert h.events("timeout", "done") == [(1.0, "done", 0.0)]


# -- load balancing ------------------------------------------------------------------------------
def test_least_outstanding_counts_queued_requests_and_breaks_ties_by_order() -> None:
    raw = base(web={"replicas": 2, "load_balancing": "least-outstanding"})
    # 0 → web[0]; 0.1 → web[1] (0 vs 1 outstanding); 0.2: tie 1-1 → web[0] (queued there);
    # 0.3: web[0] has 2 (one queued), web[1] has 1 → web[1]
    h = Harness(raw, [0.0, 0.1, 0.2, 0.3]).run()
    assert routed_to(h) == ["web[0]", "web[1]", "web[0]", "web[1]"]
    assert h.times("done") == [1.0, 1.1, 2.0, 2.1]


def test_round_robin_cycles_over_the_pool() -> None:
    raw = base(web={"replicas": 3, "concurrency": "inf"})
    h = Harness(raw, [1.0, 2.0, 3.0, 4.0, 5.0]).run()
    assert routed_to(h) == ["web[0]", "web[1]", "web[2]", "web[0]", "web[1]"]


def test_random_balancing_picks_uniformly_from_its_own_stream() -> None:
    raw = base(web={"replicas": 3, "concurrency": "inf", "load_balancing": "random"})
    arrivals = [float(t) for t in range(1, 31)]
    h = Harness(raw, arrivals).run()
    u = Streams(1, 0).uniform("routing:web")
    assert routed_to(h) == [f"web[{int(u() * 3)}]" for _ in arrivals]
    assert {"web[0]", "web[1]", "web[2]"} == set(routed_to(h))


def test_a_replica_back_before_it_was_noticed_stays_in_the_pool() -> None:
    # web[0] is down 10 → 12 and would be ejected at 15: it came back first, so it is not ejected
    raw = base(web={"replicas": 2, "concurrency": "inf", "failover_delay": "5s"})
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 2, "replicas": 1}]
    h = Harness(raw, [20.0, 21.0, 22.0, 23.0]).run()
    assert routed_to(h) == ["web[0]", "web[1]", "web[0]", "web[1]"]


# -- active-passive ---------------------------------------------------------------------------------
def active_passive(outage_replicas: int) -> dict[str, Any]:
    raw = base(web={"replicas": 3, "mode": "active-passive", "failover_delay": "5s", "concurrency": "inf"})
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 100, "replicas": outage_replicas}]
    return raw


def test_exactly_one_standby_takes_over() -> None:
    h = Harness(active_passive(1), [16.0, 17.0, 18.0]).run()
    assert routed_to(h) == ["web[1]", "web[1]", "web[1]"]  # web[2] stays a standby


def test_a_failed_standby_is_skipped() -> None:
    # web[0] and web[1] down together: at detection (15) only web[2] is healthy
    h = Harness(active_passive(2), [16.0, 17.0]).run()
    assert routed_to(h) == ["web[2]", "web[2]"]


def test_the_old_primary_rejoins_only_when_no_primary_is_left() -> None:
    raw = active_passive(1)
    raw["outages"].append({"tier": "web", "start": 150, "duration": 100, "replicas": 2})
    # web[0] repaired at 110 stays a standby behind web[1]; at 150 web[0] and web[1] fail; at
    # detection (155) web[2] takes over; web[0] and web[1] come back at 250 as standbys
    h = Harness(raw, [120.0, 160.0, 260.0]).run()
    assert routed_to(h) == ["web[1]", "web[2]", "web[2]"]


# -- k-of-n -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("down", "availability"), [(1, 1.0), (2, 1.0 - 20.0 / 100.0)])
def test_min_healthy_needs_k_replicas_up(down: int, availability: float) -> None:
    raw = base(web={"replicas": 3, "min_healthy": 2, "concurrency": "inf"})
    raw["scenario"]["horizon"] = "100s"
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 20, "replicas": down}]
    m = run_replication(scenario_from_dict(raw), 1, 0).metrics
    assert m["availability"] == pytest.approx(availability, abs=1e-12)
    assert m["outage_count"] == (0 if down == 1 else 1)


# -- failures and repairs: a stream per replica and per zone ------------------------------------------
def test_each_replica_fails_and_is_repaired_from_its_own_streams() -> None:
    raw = base(web={"replicas": 2, "concurrency": "inf", "mtbf": {"dist": "exponential", "mean": 100},
                    "mttr": {"dist": "exponential", "mean": 10}})
    h = Harness(raw, [])
    log: list[tuple[str, str, float]] = []
    tier = h.system.tiers["web"]
    down, up = tier.replica_down, tier.replica_up
    tier.replica_down = lambda r: (log.append((r.name, "down", h.env.now)), down(r))
    tier.replica_up = lambda r: (log.append((r.name, "up", h.env.now)), up(r))
    h.run(until=2000.0)
    s = Streams(1, 0)
    for i in (0, 1):
        fail = s.sampler(f"failure:web:{i}", Exponential(100.0))
        repair = s.sampler(f"repair:web:{i}", Exponential(10.0))
        expected, t = [], 0.0
        while True:
            t += fail()
            if t >= 2000.0:
                break
            expected.append(("down", t))
            t += repair()
            if t >= 2000.0:
                break
            expected.append(("up", t))
        got = [(kind, when) for name, kind, when in log if name == f"web[{i}]"]
        assert [k for k, _ in got] == [k for k, _ in expected]
        assert [w for _, w in got] == pytest.approx([w for _, w in expected], rel=1e-12)


def test_a_zone_fails_and_is_repaired_on_its_own_cycle() -> None:
    raw = base(web={"replicas": 2, "zones": ["a", "b"], "concurrency": "inf"})
    raw["zones"] = {"a": {"mtbf": det(50.0), "mttr": det(10.0)}, "b": {"mtbf": "inf"}}
    h = Harness(raw, [])
    counts: list[tuple[float, int]] = []
    h.rec.healthy_replicas = lambda now, tier, n: counts.append((now, n))
    h.run(until=150.0)
    assert counts == [(50.0, 1), (60.0, 2), (110.0, 1), (120.0, 2)]


# -- status page ------------------------------------------------------------------------------------
def page_log(h: Harness) -> list[tuple[float, bool]]:
    shown: list[tuple[float, bool]] = []
    original = h.rec.status_page_state

    def state(now: float, showing: bool) -> None:
        shown.append((now, showing))
        original(now, showing)

    h.rec.status_page_state = state
    return shown


def test_a_notice_from_an_earlier_outage_does_not_show_the_page() -> None:
    raw = status_page(1.0)
    # down 10 → 12 (its notice at 15 is stale), down again 13 → 30: the page shows at 18
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 2},
                      {"tier": "web", "start": 13, "duration": 17}]
    h = Harness(raw, [])
    shown = page_log(h)
    h.run()
    assert shown == [(18.0, True), (30.0, False)]


def test_a_customer_back_from_the_status_page_has_a_fresh_set_of_attempts() -> None:
    raw = status_page(1.0)
    # first outage: fails at 11 and 14, the page shows at 15, the failure at 17 sends the customer
    # away for 100 s; a second outage from 116 (page again only at 121): back at 117 with 3 fresh
    # attempts, it fails at 117 and 120, then at 123 the page sends it away to 223, when all is well
    raw["outages"].append({"tier": "web", "start": 116, "duration": 84})
    h = Harness(raw, [11.0]).run(until=1000.0)
    assert h.times("attempt") == [11.0, 14.0, 17.0, 117.0, 120.0, 123.0, 223.0]
    assert h.events("done", "lost") == [(224.0, "done", 11.0)]


# -- overlapping incidents ----------------------------------------------------------------------------
def test_overlapping_tier_outages_make_one_path_outage() -> None:
    raw = base(payment={"replicas": 1, "service_time": det(1.0)})
    raw["path"]["tiers"] = ["web", "payment"]
    raw["scenario"]["horizon"] = "100s"
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 10},
                      {"tier": "payment", "start": 15, "duration": 10}]
    m = run_replication(scenario_from_dict(raw), 1, 0).metrics
    assert (m["outage_count"], m["mean_recovery_time_s"]) == (1, 15.0)  # down 10 → 25
    assert m["availability"] == pytest.approx(0.85, abs=1e-12)
    assert m["availability_web"] == pytest.approx(0.9, abs=1e-12)
    assert m["availability_payment"] == pytest.approx(0.9, abs=1e-12)


def test_attempts_fail_while_any_dependency_is_down() -> None:
    raw = base(db={"replicas": 1}, cache={"replicas": 1})
    raw["path"]["dependencies"] = ["db", "cache"]
    raw["tiers"]["web"]["concurrency"] = "inf"
    raw["outages"] = [{"tier": "db", "start": 10, "duration": 10},
                      {"tier": "cache", "start": 15, "duration": 10}]
    h = Harness(raw, [12.0, 17.0, 22.0, 26.0]).run()
    assert h.events("dependency", "done") == [
        (12.0, "dependency", 12.0), (17.0, "dependency", 17.0), (22.0, "dependency", 22.0),
        (27.0, "done", 26.0),
    ]


def test_hang_without_patience_fails_at_once() -> None:
    # an unlimited patience never runs out: a hanging replica answers with an error instead
    raw = base(web={"failure_mode": "hang", "failover_delay": "5s"})
    raw["outages"] = [{"tier": "web", "start": 10, "duration": 100}]
    h = Harness(raw, [11.0]).run()
    assert h.events("error", "timeout", "lost") == [(11.0, "error", 11.0), (11.0, "lost", 11.0)]
    assert h.rec.in_system == 0
