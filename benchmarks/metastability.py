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
   retries at once; then the same 1,000 requests/s from 10, 100 and 1,000 clients. Published: N
   retries cost (1 + p + p² + p³)× the load (1 + N at p = 1); a token bucket (capacity 5, a retry
   costs 1, 0.1 deposited — per call in the simulator, per success in the blog's text and here)
   keeps the extra load near its deposit ratio; with many small clients a breaker converges to no
   retries and a bucket stays like N retries for longer. Here a failure with probability p is a
   request that a random load balancer sends to one of the k replicas (of 10) that are down and
   never taken out of its pool, p = k/10: independent, exactly p. Clients are replicas of a tier
   of zero service time whose calls to the service are retried (``[tiers.service.retry]``), each
   replica with its own bucket.
2. A metastable state — happy-simulator's ``examples/metastable_state.py``
   (github.com/adamfilli/happy-simulator, commit a745ef7; ``examples/queuing/`` at ba00464): one
   server, 10 requests/s (exponential service, mean 0.1 s), 9/s, a spike to 20/s from t = 20 s to
   30 s, client timeout 0.5 s, 5 attempts, retry at once; a timed-out request stays in the server's
   queue. Its docstring: stuck at 9/s and 7/s after the spike, recovers at 5/s ("50–70%"). Its own
   run (ba00464, Python 3.13, seed 42; one call updated to the library's current ``Instant`` API)
   printed a queue of 111 before the spike, 1,810 at 35–60 s and 2,920 at 3/s (90–100 s), with 109
   of 860 requests completed: it never recovers. Its arrivals are evenly spaced, outagesim's Poisson.
3. Metafor's example — P. Alvaro, R. Isaacs, R. Majumdar, K.-K. Muniswamy-Reddy, M. Salamati,
   S. Soudjani, "Formal Analysis of Metastable Failures in Software Systems", arXiv 2510.03551
   (2025), and its tool (github.com/mpi-sws-rse/metafor, commit 5355c17, README example): a
   single-threaded server at 10/s, 9.5 requests/s, timeout 3 s, 4 retries, queue of 100, timed-out
   jobs left in the queue. The paper's CTMC for exactly that program (``SingleServerCTMC``, orbit
   20, run for this table): stationary mean queue 96.9 of 100, expected time from a queue of at
   most 30 to at least 90: 10.9 s, and back: 3.3e11 s — once in the high mode it does not recover.
   (At 9.0/s and 8.0/s the same chain gives 2.9e10 s and 2.2e8 s back.)
4. Congestive collapse — M. Brooker's ``simple_collapse_sim/sim.py`` (simulator_example, commit
   6546e60): service 1.0 s + 0.01 s × requests in flight (infinite concurrency), network delay
   Exp(0.1 s) each way, timeout 3 s, 3 attempts, Poisson 40/s with a spike to 80/s from
   t = 20 s to 25 s, 80 s. Published: without backoff, goodput collapses after the spike and does
   not come back; with exponential backoff and full jitter (waits U(0, 20 s), then U(0, 40 s)) it
   does. Its own runs (seeds 0–9, run for this table): 6 of 10 collapse without backoff (goodput
   0/s from t = 40 s to 80 s), 0 of 10 with backoff. Here the network legs are two tiers of
   exponential 0.1 s service and unlimited concurrency around the server.
