"""Retry storms and metastable failures, checked against published results.

Each reproduction uses its source's configuration and prints one row: source, configuration,
the published outcome and outagesim's, with numbers. Where a number on the published side was not
printed by the source itself, the row says where it comes from (running the source's own
simulator or Markov chain, outside this project, at the commit named below).

Sources
-------
1. Retry amplification — M. Brooker, "Fixing retries with token buckets and circuit breakers"
   (blog, 28 Feb 2022, brooker.co.za/blog/2022/02/28/retries.html) and its simulator
   (github.com/mbrooker/simulator_example, ``retry_sim/``, commit 7aa858b): 100 clients × 10
   requests/s, every call fails independently with probability p (p from 0 to 0.5), N = 3
   retries; then the same 1,000 requests/s from 10, 100 and 1,000 clients. Published: N retries
   cost (1 + p + p² + p³)× the load (1 + N at p = 1); a token bucket (a success deposits 0.1, a
   retry costs 1, capacity 5) keeps the extra load near its deposit ratio; with many small
   clients a breaker converges to no retries, a bucket to N retries for longer. Here a failure
   with probability p is a request that a random load balancer sends to one of the k replicas
   (of 10) that are down and never taken out of its pool, p = k/10: independent, exactly p.
2. A metastable state — happy-simulator's ``examples/metastable_state.py``
   (github.com/adamfilli/happy-simulator, commit a745ef7): one server, 10 requests/s
   (exponential service, mean 0.1 s), 9/s, a spike to 20/s from t = 20 s to 30 s, client timeout
   0.5 s, 5 attempts, retry at once. Published: the server stays overloaded at 9/s after the
   spike and at 7/s; it recovers at 5/s (the "50–70%" recovery threshold). Difference: its
   arrivals are evenly spaced (``ConstantArrivalTimeProvider``), outagesim's are Poisson.
3. Metafor's example — P. Alvaro, R. Isaacs, R. Majumdar, K.-K. Muniswamy-Reddy, M. Salamati,
   S. Soudjani, "Formal Analysis of Metastable Failures in Software Systems", arXiv 2510.03551
   (2025), and its tool (github.com/mpi-sws-rse/metafor, commit 5355c17, README example): a
   single-threaded server at 10/s, 9.5 requests/s, timeout 3 s, 4 retries, queue of 100. The
   paper's CTMC for exactly that program (``SingleServerCTMC``, orbit 20, run for this table):
   stationary mean queue 96.9 of 100, expected time from a queue of at most 30 to at least 90:
   10.9 s, and back: 3.3e11 s — once in the high mode it does not recover.
4. Congestive collapse — M. Brooker's ``simple_collapse_sim/sim.py`` (simulator_example, commit
   6546e60): service 1.0 s + 0.01 s × requests in flight (infinite concurrency), network delay
   Exp(0.1 s) each way, timeout 3 s, 3 attempts, Poisson 40/s with a spike to 80/s from
   t = 20 s to 25 s, 80 s. Published: without backoff, goodput collapses after the spike and does
   not come back; with exponential backoff and full jitter (waits U(0, 20 s), then U(0, 40 s)) it
   does. Its own runs (seeds 0–9, run for this table): 6 of 10 collapse without backoff (goodput
   0/s from t = 40 s to 80 s), 0 of 10 with backoff.
5. Layered retries — the arithmetic of retries at two layers (e.g. Google SRE book, "Handling
   overload"; AWS Builders' Library, "Timeouts, retries and backoff with jitter"): 3 attempts at
   the customer × 3 at the web → payment hop during a payment outage is 9× the payment load; a
   10% retry budget at the hop caps the hop's share near 1.1×, about 3.3× in all.

How outagesim measures
----------------------
Customers are attributed to the measured window ``[warmup, horizon)`` by arrival time, so a
window that starts after the trigger measures only the aftermath. A replication is *stuck* when
its measured goodput (completed checkouts per attempted) is below a stated level; counts of stuck
replications get an exact (Clopper–Pearson) 95% interval. For Metafor's example the incident
timeline (10 s buckets) gives when a replication entered the storm (attempt success rate below
50%) and whether it left it (three buckets in a row at 95% or more).

Usage: ``python benchmarks/metastability.py [--quick] [--only NAME ...] [--workers N]``; about
three minutes on two cores (``--quick``: fewer replications, about one minute).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sim
from sim.scenario import scenario_from_dict
from sim.stats.intervals import poisson_upper_bound

IMMEDIATE = {"dist": "deterministic", "value": 0}  # retry at once, as every source here does
WORKERS = 1


@dataclass
class Reproduction:
    """One source's row of the table, with the numbers behind outagesim's outcome."""

    source: str
    configuration: str
    published: str
    outagesim: str = ""
    reproduced: bool = False
    numbers: dict = field(default_factory=dict)


def run(raw: dict, replications: int, seed: int = 1, timelines: bool = False):
    """``sim.run`` of a TOML-shaped scenario dict."""
    scenario = scenario_from_dict(raw, source=f"<{raw['scenario']['name']}>")
    return sim.run(scenario, replications=replications, seed=seed, workers=WORKERS, timelines=timelines)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided interval of a binomial proportion k/n."""
    a = (1.0 - confidence) / 2.0
    low = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1.0 - a, k + 1, n - k))
    return low, high


