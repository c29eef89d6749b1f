"""SLOs and error budgets of a scenario: per window, the probability of a breach, the budget burned
(and by incident class), and the breaching windows per year — each figure saying how it was obtained.

Three ways, used where each applies:

- **exact** (availability objective, Markov infrastructure, no injected outage): the downtime
  distribution of a window by uniformization (:func:`sim.theory.slo.window_downtime`);
- **infrastructure windows** (availability objective, any laws): ``windows`` independent windows of
  the infrastructure alone (:mod:`sim.rare.infrastructure`, the rare-event engine's simulator, the
  full model's path draw for draw), each started all up like a replication; breach probability
  with its exact Clopper–Pearson interval, budget burned with a t interval. The budget burned *by
  incident class* is attributed on common random numbers: the downtime with replica failures only
  (zones never fail, no injected outage), then what adding zone outages adds, then what adding the
  injected outages adds (a sequential attribution: overlaps count for the class added first);
- **simulated windows** (every objective, including checkout success and latency, where retry
  storms and queueing show): the full model's replications when the horizon is the SLO window, one
  replication per window.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sim.rare.infrastructure import simulate_infrastructure
from sim.rare.markov import InfrastructureChain, markov_problems
from sim.scenario.durations import format_duration
from sim.scenario.spec import Scenario, SloSpec
from sim.stats.intervals import Summary, summarize
from sim.stats.slo import WindowEstimates, window_estimates
from sim.theory.slo import WindowDowntime, window_downtime, windows_per_year

DEFAULT_WINDOWS = 400  # infrastructure windows: a few seconds for a 30-day window
MIN_WINDOWS = 50
MAX_EVENTS = 4e6  # failures and repairs simulated over all windows (about 20 s on one core)
CLASSES = ("replica failure", "zone outage", "injected outage")


@dataclass(frozen=True)
class SloAssessment:
    """The SLO figures of one scenario (see the module docstring for the three ways)."""

    slo: SloSpec
    exact: WindowDowntime | None  # availability objective, Markov infrastructure
    infrastructure: WindowEstimates | None  # availability objective, any laws
    by_class: Mapping[str, Summary]  # budget burned per window by incident class (infrastructure)
    simulated: Mapping[str, WindowEstimates]  # objective -> estimates over full-model replications
    notes: tuple[str, ...] = ()

    @property
    def breach_probability(self) -> float:
        """The best point estimate of the availability breach probability (exact when known)."""
        if self.exact is not None:
            return self.exact.breach_probability
        if self.infrastructure is not None:
            return self.infrastructure.breach.estimate
        return math.nan

    @property
    def breach_upper(self) -> float:
        """A 95% upper end of the breach probability (the exact value when known)."""
        if self.exact is not None:
            return self.exact.breach_probability
        if self.infrastructure is not None:
            return self.infrastructure.breach.high
        return math.nan


def budget_s(slo: SloSpec) -> float:
    """The availability error budget of one window, in seconds of downtime."""
    if slo.availability is None:
        raise ValueError("no availability objective")
    return (1.0 - slo.availability) * slo.window_s


def _without_zones(scenario: Scenario) -> Scenario:
    zones = tuple(dataclasses.replace(z, mtbf=None) for z in scenario.zones)
    return dataclasses.replace(scenario, zones=zones, outages=())


def infrastructure_window_downtimes(scenario: Scenario, window_s: float, windows: int, seed: int
                                    ) -> list[tuple[float, float, float]]:
    """Per window r (replication index r, started all up): downtime from replica failures alone, then
    added by zone outages, then added by injected outages (seconds; common random numbers)."""
    zones_fail = any(z.mtbf is not None for z in scenario.zones)
    replica_only = _without_zones(scenario)
    with_zones = dataclasses.replace(scenario, outages=())
    out = []
    for r in range(windows):
        base = simulate_infrastructure(replica_only, seed, r, window_s).path_down_time_s(0.0, window_s)
        zoned = (simulate_infrastructure(with_zones, seed, r, window_s).path_down_time_s(0.0, window_s)
                 if zones_fail else base)
        full = (simulate_infrastructure(scenario, seed, r, window_s).path_down_time_s(0.0, window_s)
                if scenario.outages else zoned)
        out.append((base, zoned - base, full - zoned))
    return out


def expected_events(scenario: Scenario, window_s: float) -> float:
    """Failures and repairs of one window, from the laws' means (three runs per window: by class)."""
    events = 0.0
    for t in scenario.tiers:
        if t.mtbf is not None and not math.isinf(t.mtbf.mean):
            events += 2.0 * t.replicas * window_s / (t.mtbf.mean + t.mttr.mean)
    for z in scenario.zones:
        if z.mtbf is not None and not math.isinf(z.mtbf.mean):
            events += 2.0 * window_s / (z.mtbf.mean + z.mttr.mean)
    return 3.0 * events


