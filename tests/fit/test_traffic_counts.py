"""Request counts read into arrival_rate and the hourly daily_profile, spikes flagged, bad files refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from sim.fit.incidents import FitInputError
from sim.fit.synthetic import hourly_counts
from sim.fit.traffic import counts_from_text

ORIGIN = datetime(2026, 3, 2, tzinfo=UTC)
PROFILE = [0.5] * 6 + [1.0] * 6 + [1.5] * 6 + [1.0] * 6  # averages 1


def csv_text(rows) -> str:
    return "timestamp,count\n" + "".join(f"{t},{c}\n" for t, c in rows)


def test_exact_counts_give_the_rate_and_profile_exactly() -> None:
    rows = [((ORIGIN + timedelta(hours=h)).isoformat(), int(3600 * 2 * PROFILE[h % 24])) for h in range(48)]
    fit = counts_from_text(csv_text(rows))
    assert fit.arrival_rate_per_s == pytest.approx(2.0)
    assert fit.daily_profile == pytest.approx(tuple(PROFILE))
    assert fit.spikes == () and fit.interval_s == 3600.0 and fit.intervals == 48


def test_quarter_hour_counts_add_up_per_hour() -> None:
    rows = [((ORIGIN + timedelta(minutes=15 * i)).isoformat(), 900 * PROFILE[(i // 4) % 24])
            for i in range(96)]
    fit = counts_from_text(csv_text((t, int(c)) for t, c in rows))
    assert fit.arrival_rate_per_s == pytest.approx(1.0)
    assert fit.daily_profile == pytest.approx(tuple(PROFILE))


def test_a_flash_sale_is_flagged_and_left_out_of_the_rates() -> None:
    rows = hourly_counts(2.0, PROFILE, 14, seed=4, origin=ORIGIN, spikes={24 * 5 + 12: 3.0, 24 * 5 + 13: 3.0})
    fit = counts_from_text(csv_text(rows))
    (spike,) = fit.spikes
    assert spike["start"] == (ORIGIN + timedelta(days=5, hours=12)).isoformat()
    assert spike["duration_s"] == 7200.0
    # the multiplier is the sale's 3 within its Poisson noise (about 2 × 10,800 arrivals: sd ≈ 0.7%)
    assert spike["multiplier"] == pytest.approx(3.0, rel=0.03)
    # hour 12 and 13's rate is estimated from the 13 ordinary days: each within 4 sd of 2 × 1.5 per s
    sd = np.sqrt(2.0 * 1.5 * 3600 * 13) / (3600 * 13)
    assert abs(fit.arrival_rate_per_s * fit.daily_profile[12] - 3.0) < 4 * sd


@pytest.mark.parametrize(("text", "expected"), [
    ("time,count\n", "line 1: the header must be timestamp,count"),
    ("timestamp,count\n2026-01-01T00:00:00Z,5\n2026-01-01T01:00:00Z,-1\n", "line 3: count '-1'"),
    ("timestamp,count\n2026-01-01T00:00:00Z,5\nnoon,5\n", "line 3: timestamp 'noon'"),
    ("timestamp,count\n2026-01-01T00:00:00Z,5\n2026-01-01T01:00:00Z,5\n2026-01-01T03:00:00Z,5\n",
     "line 4: timestamp 2026-01-01T03:00:00Z: intervals must be equal"),
    ("timestamp,count\n2026-01-01T00:00:00Z,5\n2026-01-01T00:00:00Z,5\n",
     "line 3: timestamp 2026-01-01T00:00:00Z is not after"),
    ("timestamp,count\n2026-01-01T00:00:00Z,5\n2026-01-01T01:00:00Z,5\n", "every hour of the day"),
    ("timestamp,count\n2026-01-01T00:00:00Z,5\n2026-01-01T02:00:00Z,5\n", "one hour or divide it"),
])
def test_bad_count_files_are_one_line_errors(text: str, expected: str) -> None:
    with pytest.raises(FitInputError) as err:
        counts_from_text(text, "counts.csv")
    assert str(err.value).startswith("counts.csv: ") and expected in str(err.value)