5. Layered retries — the arithmetic of retries at two layers (Google SRE book, "Handling
   overload"; AWS Builders' Library, "Timeouts, retries and backoff with jitter"): 3 attempts at
   the customer × 3 at the web → payment hop during a payment outage is 9× the payment load; a
   10% retry budget at the hop caps the hop's share near 1.1×, about 3.3× in all.

Two ways of retrying
--------------------
A hop retry (``[tiers.X.retry]``) orphans a timed-out call: it keeps its queue place and the
server still does the work, as in every source here. A customer retry (``[customer]
max_attempts``, ``patience``) withdraws a queued request at the customer's deadline; only work
already in service is orphaned. Rows 2 and 3 run both: the sources' behaviour needs the first.

How outagesim measures
----------------------
Customers are attributed to the measured window ``[warmup, horizon)`` by arrival time, so a
window that starts after the trigger measures only the aftermath. A replication is *stuck* when
its measured goodput (completed checkouts per attempted) is below a stated level; counts of stuck
replications get an exact (Clopper–Pearson) 95% interval. For Metafor's example the incident
timeline (10 s buckets) gives when a replication entered the storm (attempt success rate below
50%) and whether it left it (three buckets in a row at 95% or more).

Usage: ``python benchmarks/metastability.py [--quick] [--only NAME ...] [--workers N]``; about
six minutes on one core (``--quick``: fewer replications, about two minutes).
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


def clients_scenario(p: float, clients: int, control: dict | None = None, horizon: float = 10.0) -> dict:
    """The same 1,000 calls/s from ``clients`` callers (a tier of that many replicas, random balancing),
    each retrying 3 times at once under its own retry control (``control``: the hop's retry keys)."""
    raw = amplification_scenario(p, attempts=1, horizon=horizon)
    raw["scenario"]["name"] = "brooker-clients"
    raw["customer"] = {"max_attempts": 1, "patience": "inf"}
    raw["path"] = {"tiers": ["client", "service"]}
    raw["tiers"] = {"client": {"replicas": clients, "service_time": IMMEDIATE, "load_balancing": "random"},
                    "service": {**raw["tiers"]["service"],
                                "retry": {"attempts": 4, "backoff": IMMEDIATE, **(control or {})}}}
    return raw


DEPOSIT, CAPACITY = 0.1, 5.0  # the "token-bucket" preset: Brooker's adaptive retries


def bucket_load(p: float, clients: int, calls: float) -> float:
    """Expected calls per request, at most, with a bucket per client: retries R ≤ clients × capacity +
    deposit × successes, and successes are (1 − p)(N + R) on average, so
    R/N ≤ (d + clients × capacity / N) / (1 − d) with d = deposit × (1 − p)."""
    d = DEPOSIT * (1.0 - p)
    return 1.0 + (d + clients * CAPACITY / calls) / (1.0 - d)


def bucket_spent_at_most_its_tokens(row: dict, clients: int) -> bool:
    """One replication: retries never exceed the initial tokens plus the deposits of its successes
    (every success completes its request here, so successes = completed checkouts)."""
    n = row["attempted_checkouts"]
    retries = row["calls_per_checkout_service"] * n - n
    return retries <= clients * CAPACITY + DEPOSIT * row["completed_checkouts"] + 1e-6 * n


def token_buckets(ps: Sequence[float] = (0.1, 0.5), clients: Sequence[int] = (10, 100, 1000),
                  replications: int = 4) -> Reproduction:
    """Calls per request with a token bucket per client, for 10, 100 and 1,000 clients at 1,000/s."""
    rows = []
    for n in clients:
        for p in ps:
            r = run(clients_scenario(p, n, {"budget": "token-bucket"}), replications)
            load = r.metrics["calls_per_checkout_service"].mean
            calls = r.metrics["attempted_checkouts"].mean
            rows.append({"clients": n, "p": p, "load": load, "bound": bucket_load(p, n, calls),
                         "retries_3": 1 + p + p**2 + p**3, "success": 1.0 - r.metrics["lost_fraction"].mean,
                         "exact": all(bucket_spent_at_most_its_tokens(x, n) for x in r.per_replication)})
    breakers = []  # outagesim's breaker per client: it refuses first tries too, unlike the source's
    for n in clients:
        raw = clients_scenario(max(ps), n)
        raw["tiers"] = _with_breaker(raw["tiers"])
        r = run(raw, replications)
        breakers.append({"clients": n, "load": r.metrics["calls_per_checkout_service"].mean,
                         "success": 1.0 - r.metrics["lost_fraction"].mean})
    # every replication within its tokens; the few-client load near the deposit ratio, the many-client
    # load nearer N retries
    ok = all(x["exact"] for x in rows)
    few = [x for x in rows if x["clients"] == min(clients) and x["p"] == max(ps)]
    many = [x for x in rows if x["clients"] == max(clients) and x["p"] == max(ps)]
    ok &= bool(few and many) and few[0]["load"] < many[0]["load"]
    shown = "; ".join(f"{x['clients']} clients p={x['p']:g}: {x['load']:.3f}× (bound {x['bound']:.3f}, "
                      f"3 retries {x['retries_3']:.3f}), success {x['success']:.1%}" for x in rows)
    return Reproduction(
        "Brooker 2022, token buckets and client count",
        f"1,000 calls/s from 10/100/1,000 clients, 3 retries, a bucket per client (deposit {DEPOSIT:g} per "
        f"success, retry costs 1, capacity {CAPACITY:g}), 10 s × {replications} replications",
        "the bucket keeps extra load near its deposit ratio; with many small clients it behaves like N "
        "retries for longer (its initial tokens); a per-client breaker of retries converges to no retries",
        f"{shown}. Not modelled: the source's breaker that stops retries only. outagesim's breaker per "
        f"client (opens at 10% failures, refuses first tries too) at p={max(ps):g}: "
        + ", ".join(f"{x['clients']} clients {x['load']:.3f}×, success {x['success']:.1%}" for x in breakers),
        ok, {"rows": rows, "breakers": breakers})


def _with_breaker(tiers: dict) -> dict:
    """The service with a 10% breaker per caller replica (min 1 call, 10 s window and open time)."""
    service = {**tiers["service"], "circuit_breaker": {
        "scope": "caller-replica", "failure_rate_threshold": 0.1, "min_calls": 1, "window": "10s",
        "open_duration": "10s"}}
    return {**tiers, "service": service}


# -- 2. happy-simulator's metastable state -----------------------------------------------------
# Two ways to retry in outagesim. A *hop* retry (``[tiers.server.retry]``, called by a client tier
# of zero service time) is the sources' client: a timed-out call is orphaned and keeps its queue
# place, so the server still does the work. A *customer* retry withdraws the queued request at
# the customer's deadline (only work already in service is orphaned).
SERVER = {"service_time": "100ms", "concurrency": 1}


def _retrying(raw: dict, attempts: int, timeout: float, hop: bool, server: dict) -> dict:
    """``raw`` with one server retried ``attempts`` times after ``timeout`` s, at once."""
    if hop:
        raw["customer"] = {"max_attempts": 1, "patience": "inf"}
        raw["path"] = {"tiers": ["client", "server"]}
        raw["tiers"] = {"client": {"service_time": IMMEDIATE},
                        "server": {**server, "retry": {"attempts": attempts, "timeout": timeout,
                                                        "backoff": IMMEDIATE}}}
    else:
        raw["customer"] = {"max_attempts": attempts, "patience": timeout, "retry_backoff": IMMEDIATE}
        raw["path"] = {"tiers": ["server"]}
        raw["tiers"] = {"server": dict(server)}
    return raw


def happy_scenario(after: float, spike: bool = True, hop: bool = True, horizon: float = 390.0) -> dict:
    """9/s, a 20/s spike from 20 s to 30 s, 9/s again, then ``after``/s from 60 s; measured from 90 s."""
    spikes = [{"start": 60, "duration": horizon, "multiplier": after / 9.0}]
    if spike:
        spikes.insert(0, {"start": 20, "duration": 10, "multiplier": 20.0 / 9.0})
    raw = {"scenario": {"name": "happy-simulator-metastable", "horizon": horizon, "warmup": 90, "seed": 1},
           "traffic": {"arrival_rate": 9.0, "spikes": spikes}}
    return _retrying(raw, 5, 0.5, hop, SERVER)


RECOVERED_LOST = 0.05  # recovered: at most 5% (mean) of checkouts lost (5 failed calls) in the window
SOURCE_RUN = "queue 111 before the spike, 1,810 at 35–60 s, 2,920 at 3/s (90–100 s); 109 of 860 requests done"


def recovery_threshold(rows: list[dict], key: str) -> float | None:
    """The highest load at which it recovered, every lower load recovering too."""
    ok = {x["load"] for x in rows if x[key]["lost"] <= RECOVERED_LOST}
    return max((x for x in ok if all(y["load"] in ok for y in rows if y["load"] <= x)), default=None)


def happy_simulator(loads: Sequence[float] = (9, 7, 5, 3), customer_loads: Sequence[float] = (9, 7, 6, 5, 4),
                    replications: int = 10) -> Reproduction:
    """Lost fraction after the spike at each step-down load, both ways of retrying, and a no-spike control."""
    rows, customer_rows = [], []
    for load in loads:  # the sources' semantics: orphaned calls keep their queue place
        r = run(happy_scenario(load), replications)
        lost = r.metrics["lost_fraction"]
        rows.append({"load": load, "hop": {"lost": lost.mean, "ci": (lost.ci_low, lost.ci_high)}})
    for load in customer_loads:  # customers withdraw a queued request at their deadline
        row = {"load": load}
        for spike in (True, False):
            lost = run(happy_scenario(load, spike, hop=False), replications).metrics["lost_fraction"]
            row["spike" if spike else "control"] = {"lost": lost.mean, "ci": (lost.ci_low, lost.ci_high)}
        customer_rows.append(row)
    # with orphaned work, the backlog only shrinks when every customer's 5 calls fit: 5λ < 10/s
    drain = [run(happy_scenario(load, horizon=1200.0) | {"scenario": {
        "name": "happy-simulator-drain", "horizon": 1200, "warmup": 900, "seed": 1}}, replications)
        .metrics["lost_fraction"].mean for load in (1.0, 2.5)]
    threshold = recovery_threshold(customer_rows, "spike")
    # reproduced: stuck after the spike at every step-down load, as the source's own run is
    ok = all(x["hop"]["ci"][0] > 0.5 for x in rows) and drain[0] <= RECOVERED_LOST and drain[1] > 0.5
    hop = ", ".join(f"{x['load']:g}/s {x['hop']['lost']:.0%}" for x in rows)
    cust = ", ".join(f"{x['load']:g}/s {x['spike']['lost']:.1%} (no spike {x['control']['lost']:.1%})"
                     for x in customer_rows)
    return Reproduction(
        "happy-simulator metastable_state.py",
        "1 server 10/s (Exp 0.1 s), 9/s, 20/s for 20–30 s, timeout 0.5 s, 5 attempts at once; step-down "
        f"load from 60 s, lost checkouts 90–390 s, {replications} replications",
        "docstring: stuck at 9/s and 7/s after the spike, recovers at 5/s (threshold 50–70%); its own run "
        f"(seed 42): {SOURCE_RUN} — it never recovers",
        f"orphaned calls keep their queue place (as in the source): lost {hop}; recovers only below "
        f"10/5 = 2/s (1/s: {drain[0]:.0%}, 2.5/s: {drain[1]:.0%} lost at 900–1200 s). Customers withdrawing "
        f"queued requests at the timeout: lost {cust}; threshold {_load(threshold)}, the same without the "
        "spike (Poisson arrivals at 9/s storm unprovoked; the source's are evenly spaced)",
        ok, {"rows": rows, "customer_rows": customer_rows, "threshold": threshold, "drain": drain})


def _load(threshold: float | None) -> str:
    return "none" if threshold is None else f"{threshold:g}/s = {threshold / 10:.0%} of capacity"


# -- 3. Metafor's example ----------------------------------------------------------------------
CTMC_LOW_TO_HIGH_S = 10.9  # Metafor SingleServerCTMC, README example: queue <= 30 to >= 90
CTMC_HIGH_TO_LOW_S = 3.3e11  # and back


def metafor_scenario(rate: float = 9.5, horizon: float = 3600.0, hop: bool = True) -> dict:
    """Metafor's README program: one thread at 10/s, 9.5/s, timeout 3 s, 4 retries, queue 100."""
    raw = {"scenario": {"name": "metafor-single-server", "horizon": horizon, "seed": 1},
           "traffic": {"arrival_rate": rate}}
    return _retrying(raw, 5, 3.0, hop, {**SERVER, "queue_limit": 100})


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


def storms(raw: dict, replications: int) -> dict:
    """Entry times, recoveries and a 95% lower bound on the mean recovery time over replications."""
    horizon = float(raw["scenario"]["horizon"])
    r = run(raw, replications, timelines=True)
    entries, recoveries, stuck_s = [], 0, 0.0
    for tl in r.timelines:
        entered, left = storm_episode(tl["success_rate"], tl["bucket_s"])
        if entered is not None:
            entries.append(entered)
            recoveries += left is not None
            stuck_s += (left if left is not None else horizon) - entered
    # no recovery in stuck_s seconds of storm: the mean time to recover is at least this (95%)
    bound = 1.0 / poisson_upper_bound(recoveries, stuck_s) if stuck_s > 0 else math.nan
    return {"entries_s": sorted(entries), "recoveries": recoveries, "stuck_s": stuck_s,
            "recovery_bound_s": bound, "replications": replications}


def metafor(replications: int = 4, horizon: float = 3600.0) -> Reproduction:
    """Time to enter the storm from an empty system, recoveries, and a bound on the recovery time."""
    hop = storms(metafor_scenario(horizon=horizon), replications)
    customer = storms(metafor_scenario(horizon=horizon, hop=False), replications)
    ok = all(len(x["entries_s"]) == replications and x["recoveries"] == 0 for x in (hop, customer))

    def said(x: dict) -> str:
        after = ", ".join(f"{e:g}" for e in x["entries_s"])
        return (f"storm in {len(x['entries_s'])}/{replications} after {after} s, {x['recoveries']} "
                f"recoveries in {x['stuck_s']:,.0f} s of storm: mean recovery >= "
                f"{x['recovery_bound_s']:,.0f} s (95%)")

    return Reproduction(
        "Metafor (arXiv 2510.03551), README example",
        f"1 thread 10/s (Exp), 9.5/s Poisson, timeout 3 s, 4 retries at once, queue 100; {horizon:g} s × "
        f"{replications} replications from empty",
        f"CTMC: high mode (queue >= 90) reached from <= 30 in {CTMC_LOW_TO_HIGH_S:g} s; recovery "
        f"{CTMC_HIGH_TO_LOW_S:.1e} s (never); stationary queue 96.9/100",
        f"orphaned calls keep their queue place (as in the source): {said(hop)}. Customers withdrawing "
        f"queued requests: {said(customer)}. The CTMC bounds timeouts from above (Chebyshev), hence its "
        "faster entry",
        ok, {"hop": hop, "customer": customer})


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


# -- 5. layered retries ------------------------------------------------------------------------
def layered_scenario(budget: object = None, hop: bool = True) -> dict:
    """Customers (3 attempts) → web → payment (3 tries per call), payment failing every call."""
    payment: dict = {"replicas": 2, "service_time": "200ms", "concurrency": 20, "failover_delay": "1h"}
    if hop:
        payment["retry"] = {"attempts": 3, "timeout": "2s", "backoff": "100ms"}
        if budget is not None:
            payment["retry"]["budget"] = budget
    return {
        "scenario": {"name": "layered-retries", "horizon": 600, "warmup": 300, "seed": 1},
        "traffic": {"arrival_rate": 20.0},
        "customer": {"max_attempts": 3, "retry_backoff": "5s", "patience": "30s"},
        "path": {"tiers": ["web", "payment"]},
        "tiers": {"web": {"replicas": 2, "service_time": "50ms", "concurrency": 50}, "payment": payment},
        # payment errors on every call from 300 s (its load balancer never takes the replicas out)
        "outages": [{"tier": "payment", "start": 300, "duration": "1h"}],
    }


BUDGET_10 = {"kind": "finagle", "ratio": 0.1, "min_per_s": 0}  # 10% of requests, no floor, 10 s TTL


def layered(replications: int = 4) -> Reproduction:
    """Payment calls per checkout during the outage: customer retries alone, ×3 at the hop, a 10% budget."""
    out = {}
    for name, raw in [("customer", layered_scenario(hop=False)), ("hop", layered_scenario()),
                      ("budget", layered_scenario(BUDGET_10)), ("finagle", layered_scenario("finagle"))]:
        m = run(raw, replications).metrics["calls_per_checkout_payment"]
        out[name] = {"mean": m.mean, "ci": (m.ci_low, m.ci_high)}
    # Finagle's default per caller (2 web replicas): 3 first tries + 20% of them + 2 × 10/s over 20/s
    out["finagle_expected"] = 3.0 * 1.2 + 2 * 10.0 / 20.0
    ok = (math.isclose(out["customer"]["mean"], 3.0) and math.isclose(out["hop"]["mean"], 9.0)
          and 3.0 < out["budget"]["mean"] <= 3.3 + 1e-9)
    return Reproduction(
        "Layered retries (3 × 3)",
        f"20 checkouts/s, web×2 → payment×2 erroring on every call, 3 customer attempts, 3 tries per hop "
        f"call, measured during the outage, {replications} replications",
        "up to 9× payment load; a 10% hop budget caps the hop near 1.1×, about 3.3× in all",
        f"customer retries alone {out['customer']['mean']:.3f}×; with hop retries {out['hop']['mean']:.3f}×; "
        f"10% budget {out['budget']['mean']:.3f}× "
        f"[{out['budget']['ci'][0]:.3f}, {out['budget']['ci'][1]:.3f}]; "
        f"Finagle's default (20% + 10/s per web replica) {out['finagle']['mean']:.3f}× "
        f"(expected {out['finagle_expected']:.2f}×)",
        ok, out)


# -- the table ---------------------------------------------------------------------------------
REPRODUCTIONS: dict[str, Callable[[bool], Reproduction]] = {
    "amplification": lambda quick: amplification(replications=5 if quick else 10),
    "token-buckets": lambda quick: token_buckets(replications=2 if quick else 4),
    "happy-simulator": lambda quick: happy_simulator(replications=5 if quick else 10),
    "metafor": lambda quick: metafor(replications=2 if quick else 4, horizon=1800 if quick else 3600),
    "collapse": lambda quick: collapse(replications=10 if quick else 20),
    "layered": lambda quick: layered(replications=2 if quick else 4),
}


def main(argv: Sequence[str] | None = None) -> int:
    global WORKERS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer replications (noisier figures)")
    parser.add_argument("--only", nargs="*", choices=sorted(REPRODUCTIONS), help="run only these")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per run (default 1)")
    parser.add_argument("--markdown", action="store_true", help="also print the rows as one Markdown table")
    args = parser.parse_args(argv)
    WORKERS = args.workers
    done = []
    for name in args.only or REPRODUCTIONS:
        t0 = time.perf_counter()
        rep = REPRODUCTIONS[name](args.quick)
        done.append(rep)
        print(f"## {rep.source}  [{'REPRODUCED' if rep.reproduced else 'NOT REPRODUCED'}, "
              f"{time.perf_counter() - t0:.0f} s]")
        print(f"  configuration: {rep.configuration}")
        print(f"  published:     {rep.published}")
        print(f"  outagesim:     {rep.outagesim}\n", flush=True)
    if args.markdown:
        print("| source | configuration | published | outagesim | reproduced |")
        print("| --- | --- | --- | --- | --- |")
        for rep in done:
            verdict = "yes" if rep.reproduced else "no"
            cells = (rep.source, rep.configuration, rep.published, rep.outagesim, verdict)
            print("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return 1 if any(not rep.reproduced for rep in done) else 0


if __name__ == "__main__":
    sys.exit(main())