def exact_window(scenario: Scenario) -> tuple[WindowDowntime | None, str]:
    """The exact availability figures when the infrastructure is a Markov chain (else None and why)."""
    slo = scenario.slo
    if slo is None or slo.availability is None:
        return None, "no availability objective"
    problems = markov_problems(scenario)
    if problems:
        return None, "not a Markov chain: " + problems[0]
    try:
        return window_downtime(InfrastructureChain(scenario), slo.window_s, budget_s(slo)), ""
    except ValueError as err:
        return None, str(err)


def replication_windows(slo: SloSpec, per_replication: Sequence[Mapping[str, float]]
                        ) -> dict[str, WindowEstimates]:
    """Each objective's figures over full-model replications, one replication per window."""
    out: dict[str, WindowEstimates] = {}
    if slo.availability is not None:
        a = [r["availability"] for r in per_replication]
        out["availability"] = window_estimates(slo.window_s, [x < slo.availability for x in a],
                                               [(1.0 - x) / (1.0 - slo.availability) for x in a])
    if slo.checkout_success is not None:
        lost = [r["lost_fraction"] for r in per_replication]
        target = slo.checkout_success
        out["checkout_success"] = window_estimates(slo.window_s, [1.0 - x < target for x in lost],
                                                   [x / (1.0 - target) for x in lost])
    if slo.latency_p95_s is not None:
        p95 = [r["latency_p95_s"] for r in per_replication]
        out["latency_p95"] = window_estimates(slo.window_s, [not x <= slo.latency_p95_s for x in p95])
    return out


def assess_slo(scenario: Scenario, windows: int = DEFAULT_WINDOWS, seed: int | None = None,
               per_replication: Sequence[Mapping[str, float]] | None = None) -> SloAssessment:
    """Every SLO figure of ``scenario`` (which must have an ``[slo]``) that applies; ``per_replication``:
    a run's replications, used as windows when its horizon is the SLO window."""
    slo = scenario.slo
    if slo is None:
        raise ValueError("the scenario has no [slo]")
    seed = scenario.seed if seed is None else seed
    notes = []
    exact, why = exact_window(scenario)
    infra, by_class = None, {}
    if slo.availability is not None:
        per_window = expected_events(scenario, slo.window_s)
        affordable = max(MIN_WINDOWS, int(MAX_EVENTS / max(per_window, 1.0)))
        if affordable < windows:
            notes.append(f"{affordable} infrastructure windows instead of {windows}: about {per_window:,.0f} "
                         "failures and repairs per window")
            windows = affordable
        downs = infrastructure_window_downtimes(scenario, slo.window_s, windows, seed)
        budget = budget_s(slo)
        totals = [sum(d) for d in downs]
        infra = window_estimates(slo.window_s, [t > budget for t in totals], [t / budget for t in totals])
        by_class = {c: summarize([d[i] / budget for d in downs], bounds=(0.0, math.inf))
                    for i, c in enumerate(CLASSES)}
        if exact is None:
            notes.append(f"no exact value ({why})")
    simulated = {}
    whole = math.isclose(scenario.horizon_s, slo.window_s) and scenario.warmup_s == 0
    if per_replication is not None and whole:
        simulated = replication_windows(slo, per_replication)
    elif slo.checkout_success is not None or slo.latency_p95_s is not None:
        notes.append(f"checkout_success and latency_p95 need the full model over whole windows: run with "
                     f"--horizon {format_duration(slo.window_s)} (no warmup), one replication per window")
    return SloAssessment(slo, exact, infra, by_class, simulated, tuple(notes))


