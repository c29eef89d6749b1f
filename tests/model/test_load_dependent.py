"""Load-dependent service time (``service_time_per_in_flight``): exact event times on tiny
deterministic scenarios, and the key's validation and file form."""

from __future__ import annotations

import pytest

from sim.scenario import ScenarioError, scenario_from_dict, scenario_to_dict
from tests.model.test_timelines import Harness, base


def slowed(slope_s: float, **web: object) -> dict:
    return base(web={"service_time_per_in_flight": slope_s, **web})


def test_each_request_in_service_adds_the_slope_at_start() -> None:
    # unlimited concurrency, 1 s demand, 0.1 s per request in service (itself included):
    # t=0 alone -> 1.1 s; t=0.5 beside one -> 1.2 s; t=0.6 beside two -> 1.3 s; t=5 alone again
    h = Harness(slowed(0.1, concurrency="inf"), [0.0, 0.5, 0.6, 5.0]).run()
    assert h.times("done") == [1.1, 1.7, 1.9, 6.1]


def test_a_queued_request_counts_the_load_when_it_starts_not_when_it_arrives() -> None:
    # concurrency 2: t=0 -> 1.1 s (done 1.1); t=0.2 beside one -> 1.2 s (done 1.4); t=0.3 waits
    # and starts at 1.1 beside the t=0.2 request -> 1.2 s (done 2.3)
    h = Harness(slowed(0.1, concurrency=2), [0.0, 0.2, 0.3]).run()
    assert h.times("done") == [1.1, 1.4, 2.3]


def test_work_of_a_customer_who_gave_up_still_slows_the_others() -> None:
    # patience 1.5 s, slope 0.2 s: three at t=0 take 1.2, 1.4 and 1.6 s; the third customer gives
    # up at 1.5 while its request runs until 1.6 (orphaned work). The t=1.55 request starts beside
    # that orphan: 1 + 2 × 0.2 = 1.4 s, done at 2.95 (2.75 if the orphan were not counted)
    raw = slowed(0.2, concurrency="inf")
    raw["customer"]["patience"] = "1.5s"
    h = Harness(raw, [0.0, 0.0, 0.0, 1.55]).run()
    assert h.times("timeout") == [1.5]
    assert h.times("done") == [1.2, 1.4, 2.95]


def test_zero_slope_is_the_plain_model() -> None:
    plain = Harness(base(web={"concurrency": "inf"}), [0.0, 0.5, 0.6]).run()
    zero = Harness(slowed(0.0, concurrency="inf"), [0.0, 0.5, 0.6]).run()
    assert zero.log == plain.log
    assert plain.times("done") == [1.0, 1.5, 1.6]


def test_file_form_round_trips_and_is_absent_when_zero() -> None:
    s = scenario_from_dict(slowed("10ms"))
    assert s.tier("web").service_time_per_in_flight_s == pytest.approx(0.01)
    assert scenario_from_dict(scenario_to_dict(s)) == s
    plain = scenario_to_dict(scenario_from_dict(base()))
    assert "service_time_per_in_flight" not in plain["tiers"]["web"]


def test_a_negative_slope_is_refused_naming_the_key() -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(slowed("-1s"))
    assert "tiers.web.service_time_per_in_flight" in str(err.value)