def _fraction(k: int, n: int) -> str:
    low, high = clopper_pearson(k, n)
    return f"{k}/{n} [{low:.2f}, {high:.2f}]"


# -- 1. retry amplification (Brooker 2022) -----------------------------------------------------
FAILING_OF = 10  # replicas of the failing service; k of them down gives p = k / 10


def amplification_scenario(p: float, attempts: int = 4, horizon: float = 10.0) -> dict:
    """1,000 calls/s (100 clients × 10/s) to a service that fails each call with probability p."""
    k = round(p * FAILING_OF)
    if not math.isclose(k / FAILING_OF, p):
        raise ValueError(f"p must be a multiple of 1/{FAILING_OF}, got {p}")
    raw = {
        "scenario": {"name": "brooker-amplification", "horizon": horizon, "seed": 1},
        "traffic": {"arrival_rate": 1000.0},
        "customer": {"max_attempts": attempts, "patience": "inf", "retry_backoff": IMMEDIATE},
        "path": {"tiers": ["service"]},
        # random balancing over 10 replicas, k down and never ejected (failover_delay > horizon)
        "tiers": {"service": {"replicas": FAILING_OF, "service_time": "10ms", "load_balancing": "random",
                              "failover_delay": "1d"}},
    }
    if k:
        raw["outages"] = [{"tier": "service", "start": 0, "duration": "1d", "replicas": k}]
    return raw


def amplification(ps: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0), replications: int = 10
                  ) -> Reproduction:
    """Load per call with N = 3 retries against the exact 1 + p + p² + p³."""
    rows, inside = [], True
    for p in ps:
        r = run(amplification_scenario(p), replications)
        m = r.metrics["retry_load_factor"]
        exact = 1 + p + p**2 + p**3
        ok = m.ci_low <= exact <= m.ci_high if m.ci_low < m.ci_high else math.isclose(m.mean, exact)
        inside &= ok
        rows.append({"p": p, "exact": exact, "mean": m.mean, "ci": (m.ci_low, m.ci_high), "inside": ok,
                     "lost_fraction": r.metrics["lost_fraction"].mean})
    shown = ", ".join(f"p={x['p']:g}: {x['mean']:.3f}× (exact {x['exact']:.3f})" for x in rows)
    return Reproduction(
        "Brooker 2022, retry amplification",
        "1,000 calls/s, failure probability p, 4 attempts (N = 3), retry at once, 10 s × "
        f"{replications} replications",
        "load (1 + p + p² + p³)×: 1.875× at p = 0.5, 4× at p = 1",
        f"{shown}; every exact value inside the 95% interval: {inside}",
        inside, {"rows": rows})


# -- 2. happy-simulator's metastable state -----------------------------------------------------
def happy_scenario(after: float, spike: bool = True) -> dict:
    """9/s, a 20/s spike from 20 s to 30 s, 9/s again, then ``after``/s from 60 s; measured 90–390 s."""
    spikes = [{"start": 60, "duration": 330, "multiplier": after / 9.0}]
    if spike:
        spikes.insert(0, {"start": 20, "duration": 10, "multiplier": 20.0 / 9.0})
    return {
        "scenario": {"name": "happy-simulator-metastable", "horizon": 390, "warmup": 90, "seed": 1},
        "traffic": {"arrival_rate": 9.0, "spikes": spikes},
        "customer": {"max_attempts": 5, "patience": 0.5, "retry_backoff": IMMEDIATE},
        "path": {"tiers": ["server"]},
        "tiers": {"server": {"service_time": "100ms", "concurrency": 1}},
    }


RECOVERED_LOST = 0.05  # recovered: at most 5% of checkouts lost (5 timeouts in a row) in the window