def _pct(x: float) -> str:
    return f"{x * 100:.3g}%"


def _burn(x: float) -> str:
    """A share of the budget: a percentage, or a multiple of the budget from 10 budgets up."""
    return f"{x:.3g}× the budget" if x >= 10 else _pct(x)


def _ci(low: float, high: float, fmt=_pct) -> str:
    return f"[{fmt(low)}, {fmt(high)}]"


def slo_lines(a: SloAssessment) -> list[str]:
    """The assessment as text: one line per figure, each saying how it was obtained."""
    slo = a.slo
    objectives = [f"availability ≥ {slo.availability:.6g}" if slo.availability is not None else "",
                  f"checkout success ≥ {slo.checkout_success:.6g}" if slo.checkout_success else "",
                  f"p95 latency ≤ {slo.latency_p95_s:g} s" if slo.latency_p95_s is not None else ""]
    per_year = windows_per_year(slo.window_s)
    lines = [f"\nSLO per {format_duration(slo.window_s)} window: {', '.join(o for o in objectives if o)}"]
    if a.exact is not None:
        e = a.exact
        lines.append(f"  availability: P(breach) {_pct(e.breach_probability)} (exact: uniformization of "
                     f"the Markov chain, {e.states} states, error ≤ {e.error_bound:.0e}); expected budget "
                     f"burned {_burn(e.expected_budget_burned)} (exact); breaching windows per year "
                     f"{e.breach_probability * per_year:.3g} (exact)")
    if a.infrastructure is not None:
        w = a.infrastructure
        b = w.budget_burned
        per = w.breaching_windows_per_year()
        lines.append(f"  availability: P(breach) {_pct(w.breach.estimate)} "
                     f"{_ci(w.breach.low, w.breach.high)} ({w.breach.count} of {w.breach.n} infrastructure "
                     f"windows, Clopper–Pearson); budget burned {_burn(b.mean)} "
                     f"{_ci(b.ci_low, b.ci_high, _burn)} (t); breaching windows per year {per[0]:.3g} "
                     f"[{per[1]:.3g}, {per[2]:.3g}]")
        shares = [f"{c} {_burn(s.mean)} {_ci(s.ci_low, s.ci_high, _burn)}" for c, s in a.by_class.items()
                  if s.mean > 0 or c == CLASSES[0]]
        lines.append("  budget burned by incident class (common random numbers, attributed in this order): "
                     + "; ".join(shares) + "; retry storms burn no availability budget (they show in "
                     "checkout_success)")
    for name, w in a.simulated.items():
        per = w.breaching_windows_per_year()
        b = w.budget_burned
        burned = "" if b is None else f"; budget burned {_burn(b.mean)} {_ci(b.ci_low, b.ci_high, _burn)}"
        lines.append(f"  {name}: P(breach) {_pct(w.breach.estimate)} {_ci(w.breach.low, w.breach.high)} "
                     f"({w.breach.count} of {w.breach.n} simulated windows: full-model replications, "
                     f"Clopper–Pearson){burned}; breaching windows per year {per[0]:.3g} "
                     f"[{per[1]:.3g}, {per[2]:.3g}]")
    lines += [f"  note: {n}" for n in a.notes]
    return lines
