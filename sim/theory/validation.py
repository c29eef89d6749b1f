"""Built-in validation: the simulator run on scenarios simple enough to have an exact answer.

Each :class:`Check` is a TOML-shaped scenario (built at a horizon ``scale``) and the analytic
values that scenario must reproduce (from :mod:`sim.theory.analytic`): Markov availability of
k-out-of-n tiers and of tiers in series, customers lost in an injected outage with and without
retries, lost fraction = unavailability (PASTA), Erlang B, M/M/c and M/M/1 (Erlang C), and
Little's law; and, in the rare regime (U = 1e-4, 1e-6, 1e-8, 1e-11) where the full model would
never see an outage, the rare-event engine against the k-of-n and series formulas
(:mod:`sim.theory.rare_checks`). ``sim validate`` runs them through :func:`run_checks`.

Pass rule. A comparison passes when its analytic value lies inside the Student-t confidence
interval of the simulated mean over independent replications, widened only by a stated
relative *bias allowance* for a known discretisation (the ±0.5% bins of the latency
histogram). The confidence level is Bonferroni-corrected over *all* the comparisons in
:data:`CHECKS` (m of them): each interval has level 1 - 0.05/m, so when the simulator is right
the whole set passes with probability at least 95%, whichever checks are selected. Tolerances
come only from these intervals: they are never tuned until the checks are green. Scenarios
that start empty (queues) or all-up (failures) have a warmup so the measured window is close
to steady state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sim.experiment import run
from sim.scenario import scenario_from_dict
from sim.stats.intervals import Summary, paired_difference, summarize
from sim.stats.metrics import metric_bounds
from sim.theory.checks import CHECKS as MODEL_CHECKS
from sim.theory.checks import Check, Comparison, Measure, Metrics
from sim.theory.rare_checks import RARE_CHECKS
from sim.theory.slo_checks import SLO_CHECKS

#: every check ``sim validate`` runs: the full model's, then the rare-event engine's
CHECKS: tuple[Check, ...] = MODEL_CHECKS + RARE_CHECKS + SLO_CHECKS
FAMILY_CONFIDENCE = 0.95  # probability that every comparison passes when the simulator is right


@dataclass(frozen=True)
class ComparisonOutcome:
    """The simulated interval of one comparison, its analytic value and the verdict."""

    label: str
    simulated: Summary
    analytic: float
    bias: float
    passed: bool


@dataclass(frozen=True)
class CheckOutcome:
    """Every comparison of one check, run at ``replications`` × ``scale`` with ``seed``."""

    name: str
    comparisons: tuple[ComparisonOutcome, ...]
    replications: int
    scale: float
    seed: int
    confidence: float
    wall_s: float

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.comparisons)


COMPARISONS = sum(len(c.comparisons) for c in CHECKS)
#: Level of each interval: Bonferroni over every comparison in CHECKS (family-wise 95%).
CONFIDENCE = 1.0 - (1.0 - FAMILY_CONFIDENCE) / COMPARISONS


# ---------------------------------------------------------------------------------------------
# Running and reporting.


def _values(measure: Measure | Callable[[Metrics], float], per_replication: Sequence[Metrics]) -> list[float]:
    if isinstance(measure, str):
        return [r[measure] for r in per_replication]
    return [measure(r) for r in per_replication]


def compare(comparison: Comparison, per_replication: Sequence[Metrics],
            confidence: float = CONFIDENCE) -> ComparisonOutcome:
    """The verdict of one comparison over the replications' metrics (see the module docstring)."""
    values = _values(comparison.measure, per_replication)
    if comparison.reference is not None:
        summary = paired_difference(values, _values(comparison.reference, per_replication), confidence)
    else:
        bounds = metric_bounds(comparison.measure) if isinstance(comparison.measure, str) else None
        summary = summarize(values, confidence, bounds=bounds or (-math.inf, math.inf))
    slack = comparison.bias * abs(comparison.analytic)
    passed = summary.n >= 2 and summary.ci_low - slack <= comparison.analytic <= summary.ci_high + slack
    return ComparisonOutcome(comparison.label, summary, comparison.analytic, comparison.bias, passed)


