"""Pick the best of k systems: the fully sequential indifference-zone procedure KN++ on common random numbers.

KN (Kim & Nelson, "A fully sequential procedure for indifference-zone selection in simulation",
ACM TOMACS 11(3), 2001) samples every system n0 times, then one replication more per surviving
system per stage, and eliminates system i at stage r as soon as, against some survivor l,

    X̄_i(r) < X̄_l(r) − W_il(r),   W_il(r) = max(0, δ/(2r)·(h²·S²_il/δ² − r))       (maximising)

where S²_il is the sample variance of the differences X_i − X_l (replication j of every system
uses the same random numbers, so the differences are much less variable than the systems) and δ
is the indifference zone: a difference smaller than δ is not worth telling apart. It stops when
one system is left: with probability at least 1 − α that system is the best, or within δ of the
best (for normal outputs; asymptotically otherwise). KN++ (Kim & Nelson, "On the asymptotic
validity of fully sequential selection procedures for steady-state simulation", Operations
Research 54(3), 2006) updates S²_il and h² at every stage with all r observations, with c = 1:

    β = 1 − (1 − α)^(1/(k−1)),   η(r) = ½·((2β)^(−2/(r−1)) − 1),   h²(r) = 2·η(r)·(r − 1).

Observations are drawn in batches (all survivors at once, in parallel), but screening is done at
every single r in order, so a batch only costs some unused replications of systems eliminated in
it: the decisions are those of the one-at-a-time procedure. A system whose differences from every
other survivor have zero variance and equal means (a deterministic tie, e.g. equal costs) cannot be
told apart: the procedure stops and says so. ``max_replications`` bounds the effort: reaching it
leaves several survivors and no guarantee, which the result states.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from sim.experiment.executors import Executor, Task, make_executor
from sim.scenario.spec import Scenario

#: metrics where more is better; every other metric is minimised
HIGHER_IS_BETTER = frozenset({"availability", "completed_checkouts", "throughput_per_s",
                              "availability_nines"})

Sampler = Callable[[Sequence[int], int, int], dict[int, list[float]]]  # (systems, first, count) -> values


@dataclass(frozen=True)
class Selection:
    """What KN++ decided (see the module docstring)."""

    names: tuple[str, ...]
    metric: str
    maximize: bool
    delta: float
    confidence: float
    n0: int
    best: int  # index into names
    survivors: tuple[int, ...]  # more than one unless the procedure finished
    stopped: str  # "selected", "tie" or "budget"
    observations: tuple[int, ...]  # replications used per system (up to its elimination)
    eliminated_at: tuple[int | None, ...]  # stage r at which each system was eliminated
    means: tuple[float, ...]  # each system's mean over its observations

    def statement(self) -> str:
        """The result in one sentence."""
        level = f"{self.confidence:.0%}"
        name = self.names[self.best]
        if self.stopped == "selected":
            return (f"{name} is best (or within δ = {self.delta:g} of the best) in {self.metric} with "
                    f"probability ≥ {level}")
        tied = ", ".join(self.names[i] for i in self.survivors)
        if self.stopped == "tie":
            return (f"{tied} are exactly equal in {self.metric} (no variance in their differences): any "
                    "is best")
        return (f"no selection within {max(self.observations)} replications: {tied} are still in contention "
                f"(best sample mean: {name}); raise --max-replications or widen --delta")


def _eta(k: int, r: int, alpha: float) -> float:
    beta = 1.0 - (1.0 - alpha) ** (1.0 / (k - 1))
    return 0.5 * ((2.0 * beta) ** (-2.0 / (r - 1)) - 1.0)


def kn_plus_plus(names: Sequence[str], sample: Sampler, delta: float, metric: str = "value",
                 maximize: bool = False, confidence: float = 0.95, n0: int = 10, batch: int = 1,
                 max_replications: int = 1000) -> Selection:
    """Select the best of ``names`` by KN++; ``sample(systems, first, count)`` returns, for each
    system index, its values of replications first..first+count−1 (common random numbers)."""
    k = len(names)
    if k < 2:
        raise ValueError("selection needs at least two systems")
    if not delta > 0:
        raise ValueError(f"the indifference zone must be > 0, got {delta}")
    if n0 < 2:
        raise ValueError(f"n0 must be at least 2, got {n0}")
    sign = 1.0 if maximize else -1.0  # work on values to maximise
    data: list[list[float]] = [[] for _ in range(k)]

    def take(systems: Sequence[int], first: int, count: int) -> None:
        values = sample(systems, first, count)
        for i in systems:
            got = values[i]
            if len(got) != count or any(math.isnan(v) for v in got):
                raise ValueError(f"{metric} has no value in some replication of {names[i]}; choose a metric "
                                 "every replication has")
            data[i].extend(sign * v for v in got)

    alive = list(range(k))
    eliminated: list[int | None] = [None] * k
    take(alive, 0, n0)
    r = n0
    stopped = "budget"
    while True:
        x = np.array([data[i][:r] for i in alive])
        means = x.mean(axis=1)
        h2 = 2.0 * _eta(k, r, 1.0 - confidence) * (r - 1)
        keep = []
        tie = True
        for a, i in enumerate(alive):
            ok = True
            for b, _ in enumerate(alive):
                if a == b:
                    continue
                s2 = float(np.var(x[a] - x[b], ddof=1))
                tie = tie and s2 == 0.0 and means[a] == means[b]
                w = max(0.0, delta / (2.0 * r) * (h2 * s2 / delta**2 - r))
                if means[a] < means[b] - w:
                    ok = False
                    break
            if ok:
                keep.append(i)
            else:
                eliminated[i] = r
        alive = keep
        if len(alive) == 1:
            stopped = "selected"
            break
        if tie:
            stopped = "tie"
            break
        if r >= max_replications:
            break
        have = min(len(data[i]) for i in alive)
        if have <= r:  # the batch is used up: draw the next one for the survivors
            take(alive, have, min(batch, max_replications - have))
        r += 1
    used = tuple(r if eliminated[i] is None else eliminated[i] for i in range(k))
    final = tuple(float(np.mean(data[i][:used[i]])) * sign + 0.0 for i in range(k))  # + 0.0: no -0
    best = max(alive, key=lambda i: (sign * final[i], -i))
    return Selection(tuple(names), metric, maximize, delta, confidence, n0, best, tuple(alive), stopped, used,
                     tuple(eliminated), final)


def simulation_sampler(scenarios: Sequence[Scenario], metric: str, seed: int, executor: Executor) -> Sampler:
    """Replications of the full model: replication j of every scenario on the same streams (CRN)."""

    def sample(systems: Sequence[int], first: int, count: int) -> dict[int, list[float]]:
        tasks = [Task((i, j), scenarios[i], seed, j) for i in systems for j in range(first, first + count)]
        values: dict[Hashable, float] = {}
        for key, result in executor.run(tasks):
            values[key] = float(result.metrics.get(metric, math.nan))
        return {i: [values[(i, j)] for j in range(first, first + count)] for i in systems}

    return sample


def select_best(scenarios: Sequence[Scenario], names: Sequence[str], metric: str, delta: float, seed: int,
                workers: int | None = None, n0: int = 10, confidence: float = 0.95,
                max_replications: int = 1000,
                on_batch: Callable[[Sequence[int], int, int], None] | None = None) -> Selection:
    """KN++ over the scenarios' replications (crude, common random numbers), in batches of ``workers``.
    ``on_batch(systems, first, count)`` is called after each batch is drawn (for progress)."""
    maximize = metric in HIGHER_IS_BETTER
    with make_executor(None, workers) as executor:
        batch = max(1, executor.workers)
        sample = simulation_sampler(scenarios, metric, seed, executor)
        if on_batch is not None:
            drawn = sample

            def sample(systems: Sequence[int], first: int, count: int) -> dict[int, list[float]]:
                values = drawn(systems, first, count)
                on_batch(systems, first, count)
                return values

        return kn_plus_plus(names, sample, delta, metric, maximize, confidence, n0, batch, max_replications)
