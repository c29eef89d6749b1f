"""Summaries across replications: mean, standard deviation and confidence intervals, and paired
differences between architectures run on common random numbers.

Besides the Student-t interval of a mean, the intervals that rare outcomes need:

* a pooled ratio Σy/Σz over replications (e.g. total outage time over outages) with its
  delta-method interval: with R = ȳ/z̄ and residuals d_i = y_i − R·z_i,
  √n·(R̂ − R) → N(0, Var(d)/E[z]²) (Glynn & Iglehart, Operations Research 1993; Asmussen & Glynn,
  *Stochastic Simulation*, Springer 2007, §III.3);
* Garwood's exact Poisson limits for a count of independent events: after k events in exposure t
  the rate lies below χ²_c(2k + 2)/(2t) with confidence c; for k = 0 that is −ln(1 − c)/t
  (≈ 3/t at 95%, the "rule of three");
* the exact one-sided bound on a probability after 0 successes in n trials (Clopper–Pearson):
  1 − (1 − c)^(1/n), which bounds the mean of any quantity in [0, 1] that was 0 every time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    """Mean of one metric over independent replications, with a two-sided t interval.

    With one replication (``n == 1``) there is no interval: ``std``, ``ci_low`` and ``ci_high``
    are NaN (``null`` in JSON). ``clipped_low``/``clipped_high`` say that the t interval reached
    past a value the metric cannot take and was cut there (see :func:`summarize`).
    """

    mean: float
    std: float
    n: int
    ci_low: float
    ci_high: float
    clipped_low: bool = False
    clipped_high: bool = False
    #: how the interval was obtained: "t" (Student-t over replications), "ratio" (pooled ratio,
    #: delta method), "poisson" (Garwood two-sided, for an incident count equal in every
    #: replication), "poisson-upper"/"zero-upper" (one-sided bound: nothing was observed),
    #: "n=1" (a single replication: no interval), "none" (no value at all)
    method: str = "t"
    #: the interval measures the complement 1 − mean (availability: the unavailability), so the
    #: relative half-width is taken against 1 − mean
    complement: bool = False

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2.0

    def contains(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high

    @property
    def one_sided(self) -> bool:
        """True for a one-sided bound reported because nothing was observed (whatever estimator
        prefixes the method, e.g. "windows+zero-upper")."""
        return self.method.rpartition("+")[2] in ONE_SIDED

    @property
    def rel_half_width(self) -> float:
        """Half-width over |mean| (over 1 − mean for a ``complement`` metric); NaN when there is no
        interval or the reference is 0 (a one-sided bound at 0 has no relative width)."""
        if not self.has_interval or math.isnan(self.mean):
            return math.nan
        scale = 1.0 - self.mean if self.complement else abs(self.mean)
        if scale == 0.0:
            return math.nan
        return self.half_width / scale

    @property
    def has_interval(self) -> bool:
        """False with fewer than two replications (no spread, hence no interval)."""
        return self.n >= 2 and not (math.isnan(self.ci_low) or math.isnan(self.ci_high))

    def to_dict(self) -> dict[str, float | int | str | None]:
        """``mean``, ``std``, ``n``, ``ci_low``, ``ci_high``, ``method``, ``rel_half_width``; a missing
        value (NaN) is None (JSON null); an unbounded end stays ``inf``."""
        values = {"mean": self.mean, "std": self.std, "n": self.n, "ci_low": self.ci_low,
                  "ci_high": self.ci_high, "method": self.method, "rel_half_width": self.rel_half_width}
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in values.items()}


#: methods whose interval is a one-sided bound [lower end, upper bound] reported because the
#: event was never observed
ONE_SIDED = frozenset({"poisson-upper", "zero-upper"})


def summarize(
    values: Sequence[float],
    confidence: float = CONFIDENCE,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> Summary:
    """Mean, sample std and a Student-t CI of the mean; NaN replications are left out.

    ``bounds`` is the range the metric can take (e.g. ``(0, 1)`` for a fraction); the interval
    is cut to it, which keeps its coverage (the true mean lies inside the range) and avoids
    reporting impossible values such as a negative count for rare events; the cut ends are marked
    ``clipped_low``/``clipped_high``. One value (``n == 1``): the mean, with NaN for the standard
    deviation and the interval (a quick look, no uncertainty); none: every field NaN, ``n == 0``.
    """
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return Summary(math.nan, math.nan, 0, math.nan, math.nan, method="none")
    mean = float(x.mean())
    if n == 1:
        return Summary(mean, math.nan, 1, math.nan, math.nan, method="n=1")
    std = float(x.std(ddof=1))
    if std == 0.0:
        return Summary(mean, 0.0, n, mean, mean)
    low, high = stats.t.interval(confidence, df=n - 1, loc=mean, scale=std / math.sqrt(n))
    low, high = float(low), float(high)
    return Summary(mean, std, n, max(low, bounds[0]), min(high, bounds[1]),
                   clipped_low=low < bounds[0], clipped_high=high > bounds[1])


def paired_difference(
    treatment: Sequence[float], reference: Sequence[float], confidence: float = CONFIDENCE
) -> Summary:
    """CI of mean(treatment − reference) over replications paired by index (common random numbers).

    Pairs where either side is NaN are dropped.
    """
    if len(treatment) != len(reference):
        raise ValueError("paired samples need the same number of replications")
    diffs = [a - b for a, b in zip(treatment, reference, strict=True) if not (math.isnan(a) or math.isnan(b))]
    return summarize(diffs, confidence)


def significant(diff: Summary) -> bool:
    """True when the interval of a difference excludes zero."""
    return diff.n >= 2 and not (diff.ci_low <= 0.0 <= diff.ci_high)


def critical_t(n: int, confidence: float = CONFIDENCE) -> float:
    """Two-sided Student-t quantile with n − 1 degrees of freedom."""
    return float(stats.t.ppf(0.5 + confidence / 2.0, df=n - 1))


def ratio_interval(
    numerator: Sequence[float], denominator: Sequence[float], confidence: float = CONFIDENCE,
    quantile: float | None = None,
) -> tuple[float, float, float, float]:
    """Pooled ratio Σy/Σz with its delta-method interval, cut at 0 (both are non-negative).

    Returns ``(ratio, low, high, variance)`` where ``variance`` = Var(y − R·z)/z̄² is the
    per-replication variance of the ratio's influence function. The half-width uses ``quantile``
    (default: Student-t with n − 1 degrees of freedom, a little wider than the normal quantile
    for few replications). NaN everywhere with fewer than two pairs or Σz = 0.
    """
    y = np.asarray(numerator, dtype=float)
    z = np.asarray(denominator, dtype=float)
    n = int(y.size)
    z_mean = float(z.mean()) if n else 0.0
    if n < 2 or z_mean == 0.0:
        return math.nan, math.nan, math.nan, math.nan
    ratio = float(y.mean()) / z_mean
    variance = float(np.var(y - ratio * z, ddof=1)) / z_mean**2
    q = critical_t(n, confidence) if quantile is None else quantile
    half = q * math.sqrt(variance / n)
    return ratio, max(0.0, ratio - half), ratio + half, variance


def poisson_upper_bound(count: int, exposure: float, confidence: float = CONFIDENCE) -> float:
    """Exact one-sided upper confidence bound on a Poisson rate after ``count`` events in ``exposure``.

    Garwood's bound χ²_{c}(2·count + 2)/(2·exposure); for count = 0 it is −ln(1 − c)/exposure.
    """
    if exposure <= 0.0:
        raise ValueError(f"exposure must be > 0, got {exposure}")
    return float(stats.chi2.ppf(confidence, 2 * count + 2)) / (2.0 * exposure)


def poisson_interval(count: int, exposure: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Garwood's exact two-sided interval of a Poisson rate after ``count`` events in ``exposure``:
    [χ²_{α/2}(2k)/2, χ²_{1−α/2}(2k + 2)/2]/exposure, α = 1 − confidence (lower end 0 for k = 0)."""
    if exposure <= 0.0:
        raise ValueError(f"exposure must be > 0, got {exposure}")
    alpha = 1.0 - confidence
    low = float(stats.chi2.ppf(alpha / 2.0, 2 * count)) / 2.0 if count > 0 else 0.0
    high = float(stats.chi2.ppf(1.0 - alpha / 2.0, 2 * count + 2)) / 2.0
    return low / exposure, high / exposure


def zero_fraction_upper(n: int, confidence: float = CONFIDENCE) -> float:
    """Exact one-sided upper bound on a probability after 0 occurrences in ``n`` independent trials:
    1 − (1 − c)^(1/n) (Clopper–Pearson; ≈ 3/n at 95%). It also bounds the mean of any quantity in
    [0, 1] that was 0 in all n trials, since that mean is at most the probability of being non-zero."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return 1.0 - (1.0 - confidence) ** (1.0 / n)
