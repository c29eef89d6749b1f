"""Summaries and paired differences against scipy's t interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.stats.intervals import Summary, paired_difference, significant, summarize


def test_summarize_matches_scipy_t_interval() -> None:
    x = [3.1, 2.7, 4.0, 3.3, 2.9, 3.8, 3.5]
    s = summarize(x)
    low, high = stats.t.interval(0.95, df=len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert s.mean == pytest.approx(np.mean(x))
    assert s.std == pytest.approx(np.std(x, ddof=1))
    assert s.n == 7
    assert (s.ci_low, s.ci_high) == pytest.approx((low, high))
    assert s.half_width == pytest.approx((high - low) / 2)
    assert s.contains(s.mean) and not s.contains(high + 1e-6)


def test_summarize_other_confidence() -> None:
    x = [1.0, 2.0, 4.0, 8.0]
    s = summarize(x, confidence=0.9)
    low, high = stats.t.interval(0.9, df=3, loc=np.mean(x), scale=stats.sem(x))
    assert (s.ci_low, s.ci_high) == pytest.approx((low, high))


def test_summarize_drops_nan() -> None:
    s = summarize([1.0, math.nan, 3.0])
    assert s.n == 2 and s.mean == 2.0


def test_summarize_degenerate_cases() -> None:
    empty = summarize([])
    assert empty.n == 0 and math.isnan(empty.mean)
    one = summarize([5.0])
    assert one.n == 1 and one.mean == 5.0 and math.isnan(one.ci_low) and math.isnan(one.std)
    same = summarize([2.0, 2.0, 2.0])
    assert same == Summary(2.0, 0.0, 3, 2.0, 2.0)


def test_bounds_clip_the_interval() -> None:
    x = [0.0, 0.0, 0.0, 1.0]
    free = summarize(x)
    assert free.ci_low < 0.0
    clipped = summarize(x, bounds=(0.0, math.inf))
    assert clipped.ci_low == 0.0 and clipped.ci_high == pytest.approx(free.ci_high)
    assert clipped.mean == free.mean
    frac = summarize([0.99, 1.0, 1.0, 0.97], bounds=(0.0, 1.0))
    assert frac.ci_high == 1.0


def test_paired_difference() -> None:
    a = [10.0, 12.0, 9.0, 11.0, 13.0]
    b = [9.0, 10.5, 8.5, 9.0, 12.0]
    d = paired_difference(a, b)
    diffs = np.subtract(a, b)
    low, high = stats.t.interval(0.95, df=4, loc=diffs.mean(), scale=stats.sem(diffs))
    assert d.mean == pytest.approx(diffs.mean())
    assert (d.ci_low, d.ci_high) == pytest.approx((low, high))
    assert significant(d)
    # pairing removes the common variation that unpaired intervals would include
    assert d.half_width < summarize(a).half_width


def test_paired_difference_drops_nan_pairs_and_checks_lengths() -> None:
    d = paired_difference([1.0, math.nan, 3.0, 5.0], [0.0, 1.0, math.nan, 4.0])
    assert d.n == 2 and d.mean == 1.0
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])


def test_difference_can_be_negative() -> None:
    d = paired_difference([1.0, 2.0, 3.0], [2.0, 3.5, 4.2])
    assert d.ci_high < 0.0 and significant(d)
    assert not significant(paired_difference([1.0, 2.0, 3.0], [1.1, 1.9, 3.0]))


def test_to_dict() -> None:
    d = summarize([1.0, 3.0]).to_dict()
    assert set(d) == {"mean", "std", "n", "ci_low", "ci_high", "method", "rel_half_width"}
    assert d["method"] == "t"
    assert d["rel_half_width"] == pytest.approx((d["ci_high"] - d["ci_low"]) / 2 / 2.0)
    one = summarize([4.0]).to_dict()
    assert one["method"] == "n=1" and one["rel_half_width"] is None


def test_one_replication_has_a_mean_and_no_interval() -> None:
    s = summarize([4.5], bounds=(0.0, math.inf))
    assert (s.mean, s.n) == (4.5, 1) and not s.has_interval
    assert math.isnan(s.std) and math.isnan(s.ci_low) and math.isnan(s.ci_high)
    # JSON: missing values are null, never NaN (which is not JSON)
    assert s.to_dict() == {"mean": 4.5, "std": None, "n": 1, "ci_low": None, "ci_high": None,
                           "method": "n=1", "rel_half_width": None}


def test_clipped_ends_are_marked() -> None:
    x = [0.0, 0.0, 0.0, 6.0]
    low, high = stats.t.interval(0.95, df=3, loc=np.mean(x), scale=stats.sem(x))
    s = summarize(x, bounds=(0.0, math.inf))
    assert low < 0 and s.ci_low == 0.0 and s.clipped_low and not s.clipped_high
    assert s.ci_high == pytest.approx(high)
    free = summarize(x)
    assert free.ci_low == pytest.approx(low) and not free.clipped_low