def happy_simulator(loads: Sequence[float] = (9, 8, 7, 6, 5, 4, 3), replications: int = 20) -> Reproduction:
    """Lost fraction after the spike at each step-down load; the recovery threshold; a no-spike control."""
    rows = []
    for load in loads:
        row = {"load": load}
        for spike in (True, False):
            r = run(happy_scenario(load, spike), replications)
            lost = r.metrics["lost_fraction"]
            row["spike" if spike else "control"] = {"lost": lost.mean, "ci": (lost.ci_low, lost.ci_high),
                                                    "attempts": r.metrics["retry_load_factor"].mean}
        rows.append(row)
    recovered = [x["load"] for x in rows if x["spike"]["lost"] <= RECOVERED_LOST]
    threshold = max((x for x in recovered if all(y in recovered for y in loads if y <= x)), default=None)
    by = {x["load"]: x for x in rows}
    stuck_9 = by[9]["spike"]["lost"] if 9 in by else math.nan
    ok = (threshold is not None and 5 <= threshold <= 7 and stuck_9 > 0.5
          and all(by[x]["spike"]["lost"] > RECOVERED_LOST for x in (7, 9) if x in by))
    shown = "; ".join(f"{x['load']:g}/s: lost {x['spike']['lost']:.1%} (no spike {x['control']['lost']:.1%})"
                      for x in rows)
    return Reproduction(
        "happy-simulator metastable_state.py",
        "1 server 10/s (Exp 0.1 s), 9/s, 20/s for 20–30 s, timeout 0.5 s, 5 attempts at once; "
        f"step-down load from 60 s, measured 90–390 s, {replications} replications",
        "stuck at 9/s and 7/s after the spike, recovers at 5/s: threshold 50–70% of capacity",
        f"{shown}. Recovery threshold (lost <= {RECOVERED_LOST:.0%}): {_load(threshold)}. Without the "
        "spike the same: with Poisson arrivals 9/s falls into the storm within ~10–40 s unprovoked "
        "(the source's arrivals are evenly spaced)",
        ok, {"rows": rows, "threshold": threshold})


def _load(threshold: float | None) -> str:
    return "none" if threshold is None else f"{threshold:g}/s = {threshold / 10:.0%} of capacity"


# -- 3. Metafor's example ----------------------------------------------------------------------
CTMC_LOW_TO_HIGH_S = 10.9  # Metafor SingleServerCTMC, README example: queue <= 30 to >= 90
CTMC_HIGH_TO_LOW_S = 3.3e11  # and back


def metafor_scenario(rate: float = 9.5, horizon: float = 3600.0) -> dict:
    """Metafor's README program: one thread at 10/s, 9.5/s, timeout 3 s, 4 retries, queue 100."""
    return {
        "scenario": {"name": "metafor-single-server", "horizon": horizon, "seed": 1},
        "traffic": {"arrival_rate": rate},
        "customer": {"max_attempts": 5, "patience": 3.0, "retry_backoff": IMMEDIATE},
        "path": {"tiers": ["server"]},
        "tiers": {"server": {"service_time": "100ms", "concurrency": 1, "queue_limit": 100}},
    }


STORM_BELOW = 0.5  # a bucket is in the storm when fewer than half of its attempts succeed
RECOVERED_AT = 0.95  # and the storm is over after 3 buckets in a row with 95% or more


def storm_episode(success_rate: Sequence[float], bucket_s: float) -> tuple[float | None, float | None]:
    """When a replication entered the storm and when it left it (None: never)."""
    rates = [1.0 if x is None or (isinstance(x, float) and math.isnan(x)) else x for x in success_rate]
    entered = next((i for i, x in enumerate(rates) if x < STORM_BELOW), None)
    if entered is None:
        return None, None
    for i in range(entered, len(rates) - 2):
        if all(x >= RECOVERED_AT for x in rates[i:i + 3]):
            return entered * bucket_s, i * bucket_s
    return entered * bucket_s, None


def metafor(replications: int = 4, horizon: float = 3600.0) -> Reproduction:
    """Time to enter the storm from an empty system, recoveries, and a bound on the recovery time."""
    r = run(metafor_scenario(horizon=horizon), replications, timelines=True)
    entries, recoveries, stuck_s = [], 0, 0.0
    for tl in r.timelines:
        entered, left = storm_episode(tl["success_rate"], tl["bucket_s"])
        if entered is not None:
            entries.append(entered)
            recoveries += left is not None
            stuck_s += (left if left is not None else horizon) - entered
    # with no recovery in stuck_s seconds of storm, a 95% lower bound on the mean time to recover
    bound = 1.0 / poisson_upper_bound(recoveries, stuck_s) if stuck_s > 0 else math.nan
    ok = len(entries) == replications and recoveries == 0
    return Reproduction(
        "Metafor (arXiv 2510.03551), README example",
        f"1 thread 10/s (Exp), 9.5/s Poisson, timeout 3 s, 4 retries at once, queue 100; {horizon:g} s × "
        f"{replications} replications from empty",
        f"CTMC: high mode (queue >= 90) reached from <= 30 in {CTMC_LOW_TO_HIGH_S:g} s; recovery "
        f"{CTMC_HIGH_TO_LOW_S:.1e} s (never); stationary queue 96.9/100",
        f"entered the storm in {len(entries)}/{replications} replications after "
        f"{', '.join(f'{x:g}' for x in sorted(entries))} s; recovered {recoveries} times in {stuck_s:,.0f} s "
        f"of storm: mean recovery time >= {bound:,.0f} s (95%)",
        ok, {"entries_s": entries, "recoveries": recoveries, "stuck_s": stuck_s, "recovery_bound_s": bound})


