"""Speed and memory figures of outagesim, with PASS/FAIL against its targets.

1. Speed: simulated customers per CPU-second of one replication of the built-in baseline on one
   core (median of several repetitions), beside the textbook SimPy model in
   ``shared/reference/naive_simpy.py`` when it exists, and outagesim on that model's workload.
2. Memory: peak RSS of one replication with a 1 h and a 10-day horizon at 1 customer/s, each in
   a fresh process; streaming metrics keep the ratio near 1.

Targets: at least 150,000 customers per CPU-second, memory ratio at most 1.1. Exits 1 when a
target is missed. Usage: ``python benchmarks/run.py [--quick]`` (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from sim.scenario.spec import Scenario

ROOT = Path(__file__).resolve().parent.parent
SPEED_TARGET = 150_000.0  # customers per CPU-second, baseline scenario, one core
MEMORY_RATIO_TARGET = 1.1  # peak RSS of a 10-day horizon / a 1 h horizon
MEMORY_RATE_PER_S = 1.0

# One replication in a fresh interpreter; prints its customers and its own peak RSS (KiB on Linux).
_MEMORY_CHILD = """
import json, resource, sys
from sim.experiment import run_replication
from sim.scenario import load_scenario
scenario = load_scenario(None, {"traffic.arrival_rate": float(sys.argv[1]), "scenario.horizon": sys.argv[2]})
result = run_replication(scenario, 1, 0)
print(json.dumps({"customers": result.customers,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _child_env() -> dict[str, str]:
    """The environment for child interpreters: this source tree importable, installed or not."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def naive_workload() -> dict:
    """The workload of ``naive_simpy.py`` (its defaults in ``common.py``) as a scenario dict.

    λ = 50/s; web 2 replicas × 16 slots, exponential service of mean 0.2 s; payment 2 × 40,
    mean 0.5 s; every replica fails after Exp(1 h) and is repaired after Exp(5 min) (no crew
    limit); patience 5 s; 3 retries (4 attempts) after 1 s·2^(k-1)·U(0.5, 1.5); after each
    failed attempt a customer gives up with probability 0.2. Remaining differences: its patience
    bounds the wait for a slot at each tier (ours bounds the whole attempt), its tiers pool their
    slots in one queue (ours queue per replica behind a load balancer) and a failed server
    finishes its requests in service (ours fail them).
    """
    tier = {"replicas": 2, "mtbf": "1h", "mttr": "5m", "failover_delay": 0, "min_healthy": 1,
            "load_balancing": "least-outstanding"}
    return {
        "scenario": {"name": "naive-workload", "horizon": "2h"},
        "traffic": {"arrival_rate": 50.0},
        "customer": {"max_attempts": 4, "patience": "5s", "abandon_probability": 0.2,
                     "retry_backoff": {"dist": "uniform", "low": 0.5, "high": 1.5},
                     "backoff_policy": "sampled", "backoff_multiplier": 2.0},
        "path": {"tiers": ["web", "payment"]},
        "tiers": {"web": {**tier, "concurrency": 16, "service_time": 0.2},
                  "payment": {**tier, "concurrency": 40, "service_time": 0.5}},
    }


def customers_per_cpu_s(scenario: Scenario, repetitions: int) -> tuple[float, list[float], int]:
    """Median customers per CPU-second over ``repetitions`` replications run in this process."""
    from sim.experiment import run_replication  # imported here: main() sets sys.path first

    rates, customers = [], 0
    for i in range(repetitions):
        result = run_replication(scenario, 1, i)
        rates.append(result.customers / result.cpu_s)
        customers = result.customers
    return statistics.median(rates), rates, customers


def find_reference() -> Path | None:
    """``naive_simpy.py`` in /work/shared/reference or in ../shared/reference beside the repo."""
    for folder in (Path("/work/shared/reference"), ROOT.parent / "shared" / "reference"):
        script = folder / "naive_simpy.py"
        if script.is_file():
            return script
    return None


def run_reference(script: Path, hours: float) -> dict | None:
    """Run the reference model in its own folder; its one-line JSON report, or None on failure."""
    proc = subprocess.run([sys.executable, script.name, "--hours", f"{hours:g}", "--json"], cwd=script.parent,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"  reference failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_memory_kib(horizon: str) -> tuple[int, int]:
    """(peak RSS in KiB, customers) of one baseline replication at 1/s in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, f"{MEMORY_RATE_PER_S:g}", horizon],
                          capture_output=True, text=True, check=True, env=_child_env())
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return int(report["maxrss_kib"]), int(report["customers"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter runs (a smoke test; figures are noisier)")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # run from a source tree without installing
    from sim.scenario import load_scenario, scenario_from_dict  # needs sys.path above

    horizon, repetitions = ("2d", 3) if args.quick else ("12d", 3)
    long_horizon = "2d" if args.quick else "10d"
    reference_hours = 0.5 if args.quick else 2.0
    ok = True

    print(f"outagesim benchmarks{' (--quick)' if args.quick else ''}: python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs\n")
    print("1. Speed (one core, customers simulated per CPU-second)")
    baseline = load_scenario(None, {"scenario.horizon": horizon})
    median, rates, customers = customers_per_cpu_s(baseline, repetitions)
    print(f"  baseline, horizon {horizon}: {customers:,} customers per replication; "
          f"{repetitions} repetitions: {', '.join(f'{r:,.0f}' for r in rates)}")
    speed_ok = median >= SPEED_TARGET
    ok &= speed_ok
    print(f"  median {median:,.0f} customers/CPU-s (target >= {SPEED_TARGET:,.0f})  {_verdict(speed_ok)}")

    script = find_reference()
    if script is None:
        print("  reference naive_simpy.py not found: comparison skipped")
    else:
        report = run_reference(script, reference_hours)
        workload = naive_workload()
        workload["scenario"]["horizon"] = f"{reference_hours:g}h"
        ours, _, ours_customers = customers_per_cpu_s(scenario_from_dict(workload), repetitions)
        if report is not None:
            theirs = report["cust_per_cpu_s"]
            print(f"  same workload, {reference_hours:g} h simulated (λ = 50/s, web 2×16, payment 2×40, "
                  "failures, retries):")
            print(f"    naive SimPy reference: {theirs:>10,.0f} customers/CPU-s "
                  f"({report['customers']:,} customers, {report['cpu_s']:.1f} CPU-s)")
            print(f"    outagesim:             {ours:>10,.0f} customers/CPU-s "
                  f"({ours_customers:,} customers, median of {repetitions})  ×{ours / theirs:.1f}")

    print(f"\n2. Peak memory of one replication at {MEMORY_RATE_PER_S:g} customer/s (fresh process each)")
    short_kib, short_customers = peak_memory_kib("1h")
    long_kib, long_customers = peak_memory_kib(long_horizon)
    ratio = long_kib / short_kib
    memory_ok = ratio <= MEMORY_RATIO_TARGET
    ok &= memory_ok
    for label, kib, n in (("1h", short_kib, short_customers), (long_horizon, long_kib, long_customers)):
        print(f"  horizon {label + ':':<4} {kib / 1024:7.1f} MiB peak RSS ({n:,} customers)")
    print(f"  ratio {ratio:.3f} (target <= {MEMORY_RATIO_TARGET})  {_verdict(memory_ok)}")

    print(f"\n{'all targets met' if ok else 'a target was missed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
