"""The fit recovers known laws from synthetic incident logs: the true mean lies in the reported 95%
interval at the nominal rate over repeated logs (heavy censoring and a tier that seldom fails
included), and AIC picks the generating family in a clear majority of logs.

"At the nominal rate" and "a clear majority" are judged with 99% Clopper–Pearson intervals of the
observed rates: the coverage interval must reach 0.95, the selection interval must lie above 1/2.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scipy import stats

from sim.fit.incidents import incidents_from_text
from sim.fit.laws import fit_law
from sim.fit.synthetic import incident_rows, incidents_csv
from sim.random.distributions import Exponential, LogNormal, Weibull

DAY = 86400.0
WINDOW_DAYS = 60
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
LOGS = 150
LAWS = {
    "wear": (5, Weibull(3 * DAY, 2.0), LogNormal(3600.0, 1.5)),  # ~100 failures, lognormal repairs
    "poisson": (4, Exponential(2 * DAY), Exponential(1800.0)),  # ~120 failures, exponential throughout
    "censored": (4, Exponential(WINDOW_DAYS * DAY), Exponential(6 * 3600.0)),  # ~4 failures, as many censored
    "quiet": (2, Exponential(300 * DAY), Exponential(3600.0)),  # no failure in 2 logs of 3
}
TRUE_FAMILY = {("wear", "mtbf"): "weibull", ("wear", "mttr"): "lognormal",
               ("poisson", "mtbf"): "exponential", ("poisson", "mttr"): "exponential"}


def clopper_pearson(hits: int, n: int, confidence: float = 0.99) -> tuple[float, float]:
    alpha = 1 - confidence
    low = stats.beta.ppf(alpha / 2, hits, n - hits + 1) if hits > 0 else 0.0
    high = stats.beta.ppf(1 - alpha / 2, hits + 1, n - hits) if hits < n else 1.0
    return float(low), float(high)


@pytest.fixture(scope="module")
def fits() -> dict[tuple[str, str], list]:
    out: dict[tuple[str, str], list] = {(t, k): [] for t in LAWS for k in ("mtbf", "mttr")}
    for i in range(LOGS):
        rows = incident_rows(LAWS, WINDOW_DAYS * DAY, seed=2024, origin=ORIGIN, log=i)
        log = incidents_from_text(incidents_csv(rows), window_start=ORIGIN,
                                  window_end=ORIGIN + timedelta(days=WINDOW_DAYS))
        for tier in LAWS:
            out[tier, "mtbf"].append(fit_law(log.time_between_failures(tier), gof_resamples=0))
            out[tier, "mttr"].append(fit_law(log.repair_times(tier), gof_resamples=0))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("law", [(t, k) for t in LAWS for k in ("mtbf", "mttr")], ids="-".join)
def test_true_mean_in_the_interval_at_the_nominal_rate(fits, law: tuple[str, str]) -> None:
    tier, kind = law
    true_mean = LAWS[tier][1 if kind == "mtbf" else 2].mean
    fitted = [f for f in fits[law] if f is not None]  # no repair seen: nothing is claimed
    hits = sum(f.mean_ci_s[0] <= true_mean <= f.mean_ci_s[1] for f in fitted)
    _, high = clopper_pearson(hits, len(fitted))
    assert high >= 0.95, f"{law}: {hits}/{len(fitted)} intervals cover the true mean {true_mean}"
    assert len(fitted) >= 30  # enough intervals for the rate to mean something


@pytest.mark.slow
def test_a_tier_that_seldom_fails_still_gets_an_interval(fits) -> None:
    quiet = fits["quiet", "mtbf"]
    assert sum(f.n_events == 0 for f in quiet) > LOGS // 2  # the case is exercised
    assert all(f.mean_ci_s[1] == float("inf") for f in quiet if f.n_events == 0)


@pytest.mark.slow
@pytest.mark.parametrize("law", sorted(TRUE_FAMILY), ids="-".join)
def test_aic_picks_the_generating_family_in_a_clear_majority(fits, law: tuple[str, str]) -> None:
    picked = [f.dist for f in fits[law]]
    hits = picked.count(TRUE_FAMILY[law])
    low, _ = clopper_pearson(hits, len(picked))
    assert low > 0.5, f"{law}: {TRUE_FAMILY[law]} chosen in {hits}/{len(picked)} logs"
