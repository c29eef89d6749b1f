"""Rare-event estimation of path unavailability: balanced failure biasing against crude cycles.

For each architecture (the built-in baseline at redundancy 2 and 3, a 3+3 path at U ≈ 1e-4, a
4+4 path at U ≈ 1e-8 and one at U ≈ 1e-11; exponential failure and repair laws) the script runs
regenerative cycles of the infrastructure chain (no customers) with balanced failure biasing and
crude, and prints one table row: the exact unavailability (GTH solve), the biased estimate and its
relative 95% half-width, the wall time of the biased run, the extrapolated CPU time of each method to ±5%
(variance per cycle × CPU per cycle, from the run), and the speed-up. When crude cycles saw no
outage at all, crude's variance per cycle is taken from the biased run's unbiased estimate of it
(marked "*"). ESS is the effective number of cycles behind the down-time estimate and "top cycle"
the largest single cycle's share of it (heavy-tailed weights would show as a small ESS). One core;
the figures scale linearly with the number of cycles.

A second table measures incident windows (:mod:`sim.rare.windows`) against full runs of the
customer model on the baseline at redundancy 2 and 3 (its 3-day horizon, seed 1): customers
simulated and wall time per replication, the mean and standard deviation of ``lost_checkouts``
over the same replications (paired: same infrastructure paths), and the wall time each would need
for ±5% on ``lost_checkouts`` (variance per replication × wall time per replication).

Usage: ``python benchmarks/rare.py [--cycles N] [--window-replications R] [--tables all|cycles|windows]``
(default 40,000 cycles per method and row, 6 replications per window row).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.experiment.replication import run_replication  # noqa: E402 (after sys.path)
from sim.rare.biasing import CycleEstimates, regenerative_estimates  # noqa: E402
from sim.rare.markov import InfrastructureChain, stationary  # noqa: E402
from sim.rare.windows import WindowEstimator  # noqa: E402
from sim.scenario.load import load_scenario, scenario_from_dict  # noqa: E402
from sim.scenario.spec import Scenario  # noqa: E402

TARGET = 0.05  # relative half-width of the 95% interval
Z = 1.959963984540054


def k_out_of_n_path(replicas: int, mtbf: str, mttr: str, crews: int) -> Scenario:
    """web and payment with ``replicas`` replicas each, one needed, exponential laws."""
    tier = {"replicas": replicas, "service_time": "100ms", "mtbf": mtbf, "mttr": mttr, "min_healthy": 1,
            "repair_crews": crews}
    return scenario_from_dict({
        "scenario": {"name": f"{replicas}+{replicas}", "horizon": "1d"},
        "traffic": {"arrival_rate": 1.0},
        "path": {"tiers": ["web", "payment"]},
        "tiers": {"web": tier, "payment": dict(tier)},
    })


def rows() -> list[tuple[str, Scenario]]:
    return [
        ("baseline, redundancy 2", load_scenario("baseline", redundancy=2)),
        ("baseline, redundancy 3", load_scenario("baseline", redundancy=3)),
        ("3+3, MTBF 49 h, 1 crew", k_out_of_n_path(3, "49h", "1h", 1)),
        ("4+4, MTBF 156 h, 2 crews", k_out_of_n_path(4, "156h", "1h", 2)),
        ("4+4, MTBF 1480 h, 1 crew", k_out_of_n_path(4, "1480h", "1h", 1)),
    ]


def time_to_target(variance_per_cycle: float, cpu_per_cycle_s: float, value: float) -> float:
    """CPU seconds for a relative half-width of TARGET: cycles n = (z·σ/(TARGET·U))², times CPU per cycle."""
    return (Z**2 * variance_per_cycle / (TARGET * value) ** 2) * cpu_per_cycle_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=40_000)
    parser.add_argument("--window-replications", type=int, default=6)
    parser.add_argument("--tables", choices=("all", "cycles", "windows"), default="all")
    args = parser.parse_args()
    if args.tables in ("all", "cycles"):
        cycles_table(args.cycles)
    if args.tables in ("all", "windows"):
        windows_table(args.window_replications)


def cycles_table(cycles: int) -> None:
    header = ("| architecture | exact U | biased estimate | rel. half-width | wall s | biased to ±5% | "
              "crude to ±5% | speed-up | ESS | top cycle |")
    print(header)
    print("|" + " --- |" * 10)
    for name, scenario in rows():
        chain = InfrastructureChain(scenario)
        exact = stationary(chain).unavailability
        wall0 = time.perf_counter()
        biased = regenerative_estimates(chain, cycles, seed=1)
        wall = time.perf_counter() - wall0
        crude = regenerative_estimates(chain, cycles, seed=2, biasing_probability=None)
        print(_row(name, exact, biased, crude, wall))


def windows_table(replications: int) -> None:
    """Incident windows against full runs, replication by replication (same seed, same paths)."""
    print()
    print("| architecture | windows/rep | customers/rep (windows, full) | wall s/rep (windows, full) | "
          "lost_checkouts (windows, full) | wall to ±5% (windows, full) | speed-up |")
    print("|" + " --- |" * 7)
    for name, redundancy in (("baseline, redundancy 2", 2), ("baseline, redundancy 3", 3)):
        scenario = load_scenario("baseline", redundancy=redundancy)
        estimator = WindowEstimator(scenario)
        windowed = [estimator.replication(1, r) for r in range(replications)]
        full = [run_replication(scenario, 1, r) for r in range(replications)]
        w_lost = np.array([w.metrics["lost_checkouts"] for w in windowed])
        f_lost = np.array([f.metrics["lost_checkouts"] for f in full])
        w_wall = float(np.mean([w.wall_s for w in windowed]))
        f_wall = float(np.mean([f.wall_s for f in full]))
        t_w = time_to_target(float(w_lost.var(ddof=1)), w_wall, float(w_lost.mean()))
        t_f = time_to_target(float(f_lost.var(ddof=1)), f_wall, float(f_lost.mean()))
        w_customers = np.mean([w.customers for w in windowed])
        f_customers = np.mean([f.customers for f in full])
        print(f"| {name} | {np.mean([w.windows for w in windowed]):.1f} | "
              f"{w_customers:,.0f}, {f_customers:,.0f} | "
              f"{w_wall:.2f}, {f_wall:.2f} | {w_lost.mean():,.0f} ± {w_lost.std(ddof=1):,.0f}, "
              f"{f_lost.mean():,.0f} ± {f_lost.std(ddof=1):,.0f} | {_duration(t_w)}, {_duration(t_f)} | "
              f"{t_f / t_w if t_w > 0 else math.nan:,.1f}× |")


def _row(name: str, exact: float, biased: CycleEstimates, crude: CycleEstimates, wall: float) -> str:
    u = biased.unavailability
    t_biased = time_to_target(biased.variance_per_cycle, biased.cpu_per_cycle_s, u.value)
    crude_variance, mark = crude.variance_per_cycle, ""
    if math.isnan(crude_variance):
        crude_variance, mark = biased.crude_variance_per_cycle, "*"
    t_crude = time_to_target(crude_variance, crude.cpu_per_cycle_s, u.value)
    return (f"| {name} | {exact:.3e} | {u.value:.3e} [{u.ci_low:.3e}, {u.ci_high:.3e}] | "
            f"{u.rel_half_width:.1%} | {wall:.2f} | {t_biased:.2f} s | {_duration(t_crude)}{mark} | "
            f"{t_crude / t_biased:,.0f}× | {biased.effective_sample_size:,.0f} | "
            f"{biased.max_weight_share:.2%} |")


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400.0), ("days", 86400.0), ("h", 3600.0)):
        if seconds >= size:
            return f"{seconds / size:,.3g} {unit}"
    return f"{seconds:.2f} s"


if __name__ == "__main__":
    main()