def run_check(check: Check, replications: int = 10, scale: float = 1.0, seed: int = 2024,
              workers: int | None = None, confidence: float = CONFIDENCE,
              progress: Callable[[int, int], None] | None = None) -> CheckOutcome:
    """Simulate ``check``'s scenario and compare every quantity with its analytic value
    (``progress(done, total)`` as its replications finish)."""
    wall0 = time.perf_counter()
    scenario = scenario_from_dict(check.build(scale), source=f"<check {check.name}>")
    if check.replicate is None:
        per_replication = run(scenario, replications=replications, seed=seed, workers=workers,
                              progress=progress).per_replication
    else:  # the rare-event engine: seconds per replication, run here (workers unused)
        per_replication = []
        for r in range(replications):
            per_replication.append(check.replicate(scenario, seed, r, scale))
            if progress is not None:
                progress(r + 1, replications)
    outcomes = tuple(compare(c, per_replication, confidence) for c in check.comparisons)
    return CheckOutcome(check.name, outcomes, replications, scale, seed, confidence,
                        time.perf_counter() - wall0)


_NUMBER_W = 12
_HEADER = ("check", "comparison", "simulated", "CI low", "CI high", "analytic", "allowance", "verdict")


def _num(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.6g}"


def _allowance(bias: float) -> str:
    if bias == 0.0:
        return "–"
    return "rounding" if bias < 1e-6 else f"±{bias * 100:g}%"


class Table:
    """Aligned rows of check outcomes, printable one check at a time as they finish."""

    def __init__(self, names: Sequence[str], labels: Sequence[str]) -> None:
        """Columns wide enough for these check names and comparison labels."""
        self.name_w = max([len(_HEADER[0]), *(len(n) for n in names)])
        self.label_w = max([len(_HEADER[1]), *(len(x) for x in labels)])

    @classmethod
    def for_checks(cls, checks: Sequence[Check]) -> Table:
        return cls([c.name for c in checks], [x.label for c in checks for x in c.comparisons])

    def _line(self, cells: Sequence[str]) -> str:
        name, label, *numbers, verdict = cells
        nums = "".join(f" {n:>{_NUMBER_W}}" for n in numbers)
        return f"{name:<{self.name_w}}  {label:<{self.label_w}}{nums}  {verdict}".rstrip()

    def header(self) -> str:
        return self._line(_HEADER) + "\n" + "-" * len(self._line(_HEADER))

    def rows(self, outcome: CheckOutcome) -> str:
        lines = []
        for i, c in enumerate(outcome.comparisons):
            s = c.simulated
            lines.append(self._line((outcome.name if i == 0 else "", c.label, _num(s.mean), _num(s.ci_low),
                                     _num(s.ci_high), _num(c.analytic), _allowance(c.bias),
                                     "PASS" if c.passed else "FAIL")))
        return "\n".join(lines)


def run_checks(names: Sequence[str] | None = None, replications: int = 10, scale: float = 1.0,
               seed: int = 2024, workers: int | None = None,
               echo: Callable[[str], object] = print,
               progress: Callable[[str, int, int, int], None] | None = None) -> list[CheckOutcome]:
    """Run the named checks (None: all) and print each comparison's verdict as it finishes;
    ``progress(check, index, done, total)`` as each check's replications finish.

    Raises ``ValueError`` for an unknown name.
    """
    by_name = {c.name: c for c in CHECKS}
    names = list(by_name) if names is None else list(names)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}; checks: {', '.join(by_name)}")
    checks = [by_name[n] for n in names]
    table = Table.for_checks(checks)
    echo(f"{len(checks)} check(s), {replications} replications each, scale {scale:g}, seed {seed}.\n"
         f"Intervals: {CONFIDENCE:.2%} Student-t CIs of the simulated mean (Bonferroni over the "
         f"{COMPARISONS} comparisons of all checks: family-wise {FAMILY_CONFIDENCE:.0%}).\n"
         "PASS: the analytic value lies inside the interval, widened only by the stated allowance.\n")
    echo(table.header())
    wall0 = time.perf_counter()
    outcomes = []
    for index, check in enumerate(checks):
        report = None if progress is None else (
            lambda done, total, c=check.name, i=index: progress(c, i, done, total))
        outcome = run_check(check, replications, scale, seed, workers, progress=report)
        echo(table.rows(outcome))
        outcomes.append(outcome)
    echo(f"\nsimulated in {time.perf_counter() - wall0:.1f} s")
    return outcomes
