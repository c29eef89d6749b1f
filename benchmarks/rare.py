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

Usage: ``python benchmarks/rare.py [--cycles N]`` (default 40,000 cycles per method and row).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.rare.biasing import CycleEstimates, regenerative_estimates  # noqa: E402 (after sys.path)
from sim.rare.markov import InfrastructureChain, stationary  # noqa: E402
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
    args = parser.parse_args()
    header = ("| architecture | exact U | biased estimate | rel. half-width | wall s | biased to ±5% | "
              "crude to ±5% | speed-up | ESS | top cycle |")
    print(header)
    print("|" + " --- |" * 10)
    for name, scenario in rows():
        chain = InfrastructureChain(scenario)
        exact = stationary(chain).unavailability
        wall0 = time.perf_counter()
        biased = regenerative_estimates(chain, args.cycles, seed=1)
        wall = time.perf_counter() - wall0
        crude = regenerative_estimates(chain, args.cycles, seed=2, biasing_probability=None)
        print(_row(name, exact, biased, crude, wall))


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
