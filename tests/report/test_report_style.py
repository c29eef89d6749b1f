"""Number formats, "nines" and metric labels."""

from __future__ import annotations

import math

import pytest

from sim.report import style


@pytest.mark.parametrize(("availability", "expected"), [(0.9, 1.0), (0.999, 3.0), (0.99999, 5.0)])
def test_nines(availability: float, expected: float) -> None:
    assert style.nines(availability) == pytest.approx(expected)


def test_nines_of_full_availability_is_infinite() -> None:
    assert math.isinf(style.nines(1.0))
    assert style.nines_text(math.inf) == "∞ (no downtime)"
    assert math.isnan(style.nines(math.nan))


@pytest.mark.parametrize(("x", "text"), [
    (0, "0"), (3, "3"), (12.25, "12.2"), (1234.4, "1,234"), (-5678, "−5,678"), (0.5, "0.50"),
    (math.nan, "–"), (None, "–"),
])
def test_count(x: float, text: str) -> None:
    assert style.count(x) == text


@pytest.mark.parametrize(("x", "text"), [
    (0.0042, "4.2 ms"), (0.25, "250 ms"), (1.5, "1.50 s"), (42.0, "42.0 s"), (600.0, "10.0 min"),
    (3 * 3600.0, "3.00 h"), (math.nan, "–"),
])
def test_seconds(x: float, text: str) -> None:
    assert style.seconds(x) == text


def test_percent_and_money() -> None:
    assert style.fraction_percent(0.5) == "50.000%"
    assert style.fraction_percent(0.0) == "0%"
    assert style.fraction_percent(2.1e-7) == "0.000021%"
    assert style.fraction_percent(-0.0005) == "−0.050%"
    assert style.money(1234.4, "USD") == "1,234 USD"
    assert style.money(12.5, "EUR") == "12.50 EUR"


def test_interval_and_hours() -> None:
    assert style.interval(60.0) == "1 min"
    assert style.interval(30.0) == "30 s"
    assert style.hours(86400.0) == "1 d"
    assert style.hours(3 * 3600.0) == "3 h"


def test_axis_labels_carry_units() -> None:
    assert style.metric_style("lost_checkouts").axis_label() == "Lost checkouts per replication"
    assert style.metric_style("lost_revenue").axis_label("EUR") == "Lost revenue (EUR per replication)"
    assert style.metric_style("latency_p95_s").axis_label() == "Latency p95 (s)"
    assert style.metric_style("mean_recovery_time_s").axis_label() == "Infrastructure recovery time (min)"
    assert style.metric_style("availability_web").label == "Availability of web"
    assert style.metric_style("availability").axis_label() == "Availability (%)"


def test_palette_is_okabe_ito() -> None:
    assert style.SERIES_COLOURS[:3] == ("#0072B2", "#E69F00", "#009E73")
    assert len(set(style.SERIES_COLOURS)) == 8


@pytest.mark.parametrize(("x", "text"), [
    (174.035, "×175"), (1.0, "×2"), (9.5, "×10.5"), (0.5, "+50.0%"), (-0.917, "−91.7%"),
    (0.0312, "+3.1%"), (-0.031, "−3.1%"),
    (-0.9996, "−99.9%"), (0.9996, "+99.9%"), (-1.0, "−100%"), (0.0004, "+0.040%"), (0.0, "0%"),
    (math.nan, "–"), (math.inf, "from ~0"),
])
def test_relative_change_is_readable(x: float, text: str) -> None:
    assert style.relative_change(x) == text
