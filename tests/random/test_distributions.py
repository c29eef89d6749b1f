"""Samplers against their own analytic mean and variance (sampling tests with CI tolerances)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.random.distributions import Deterministic, Exponential, LogNormal, Uniform, Weibull, is_never
from sim.scenario.durations import format_duration, parse_duration

N = 200_000
DISTRIBUTIONS = [
    Exponential(20.0),
    LogNormal(1200.0, 1.5),
    LogNormal(0.2, 0.3),
    Weibull(43200.0, 2.0),
    Weibull(10.0, 0.7),
    Uniform(1.0, 5.0),
]


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=repr)
def test_sample_mean_matches_analytic_mean(dist) -> None:
    x = dist.sample(np.random.default_rng(12345), N)
    # z-test at family-wise 99% over the distributions: the analytic mean must lie in the interval
    z = stats.norm.ppf(1 - 0.01 / (2 * len(DISTRIBUTIONS)))
    half = z * x.std(ddof=1) / math.sqrt(N)
    assert abs(x.mean() - dist.mean) < half, (x.mean(), dist.mean, half)


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=repr)
def test_sample_variance_matches_analytic_variance(dist) -> None:
    x = dist.sample(np.random.default_rng(999), N)
    # the variance of the sample variance is (μ4 − σ⁴)/n; use the sample's fourth moment
    m4 = np.mean((x - x.mean()) ** 4)
    se = math.sqrt(max(m4 - x.var() ** 2, 0.0) / N)
    z = stats.norm.ppf(1 - 0.01 / (2 * len(DISTRIBUTIONS)))
    assert abs(x.var(ddof=1) - dist.variance) < z * se, (x.var(ddof=1), dist.variance, se)


def test_deterministic_and_never() -> None:
    d = Deterministic(5.0)
    assert d.sample(np.random.default_rng(1), 3).tolist() == [5.0, 5.0, 5.0]
    assert (d.mean, d.variance) == (5.0, 0.0)
    assert is_never(None) and is_never(Deterministic(math.inf)) and not is_never(Exponential(1.0))


@pytest.mark.parametrize(("text", "seconds"), [
    (30, 30.0), (1.5, 1.5), ("200ms", 0.2), ("45m", 2700.0), ("12h", 43200.0), ("1d", 86400.0),
    ("2.5s", 2.5), ("90", 90.0), ("inf", math.inf),
])
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "5 parsecs", "", True, "-"])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_format_duration() -> None:
    assert [format_duration(x) for x in (2700.0, 5400.0, 0.2, 0.0, math.inf, 86400.0)] == [
        "45m", "1.5h", "200ms", "0s", "inf", "1d"]
