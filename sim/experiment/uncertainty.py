"""Parameter uncertainty in a run: every replication simulates laws drawn from the fit's sampling
distributions, and the run says how much of each interval the draws add.

Replication r draws each fitted law from its own stream (``parameters/<tier>/<kind>`` of
replication r), so the draws depend only on the seed and r: the same on any number of workers,
and adding a law draws no other differently. The variance decomposition compares the
per-replication variance of each metric with draws and without them over the same replications
(common random numbers: the simulation streams are the same): by the law of total variance the
variance with draws is the simulation variance plus the variance the parameters add, so
1 − var(without) / var(with) estimates the parameters' share (clipped to 0 to 1).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from sim.fit.uncertainty import KINDS, ParameterUncertainty
from sim.random.streams import Streams
from sim.scenario.spec import Scenario
from sim.stats.intervals import critical_t


class UncertaintyError(ValueError):
    """Parameter uncertainty that does not fit the scenario (a tier it does not define)."""


def check_uncertainty(scenario: Scenario, uncertainty: ParameterUncertainty) -> None:
    """Refuse laws of tiers the scenario does not define."""
    defined = {t.name for t in scenario.tiers}
    missing = [t for t in uncertainty.tiers() if t not in defined]
    if missing:
        raise UncertaintyError(f"{uncertainty.source}: tiers.{missing[0]}: not a tier of scenario "
                               f"{scenario.name!r} (tiers: {', '.join(sorted(defined))})")


def drawn_scenario(scenario: Scenario, uncertainty: ParameterUncertainty, seed: int,
                   replication: int) -> Scenario:
    """``scenario`` with every fitted law replaced by replication ``replication``'s draw."""
    streams = Streams(seed, replication)
    drawn = {(law.tier, law.kind): law.draw(streams.generator(law.stream)) for law in uncertainty.laws}
    tiers = []
    for tier in scenario.tiers:
        changes = {kind: drawn[tier.name, kind] for kind in KINDS if (tier.name, kind) in drawn}
        tiers.append(dataclasses.replace(tier, **changes) if changes else tier)
    return dataclasses.replace(scenario, tiers=tuple(tiers))


def decomposition(with_draws: Sequence[Mapping[str, float]], without: Sequence[Mapping[str, float]],
                  uncertainty: ParameterUncertainty) -> dict:
    """Per metric: the 95% half-widths with and without draws and the parameters' share of the variance."""
    metrics = {}
    names = [k for k in with_draws[0] if k != "replication"] if with_draws else []
    for name in names:
        a = _finite([r.get(name, math.nan) for r in with_draws])
        b = _finite([r.get(name, math.nan) for r in without])
        if len(a) < 2 or len(b) < 2:
            continue
        var_a, var_b = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
        share = None if var_a <= 0 else min(1.0, max(0.0, 1.0 - var_b / var_a))
        metrics[name] = {"half_width": critical_t(len(a)) * math.sqrt(var_a / len(a)),
                         "half_width_simulation": critical_t(len(b)) * math.sqrt(var_b / len(b)),
                         "variance": var_a, "variance_simulation": var_b, "parameter_share": share}
    laws = [f"tiers.{law.tier}.{law.kind}" for law in uncertainty.laws]
    return {"source": uncertainty.source, "laws": laws,
            "method": "law of total variance: the same replications with and without draws",
            "metrics": metrics}


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]
