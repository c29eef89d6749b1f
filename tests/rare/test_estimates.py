"""Ratio estimates and one-sided bounds against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.rare.estimates import poisson_upper_bound, ratio_estimate, zero_event_estimate


def test_zero_events_give_the_rule_of_three() -> None:
    assert poisson_upper_bound(0, 1000.0) == pytest.approx(-math.log(0.05) / 1000.0, rel=1e-12)
    assert poisson_upper_bound(0, 1000.0) == pytest.approx(2.995732 / 1000.0, rel=1e-6)
    bound = zero_event_estimate(0.003)
    assert (bound.value, bound.ci_low, bound.ci_high) == (0.0, 0.0, 0.003)
    assert bound.method == "poisson-upper-bound"
    assert math.isnan(bound.rel_half_width)


def test_garwood_bound_for_a_few_events() -> None:
    """P(Poisson(bound·t) <= k) = 0.05 at the upper bound (the definition of the exact bound)."""
    from scipy import stats

    for k in (1, 3, 10):
        mean = poisson_upper_bound(k, 50.0) * 50.0
        assert stats.poisson.cdf(k, mean) == pytest.approx(0.05, rel=1e-9)
    with pytest.raises(ValueError, match="exposure"):
        poisson_upper_bound(0, 0.0)


def test_ratio_estimate_by_hand() -> None:
    y, z = np.array([1.0, 3.0, 2.0, 6.0]), np.array([2.0, 2.0, 4.0, 4.0])
    est, variance = ratio_estimate(y, z)
    r = 12.0 / 12.0
    residuals = y - r * z  # -1, 1, -2, 2 → sample variance 10/3, mean of z = 3
    assert est.value == r
    assert variance == pytest.approx((10.0 / 3.0) / 9.0)
    half = 1.959963984540054 * math.sqrt(variance / 4)
    assert (est.ci_low, est.ci_high) == pytest.approx((r - half, r + half))
    assert residuals.sum() == 0.0
    assert est.rel_half_width == pytest.approx(half)
    nan_est, _ = ratio_estimate(np.array([1.0]), np.array([1.0]))
    assert math.isnan(nan_est.value)
