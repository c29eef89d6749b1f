"""Writes the example inputs of `sim fit`: incidents.csv and traffic.csv, drawn from known laws.

Run from the repository root: `.venv/bin/python examples/make_fit_data.py`; the same seed gives
the same files. Then `sim fit` turns them into scenarios/fitted-example.toml (see the README).

The laws behind the data, for comparing with what `sim fit` recovers:
  web      3 replicas, time between failures Weibull(mean 5 days, shape 1.6), repair lognormal(25 min, cv 1.0)
  payment  2 replicas, exponential(mean 9 days), repair lognormal(40 min, cv 0.8)
  db       2 replicas, exponential(mean 400 days), repair exponential(1 h): likely no failure in the window
  traffic  2 checkouts/s on average with a daily profile, 14 days of hourly counts, one 3x flash sale (2 h)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sim.fit.synthetic import hourly_counts, incident_rows, incidents_csv
from sim.random.distributions import Exponential, LogNormal, Weibull

DAY = 86400.0
SEED = 11
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_DAYS = 120
LAWS = {
    "web": (3, Weibull(5 * DAY, 1.6), LogNormal(25 * 60.0, 1.0)),
    "payment": (2, Exponential(9 * DAY), LogNormal(40 * 60.0, 0.8)),
    "db": (2, Exponential(400 * DAY), Exponential(3600.0)),
}
PROFILE = (0.3, 0.2, 0.15, 0.15, 0.2, 0.3, 0.5, 0.8, 1.1, 1.3, 1.4, 1.5,
           1.6, 1.5, 1.4, 1.4, 1.5, 1.6, 1.7, 1.8, 1.6, 1.2, 0.8, 0.5)
FLASH_SALE = {24 * 9 + 19: 3.0, 24 * 9 + 20: 3.0}  # day 10, 19:00 to 21:00 UTC


def main() -> None:
    here = Path(__file__).resolve().parent
    rows = incident_rows(LAWS, WINDOW_DAYS * DAY, SEED, ORIGIN)
    (here / "incidents.csv").write_text(incidents_csv(rows))
    mean_profile = sum(PROFILE) / 24
    counts = hourly_counts(2.0, [p / mean_profile for p in PROFILE], 14, SEED, ORIGIN, FLASH_SALE)
    (here / "traffic.csv").write_text("timestamp,count\n" + "".join(f"{t},{c}\n" for t, c in counts))


if __name__ == "__main__":
    main()
