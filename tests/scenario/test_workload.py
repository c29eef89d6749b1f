"""The work estimate: exact on simple traffic, and a refusal (with how to override) above the bound,
raised by every library entry point before anything runs."""

from __future__ import annotations

import math

import pytest

import sim
from sim.scenario import scenario_from_dict
from sim.scenario.workload import (
    DEFAULT_MAX_EVENTS,
    MAX_EVENTS_ENV,
    WorkloadError,
    check_workload,
    estimate_workload,
    expected_arrivals,
    max_events,
)
from sim.sweeps.stress import parse_objective, stress

HOUR = 3600.0


def scenario(**sections: dict) -> sim.scenario.spec.Scenario:  # type: ignore[name-defined]
    raw = {"scenario": {"horizon": "10h"}, "traffic": {"arrival_rate": 2.0}, "path": {"tiers": ["web"]},
           "tiers": {"web": {"service_time": "100ms"}}}
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return scenario_from_dict(raw)


def test_flat_traffic() -> None:
    s = scenario()
    assert expected_arrivals(s.traffic, s.horizon_s) == (2.0 * 10 * HOUR, 2.0 * 10 * HOUR)


def test_a_spike_adds_its_extra_arrivals_and_candidates_run_at_the_peak() -> None:
    s = scenario(traffic={"spikes": [{"start": "1h", "duration": "30m", "multiplier": 5.0}]})
    arrivals, candidates = expected_arrivals(s.traffic, s.horizon_s)
    assert arrivals == pytest.approx(2.0 * (10 * HOUR + 4.0 * 0.5 * HOUR), rel=1e-12)
    assert candidates == pytest.approx(2.0 * 5.0 * 10 * HOUR, rel=1e-12)


def test_overlapping_spikes_multiply_and_a_spike_past_the_horizon_is_cut() -> None:
    s = scenario(traffic={"spikes": [{"start": "1h", "duration": "2h", "multiplier": 2.0},
                                     {"start": "2h", "duration": "20h", "multiplier": 3.0}]})
    # 1h at 1, 1h at 2, 1h at 6, 7h at 3 (the second spike ends at the horizon)
    assert expected_arrivals(s.traffic, s.horizon_s)[0] == pytest.approx(2.0 * HOUR * (1 + 2 + 6 + 21))


def test_a_ramp_is_integrated_linearly() -> None:
    s = scenario(traffic={"ramp": {"start": "2h", "duration": "4h", "to_multiplier": 3.0}})
    # 2h at 1, 4h from 1 to 3 (mean 2), 4h at 3
    assert expected_arrivals(s.traffic, s.horizon_s)[0] == pytest.approx(2.0 * HOUR * (2 + 8 + 12))


def test_a_daily_profile_counts_at_its_peak_under_two_days() -> None:
    profile = [1.0] * 23 + [4.0]
    s = scenario(traffic={"daily_profile": profile})
    assert expected_arrivals(s.traffic, s.horizon_s) == (2.0 * 4.0 * 10 * HOUR, 2.0 * 4.0 * 10 * HOUR)


def test_failures_and_repairs_from_the_means() -> None:
    s = scenario(tiers={"web": {"service_time": "100ms", "replicas": 3, "mtbf": "50m", "mttr": "10m"}})
    span = 10 * HOUR + 60.0 + 600.0  # the horizon and a drain of a minute plus the longest repair
    assert estimate_workload(s).failure_events == pytest.approx(2 * 3 * (span / HOUR + 1))


@pytest.mark.parametrize("sections", [
    {"traffic": {"spikes": [{"start": "1m", "duration": "1m", "multiplier": 1e308}]}},
    {"tiers": {"web": {"service_time": "100ms", "mtbf": 1e-6, "mttr": 1e-6}}},
    {"tiers": {"web": {"service_time": "100ms", "mtbf": {"dist": "weibull", "mean": 1e-5, "shape": 0.1},
                       "mttr": 1e-5}}},
    {"traffic": {"arrival_rate": 1e9}},
    {"scenario": {"horizon": "1e11"}},
])
def test_astronomical_work_is_refused_before_running(sections: dict) -> None:
    s = scenario(**sections)
    with pytest.raises(WorkloadError) as info:
        sim.run(s, replications=2, workers=1)
    text = str(info.value)
    assert "\n" not in text and "too much work: ~" in text
    assert f"above the limit of {DEFAULT_MAX_EVENTS:.3g}" in text and f"set {MAX_EVENTS_ENV}=N" in text


def test_sweeps_and_stress_refuse_too(tmp_path) -> None:
    with pytest.raises(WorkloadError, match="point 1: too much work"):
        sim.sweep("baseline", grid={"traffic.arrival_rate": [1, 1e9]}, overrides={"scenario.horizon": "5m"},
                  replications=2, executor="serial")
    s = scenario(traffic={"arrival_rate": 1e9})  # stress probes hold failures off: traffic decides
    with pytest.raises(WorkloadError, match="too much work"):
        stress(s, parse_objective(["lost_fraction<0.1"]), 2, 1, workers=1)


def test_the_bound_can_be_raised_or_lifted(monkeypatch: pytest.MonkeyPatch) -> None:
    s = scenario(traffic={"arrival_rate": 1e9})
    monkeypatch.setenv(MAX_EVENTS_ENV, "inf")
    assert max_events() == math.inf
    assert check_workload(s).events > DEFAULT_MAX_EVENTS
    monkeypatch.setenv(MAX_EVENTS_ENV, "1000")
    with pytest.raises(WorkloadError, match="above the limit of 1e"):
        check_workload(scenario())


@pytest.mark.parametrize("text", ["many", "-5", "0", "nan"])
def test_an_unreadable_bound_is_an_error(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(MAX_EVENTS_ENV, text)
    with pytest.raises(WorkloadError, match=f"^{MAX_EVENTS_ENV}: '{text}': must be a number of events > 0"):
        check_workload(scenario())


def test_the_built_in_scenarios_are_well_within_the_bound() -> None:
    for name in sim.scenario.builtin_scenario_names():
        assert estimate_workload(sim.load_scenario(name)).events < DEFAULT_MAX_EVENTS / 2