# -- 4. congestive collapse (Brooker's simple_collapse_sim) ------------------------------------
def collapse_scenario(backoff: bool, spike: bool = True) -> dict:
    """40/s with an 80/s spike at 20–25 s; measured 40–80 s (the source's figure's right half)."""
    customer: dict = {"max_attempts": 3, "patience": 3.0}
    if backoff:  # waits U(0, 20 s), then U(0, 40 s): the source's 10 s doubled before each retry
        customer.update(backoff_policy="exponential-full-jitter", retry_backoff={"dist": "deterministic",
                                                                                 "value": 20})
    else:
        customer["retry_backoff"] = IMMEDIATE
    return {
        "scenario": {"name": "brooker-congestive-collapse", "horizon": 80, "warmup": 40, "seed": 1},
        "traffic": {"arrival_rate": 40.0, "spikes": [{"start": 20, "duration": 5, "multiplier": 2.0}] if spike
                    else []},
        "customer": customer,
        "path": {"tiers": ["request-network", "server", "response-network"]},
        "tiers": {
            "request-network": {"service_time": "100ms"},
            "server": {"service_time": {"dist": "deterministic", "value": 1.0},
                       "service_time_per_in_flight": 0.01},
            "response-network": {"service_time": "100ms"},
        },
    }


COLLAPSED_BELOW = 0.5  # collapsed: fewer than half of the window's checkouts complete
SOURCE_COLLAPSED = (6, 10)  # the source's own runs (seeds 0-9): no backoff
SOURCE_COLLAPSED_BACKOFF = (0, 10)


def collapse(replications: int = 20) -> Reproduction:
    """Replications that collapse after the spike, without and with backoff, beside the source's runs."""
    counts = {}
    for backoff in (False, True):
        r = run(collapse_scenario(backoff), replications)
        done = [1.0 - x["lost_fraction"] for x in r.per_replication]
        counts[backoff] = sum(x < COLLAPSED_BELOW for x in done)
    control = run(collapse_scenario(False, spike=False), replications)
    calm = sum(1.0 - x["lost_fraction"] < COLLAPSED_BELOW for x in control.per_replication)
    n = replications
    low, high = clopper_pearson(counts[False], n)
    src_low, src_high = clopper_pearson(*SOURCE_COLLAPSED)
    ok = counts[True] == 0 and calm == 0 and counts[False] > 0 and low <= src_high and src_low <= high
    return Reproduction(
        "Brooker simple_collapse_sim",
        f"service 1 s + 0.01 s × in flight, net Exp(0.1 s) each way, timeout 3 s, 3 attempts, 40/s, 80/s at "
        f"20–25 s; measured 40–80 s, {n} replications",
        f"collapse without backoff: source's runs {_fraction(*SOURCE_COLLAPSED)}; with backoff+jitter "
        f"{_fraction(*SOURCE_COLLAPSED_BACKOFF)}",
        f"collapsed without backoff {_fraction(counts[False], n)}, with backoff+jitter "
        f"{_fraction(counts[True], n)}, without the spike {_fraction(calm, n)}",
        ok, {"collapsed": counts[False], "collapsed_backoff": counts[True], "collapsed_no_spike": calm,
             "n": n})


# -- the table ---------------------------------------------------------------------------------
REPRODUCTIONS: dict[str, Callable[[bool], Reproduction]] = {
    "amplification": lambda quick: amplification(replications=5 if quick else 10),
    "happy-simulator": lambda quick: happy_simulator(replications=8 if quick else 20),
    "metafor": lambda quick: metafor(replications=2 if quick else 4, horizon=1800 if quick else 3600),
    "collapse": lambda quick: collapse(replications=10 if quick else 20),
}


def main(argv: Sequence[str] | None = None) -> int:
    global WORKERS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer replications (noisier figures)")
    parser.add_argument("--only", nargs="*", choices=sorted(REPRODUCTIONS), help="run only these")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per run (default 1)")
    args = parser.parse_args(argv)
    WORKERS = args.workers
    failed = 0
    for name in args.only or REPRODUCTIONS:
        t0 = time.perf_counter()
        rep = REPRODUCTIONS[name](args.quick)
        failed += not rep.reproduced
        print(f"## {rep.source}  [{'REPRODUCED' if rep.reproduced else 'NOT REPRODUCED'}, "
              f"{time.perf_counter() - t0:.0f} s]")
        print(f"  configuration: {rep.configuration}")
        print(f"  published:     {rep.published}")
        print(f"  outagesim:     {rep.outagesim}\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
