"""Summaries across replications: mean, standard deviation and Student-t confidence intervals,
and paired differences between architectures run on common random numbers."""

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

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2.0

    def contains(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high

    @property
    def has_interval(self) -> bool:
        """False with fewer than two replications (no spread, hence no interval)."""
        return self.n >= 2 and not (math.isnan(self.ci_low) or math.isnan(self.ci_high))

    def to_dict(self) -> dict[str, float | int | None]:
        """``mean``, ``std``, ``n``, ``ci_low``, ``ci_high``; a missing value (NaN) is None (JSON null)."""
        values = {"mean": self.mean, "std": self.std, "n": self.n, "ci_low": self.ci_low,
                  "ci_high": self.ci_high}
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in values.items()}


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
        return Summary(math.nan, math.nan, 0, math.nan, math.nan)
    mean = float(x.mean())
    if n == 1:
        return Summary(mean, math.nan, 1, math.nan, math.nan)
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
