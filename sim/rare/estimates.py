"""Point estimates with their intervals: ratio estimators (delta method) and one-sided bounds.

Regenerative estimators are ratios of two cycle means, E[Y]/E[Z]; their interval comes from the
central limit theorem for ratios (delta method): with R = Ȳ/Z̄ and per-cycle residuals
Y_i − R·Z_i, √n·(R̂ − R) → N(0, Var(Y − R·Z)/E[Z]²) (Glynn & Iglehart, Operations Research 1993;
Asmussen & Glynn, *Stochastic Simulation*, Springer 2007, §III.3 and §IV.4).

When no event was observed the two-sided interval degenerates to [0, 0]; the honest answer is a
one-sided bound: for a Poisson count with 0 events in exposure t, the rate is below
−ln(1 − c)/t with confidence c (≈ 3/t at 95%, the "rule of three"); for k events the exact
Garwood bound χ²_{c}(2k + 2)/(2t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim.stats.intervals import CONFIDENCE, poisson_upper_bound, ratio_interval

__all__ = ["CONFIDENCE", "Estimate", "poisson_upper_bound", "ratio_estimate", "zero_event_estimate"]


@dataclass(frozen=True)
class Estimate:
    """One estimated quantity with its interval, how it was estimated, and its precision."""

    value: float
    ci_low: float
    ci_high: float
    method: str  # e.g. "ratio-delta", "poisson-upper-bound"

    @property
    def rel_half_width(self) -> float:
        """Half the interval's width over the estimate (nan when the estimate is 0)."""
        if self.value == 0.0 or math.isnan(self.value):
            return math.nan
        return (self.ci_high - self.ci_low) / 2.0 / abs(self.value)

    def contains(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high

    def scaled(self, factor: float) -> Estimate:
        """The same estimate in other units (factor > 0)."""
        return Estimate(self.value * factor, self.ci_low * factor, self.ci_high * factor, self.method)


def ratio_estimate(
    numerator: np.ndarray,
    denominator: np.ndarray,
    confidence: float = CONFIDENCE,
    method: str = "ratio-delta",
) -> tuple[Estimate, float]:
    """Ratio of cycle means Ȳ/Z̄ with its delta-method interval, cut at 0 (both are non-negative).

    Returns the estimate and the per-cycle variance of the ratio's influence function,
    Var(Y − R·Z)/Z̄², which is what work-normalised comparisons need.
    """
    ratio, low, high, variance = ratio_interval(
        numerator, denominator, confidence, quantile=float(stats.norm.ppf(0.5 + confidence / 2.0)))
    return Estimate(ratio, low, high, method), variance


def zero_event_estimate(upper: float) -> Estimate:
    """The estimate to report when no event was observed: 0, with the one-sided bound [0, upper]."""
    return Estimate(0.0, 0.0, upper, "poisson-upper-bound")
