"""SLO figures from independent simulated windows: breach probability, budget burned, per year.

A window *breaches* when its objective fails (its downtime exceeds the error budget, its checkout
success or p95 latency misses the target). Over n independent windows with k breaches the breach
probability gets the exact Clopper–Pearson interval (``scipy.stats.binomtest``), which keeps its
coverage when k is 0 or n, where a normal interval collapses to a point. The budget burned per
window (downtime / budget; 1 = the whole budget) is a mean over windows with its Student-t interval.
Expected breaching windows per year = P(breach) × windows per year (linearity of expectation:
true whatever the dependence between consecutive windows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from sim.stats.intervals import CONFIDENCE, Summary, summarize

YEAR_S = 365.0 * 86400.0


@dataclass(frozen=True)
class Proportion:
    """k of n with an exact (Clopper–Pearson) interval."""

    count: int
    n: int
    low: float
    high: float

    @property
    def estimate(self) -> float:
        return self.count / self.n


def breach_proportion(breaches: Sequence[bool], confidence: float = CONFIDENCE) -> Proportion:
    """The share of breaching windows with its exact two-sided Clopper–Pearson interval."""
    n = len(breaches)
    if n == 0:
        raise ValueError("no windows")
    k = int(sum(bool(b) for b in breaches))
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return Proportion(k, n, float(ci.low), float(ci.high))


@dataclass(frozen=True)
class WindowEstimates:
    """Crude SLO figures of one objective over ``breach.n`` independent windows."""

    window_s: float
    breach: Proportion
    budget_burned: Summary | None  # per window (1 = the whole budget); None when it has no budget

    @property
    def windows_per_year(self) -> float:
        return YEAR_S / self.window_s

    def breaching_windows_per_year(self) -> tuple[float, float, float]:
        """Expected breaching windows per year: estimate, interval low, interval high."""
        w = self.windows_per_year
        return self.breach.estimate * w, self.breach.low * w, self.breach.high * w


def window_estimates(window_s: float, breaches: Sequence[bool], burned: Sequence[float] | None = None,
                     confidence: float = CONFIDENCE) -> WindowEstimates:
    """The breach probability of independent windows and their mean budget burned (when given)."""
    summary = None if burned is None else summarize(burned, confidence, bounds=(0.0, float("inf")))
    return WindowEstimates(window_s, breach_proportion(breaches, confidence), summary)
