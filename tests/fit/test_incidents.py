"""Incident logs read into censored observations: exact values, one-line errors naming the line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sim.fit.incidents import FitInputError, incidents_from_text
from sim.fit.synthetic import incident_rows, incidents_csv
from sim.random.distributions import Exponential, LogNormal, Weibull

HEADER = "tier,replica,start,end\n"


def log(body: str, **window):
    return incidents_from_text(HEADER + body, "inc.csv", **window)


def test_gaps_and_repairs_with_censoring_at_both_ends() -> None:
    # web/1: up 1h, down 30m, up 2h, down (open at the window end); web/2 never fails
    got = log("web,1,2026-01-01T01:00:00Z,2026-01-01T01:30:00Z\n"
              "web,1,2026-01-01T03:30:00,\n"
              "web,2,,\n",
              window_start=datetime(2026, 1, 1, tzinfo=UTC), window_end=datetime(2026, 1, 1, 4, tzinfo=UTC))
    tbf, ttr = got.time_between_failures("web"), got.repair_times("web")
    assert tbf.events == (3600.0, 7200.0) and tbf.censored == (4 * 3600.0,)
    assert tbf.event_limits == (4 * 3600.0, 2.5 * 3600.0) and tbf.censored_limits == (4 * 3600.0,)
    assert ttr.events == (1800.0,) and ttr.censored == (1800.0,)
    assert tbf.exposure_s == 3600 + 7200 + 4 * 3600


def test_default_window_runs_from_the_first_start_to_the_last_timestamp() -> None:
    got = log("pay,a,2026-01-02T00:00:00Z,2026-01-02T01:00:00Z\n"
              "pay,b,2026-01-03T00:00:00Z,2026-01-03T02:00:00Z\n")
    assert got.window_start == datetime(2026, 1, 2, tzinfo=UTC)
    assert got.window_end == datetime(2026, 1, 3, 2, tzinfo=UTC)
    tbf = got.time_between_failures("pay")
    # replica a failed at the window origin: no first gap; b's first gap is a full day
    assert tbf.events == (86400.0,)
    assert tbf.censored == (25 * 3600.0,)  # a: from its repair to the window end


def test_end_may_be_a_duration_after_the_start() -> None:
    got = log("web,1,2026-01-01T01:00:00Z,45m\nweb,2,2026-01-01T02:00:00Z,90\n",
              window_start=datetime(2026, 1, 1, tzinfo=UTC), window_end=datetime(2026, 1, 1, 4, tzinfo=UTC))
    assert got.repair_times("web").events == (2700.0, 90.0)


@pytest.mark.parametrize("seed", range(5))
def test_every_replica_instant_is_up_or_down_exactly_once(seed: int) -> None:
    laws = {"a": (3, Exponential(5 * 3600.0), LogNormal(1800.0, 1.0)), "b": (2, Weibull(86400.0, 0.7),
                                                                             Exponential(7200.0))}
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    got = incidents_from_text(incidents_csv(incident_rows(laws, 5 * 86400.0, seed, origin)), "s.csv",
                              window_start=origin, window_end=origin + timedelta(days=5))
    for tier, (replicas, _, _) in laws.items():
        up, down = got.time_between_failures(tier), got.repair_times(tier)
        assert up.exposure_s + down.exposure_s == pytest.approx(replicas * 5 * 86400.0, abs=1e-5)
        assert len(down.events) + len(down.censored) <= len(up.events) + replicas  # one failure per repair


def test_offsets_are_converted_to_utc() -> None:
    got = log("web,1,2026-01-01T02:00:00+02:00,2026-01-01T00:10:00Z\n",
              window_start=datetime(2026, 1, 1, tzinfo=UTC), window_end=datetime(2026, 1, 1, 1, tzinfo=UTC))
    assert got.repair_times("web").events == (600.0,)
    assert got.time_between_failures("web").events == ()  # failed at the window start


@pytest.mark.parametrize(("body", "expected"), [
    ("web,1,2026-01-01T00:00:00Z\n", "line 2: 3 fields"),
    ("web,1,2026-01-01T02:00:00Z,2026-01-01T01:00:00Z\n",
     "line 2: end 2026-01-01T01:00:00Z is not after start"),
    ("web,1,2026-01-01T00:00:00Z,2026-01-01T02:00:00Z\nweb,1,2026-01-01T01:00:00Z,2026-01-01T03:00:00Z\n",
     "line 3: incident of web replica '1' overlaps the one on line 2"),
    ("web,1,2026-01-01T00:00:00Z,\nweb,1,2026-01-01T01:00:00Z,2026-01-01T03:00:00Z\n",
     "line 3: incident of web replica '1' overlaps the one on line 2"),
    ("web,1,yesterday,2026-01-01T02:00:00Z\n", "line 2: start 'yesterday': not an ISO 8601 timestamp"),
    ("web,1,2026-01-01T00:00:00Z,soon\n", "line 2: end 'soon': not an ISO 8601 timestamp"),
    ("web,1,2026-01-01T00:00:00Z,inf\n", "line 2: end 'inf': a duration must be finite"),
    ("web,1,,2026-01-01T02:00:00Z\n", "line 2: end without a start"),
    ("w eb,1,2026-01-01T00:00:00Z,\n", "line 2: tier 'w eb': must be a name"),
    ("web,,2026-01-01T00:00:00Z,\n", "line 2: replica is empty"),
    ("web,1,,\n", "no incident"),
])
def test_bad_rows_are_one_line_errors_naming_the_line(body: str, expected: str) -> None:
    with pytest.raises(FitInputError) as err:
        log(body)
    assert str(err.value).startswith("inc.csv: ") and expected in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("", "empty file"),
    ("tier,replica,start\nweb,1,2026-01-01T00:00:00Z\n", "line 1: missing column(s) end"),
    ("tier,replica,start,end,note\n", "line 1: unknown or repeated column(s) 'note'"),
])
def test_bad_headers(text: str, expected: str) -> None:
    with pytest.raises(FitInputError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        incidents_from_text(text, "inc.csv")


def test_incidents_outside_an_explicit_window_are_refused() -> None:
    with pytest.raises(FitInputError, match=r"line 2: incident .* lies outside the window"):
        log("web,1,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z\n",
            window_start=datetime(2026, 1, 1, 0, 30, tzinfo=UTC))
