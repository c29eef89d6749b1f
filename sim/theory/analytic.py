"""Closed-form and Markov-chain results the simulator is validated against.

Every function here solves a model simple enough to have an exact answer (exponential lifetimes
and repairs, Poisson arrivals, instant service) so that validation tests can check that the
simulator, run on the same simplified scenario, lands within its confidence interval of the
theory, and so reports can show the textbook number beside the simulated one. Only numpy and
scipy are used; nothing here knows about SimPy or scenarios.

Sources cited in the docstrings:

- [Trivedi] K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and Computer
  Science Applications*, 2nd ed., Wiley 2002 (birth-death chains, k-out-of-n systems, M/M/c).
- [Ross] S. M. Ross, *Introduction to Probability Models*, 12th ed., Academic Press 2019
  (alternating renewal processes, system failure frequency, PASTA).
- [Kleinrock] L. Kleinrock, *Queueing Systems, Vol. 1: Theory*, Wiley 1975 (Erlang B/C, M/M/c/K).
- [Gross] D. Gross et al., *Fundamentals of Queueing Theory*, 5th ed., Wiley 2018 (Little's law,
  M/M/c waiting-time distribution).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "MMcResult",
    "TierAvailability",
    "deferred_with_retries",
    "erlang_b",
    "erlang_c",
    "k_out_of_n",
    "littles_law_l",
    "lost_fraction_unavailable",
    "lost_in_outage",
    "lost_with_retries",
    "mm1k_blocking",
    "mmc",
    "mmck_blocking",
    "parallel",
    "series",
]


# --------------------------------------------------------------------------- availability


@dataclass(frozen=True)
class TierAvailability:
    """Long-run up/down behaviour of a component (a tier, or a composition of tiers).

    ``mean_outage_s`` is ``nan`` and ``mean_uptime_s`` is ``inf`` when the component never goes
    down (``outage_rate_per_s == 0``): the mean of an empty set of outages is undefined, and
    reporting it as 0 would read as "outages happen but are instant".
    ``state_probabilities[j]`` is the long-run probability that j replicas are failed; it is
    empty for compositions (:func:`series`, :func:`parallel`).
    """

    availability: float  # long-run fraction of time the component is up
    mean_outage_s: float  # mean length of one down period
    mean_uptime_s: float  # mean length of one up period
    outage_rate_per_s: float  # long-run number of up -> down transitions per second
    state_probabilities: tuple[float, ...] = ()
    down_fraction: float = math.nan  # the down-state probabilities summed directly (nan: not known)

    @property
    def unavailability(self) -> float:
        """Long-run fraction of time the component is down.

        The directly summed ``down_fraction`` when known: 1 - availability keeps only
        ~16 - |log10 U| significant digits, none at all below U = 1e-16.
        """
        return 1.0 - self.availability if math.isnan(self.down_fraction) else self.down_fraction


def _from_rates(availability: float, down: float, rate: float, probs: tuple[float, ...]) -> TierAvailability:
    """Mean up/down periods from the long-run ratio P / frequency ([Ross] ch. 7, renewal-reward)."""
    if rate > 0.0:
        return TierAvailability(availability, down / rate, availability / rate, rate, probs, down)
    return TierAvailability(availability, math.nan, math.inf, 0.0, probs, down)


def _birth_death_stationary(birth: Sequence[float], death: Sequence[float]) -> np.ndarray:
    """Stationary distribution of a finite birth-death chain on states 0..len(birth).

    ``birth[j]`` is the rate j -> j+1 and ``death[j]`` the rate j+1 -> j (all deaths > 0).
    Uses detailed balance, π_{j+1} = π_j·λ_j/μ_{j+1} ([Trivedi] ch. 8), in log space so long
    chains with very unequal rates neither overflow nor underflow before normalising.
    """
    with np.errstate(divide="ignore"):  # a zero birth rate makes the states above it unreachable
        log_ratio = np.log(np.asarray(birth, dtype=float)) - np.log(np.asarray(death, dtype=float))
    log_unnormalised = np.concatenate(([0.0], np.cumsum(log_ratio)))
    return np.exp(log_unnormalised - special.logsumexp(log_unnormalised))


def k_out_of_n(
    n: int, k: int, mtbf_s: float, mttr_s: float, repair_crews: float = math.inf
) -> TierAvailability:
    """Availability of a tier that is up while at least ``k`` of its ``n`` replicas are up.

    Model ([Trivedi] ch. 8, k-out-of-n system with shared repair): replicas fail independently
    after exponential lifetimes of mean ``mtbf_s`` and are repaired after exponential times of
    mean ``mttr_s`` by at most ``repair_crews`` crews at once (``inf``: every failed replica is
    repaired in parallel). The number of failed replicas j is then a birth-death chain with

        λ_j = (n - j)/MTBF,    μ_j = min(j, crews)/MTTR,

    solved by detailed balance. The tier is down in states j > n - k, and it can only enter them
    from j = n - k, at rate k/MTBF, so the frequency of outages and the mean outage are

        f = π_{n-k}·k/MTBF,    mean outage = P(down)/f,    mean uptime = A/f

    (ratio of long-run fraction to long-run frequency, [Ross] ch. 7). ``mtbf_s = inf`` gives
    availability 1, ``outage_rate_per_s = 0`` and ``mean_outage_s = nan`` (see
    :class:`TierAvailability`).
    """
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    if not mtbf_s > 0.0:
        raise ValueError(f"mtbf_s must be > 0 (inf for never), got {mtbf_s}")
    if not 0.0 < mttr_s < math.inf:
        raise ValueError(f"mttr_s must be finite and > 0, got {mttr_s}")
    if not (repair_crews == math.inf or (repair_crews >= 1 and float(repair_crews).is_integer())):
        raise ValueError(f"repair_crews must be a whole number >= 1 or inf, got {repair_crews}")

    birth = [(n - j) / mtbf_s for j in range(n)]
    death = [min(j, repair_crews) / mttr_s for j in range(1, n + 1)]
    probs = _birth_death_stationary(birth, death)
    up_states = n - k + 1  # j = 0 .. n-k
    availability = float(probs[:up_states].sum())
    down = float(probs[up_states:].sum())  # summed directly: 1 - A loses digits when A ≈ 1
    rate = float(probs[n - k]) * k / mtbf_s
    return _from_rates(availability, down, rate, tuple(float(p) for p in probs))


def series(*tiers: TierAvailability) -> TierAvailability:
    """Independent components in series: the system is up iff every component is up.

    A = Π A_i. The system goes down when one component fails while all the others are up, so its
    outage frequency is f = Σ_i f_i·Π_{j≠i} A_j ([Ross] §9.7, frequency of system failure for
    independent alternating components); mean outage = (1 - A)/f and mean uptime = A/f.
    Exact in the long run for any up/down time distributions, given independence.

    Rare regime: U = 1 - Π(1 - U_i) is evaluated as -expm1(Σ log1p(-U_i)) from the components'
    directly summed unavailabilities, so U = 1e-11 keeps full relative precision (1 - Π A_i
    would keep about five digits, and none below 1e-16).
    """
    if not tiers:
        raise ValueError("series() needs at least one component")
    availability = math.prod(t.availability for t in tiers)
    down = -math.expm1(math.fsum(math.log1p(-t.unavailability) for t in tiers))
    rate = 0.0
    for i, tier in enumerate(tiers):
        rate += tier.outage_rate_per_s * math.prod(t.availability for j, t in enumerate(tiers) if j != i)
    return _from_rates(availability, down, rate, ())


def parallel(*tiers: TierAvailability) -> TierAvailability:
    """Independent redundant components: the system is up iff at least one component is up.

    U = Π U_i with U_i = 1 - A_i. The system goes down when the last up component fails, so its
    outage frequency is f = Σ_i f_i·Π_{j≠i} U_j ([Ross] §9.7, as in :func:`series` with up and
    down swapped); mean outage = U/f and mean uptime = (1 - U)/f. Models e.g. active-active
    regions that fail independently.
    """
    if not tiers:
        raise ValueError("parallel() needs at least one component")
    down = math.prod(t.unavailability for t in tiers)
    rate = 0.0
    for i, tier in enumerate(tiers):
        rate += tier.outage_rate_per_s * math.prod(t.unavailability for j, t in enumerate(tiers) if j != i)
    return _from_rates(1.0 - down, down, rate, ())


# --------------------------------------------------------------------------- queues


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of an M/M/c/c loss system (Erlang B formula).

    Offered load a = λ/μ in erlangs. Evaluated with the recursion B(0) = 1,
    B(c) = a·B(c-1)/(c + a·B(c-1)) ([Kleinrock] §3.7), which is stable for thousands of servers
    where the textbook ratio a^c/c! / Σ a^k/k! overflows.
    """
    if servers < 0:
        raise ValueError(f"servers must be >= 0, got {servers}")
    if offered_load < 0.0:
        raise ValueError(f"offered_load must be >= 0, got {offered_load}")
    blocking = 1.0
    for c in range(1, servers + 1):
        blocking = offered_load * blocking / (c + offered_load * blocking)
    return blocking


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival has to wait in an M/M/c queue (Erlang C formula).

    Offered load a = λ/μ < c. Computed from Erlang B as C = c·B/(c - a·(1 - B))
    ([Kleinrock] §3.5), inheriting its numerical stability. Raises ``ValueError`` for a >= c,
    where the queue is unstable and every arrival eventually waits.
    """
    if servers < 1:
        raise ValueError(f"servers must be >= 1, got {servers}")
    if not 0.0 <= offered_load < servers:
        raise ValueError(f"need 0 <= offered_load < servers for a stable queue, got {offered_load}")
    blocking = erlang_b(servers, offered_load)
    return servers * blocking / (servers - offered_load * (1.0 - blocking))


@dataclass(frozen=True)
class MMcResult:
    """Steady-state measures of an M/M/c queue (FCFS, unlimited waiting room), times in seconds."""

    arrival_rate: float  # λ, per second
    service_rate: float  # μ, per second per server
    servers: int  # c
    utilisation: float  # ρ = λ/(cμ), the long-run fraction of busy servers
    p_wait: float  # Erlang C: probability an arrival waits at all
    mean_wait_s: float  # Wq, mean time in queue
    mean_response_s: float  # W = Wq + 1/μ
    mean_in_system: float  # L = λW
    mean_in_queue: float  # Lq = λWq

    def wait_exceeds(self, t_s: float) -> float:
        """P(Wq > t) = C·exp(-(cμ - λ)t) for t >= 0 ([Gross] ch. 2); 1 for t < 0."""
        if t_s < 0.0:
            return 1.0
        return self.p_wait * math.exp(-(self.servers * self.service_rate - self.arrival_rate) * t_s)


def mmc(arrival_rate: float, service_rate: float, servers: int) -> MMcResult:
    """Steady state of the M/M/c queue: Poisson arrivals, exponential service, c servers, FCFS.

    Wq = C/(cμ - λ), W = Wq + 1/μ, and L = λW, Lq = λWq by Little's law ([Gross] ch. 2).
    Raises ``ValueError`` unless λ < cμ.
    """
    if not service_rate > 0.0:
        raise ValueError(f"service_rate must be > 0, got {service_rate}")
    if arrival_rate < 0.0:
        raise ValueError(f"arrival_rate must be >= 0, got {arrival_rate}")
    p_wait = erlang_c(servers, arrival_rate / service_rate)
    mean_wait_s = p_wait / (servers * service_rate - arrival_rate)
    mean_response_s = mean_wait_s + 1.0 / service_rate
    return MMcResult(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=servers,
        utilisation=arrival_rate / (servers * service_rate),
        p_wait=p_wait,
        mean_wait_s=mean_wait_s,
        mean_response_s=mean_response_s,
        mean_in_system=arrival_rate * mean_response_s,
        mean_in_queue=arrival_rate * mean_wait_s,
    )


def mmck_blocking(arrival_rate: float, service_rate: float, servers: int, capacity: int) -> float:
    """Blocking probability of an M/M/c/K queue (c servers, at most K customers in the system).

    By PASTA the blocked fraction equals π_K of the birth-death chain with λ_j = λ and
    μ_j = min(j, c)·μ ([Kleinrock] ch. 3). K = c is Erlang B. Any λ >= 0 is allowed.
    """
    if servers < 1 or capacity < servers:
        raise ValueError(f"need 1 <= servers <= capacity, got servers={servers}, capacity={capacity}")
    if not service_rate > 0.0 or arrival_rate < 0.0:
        raise ValueError(f"need arrival_rate >= 0 and service_rate > 0, got {arrival_rate}, {service_rate}")
    birth = [arrival_rate] * capacity
    death = [min(j, servers) * service_rate for j in range(1, capacity + 1)]
    return float(_birth_death_stationary(birth, death)[-1])


def mm1k_blocking(arrival_rate: float, service_rate: float, capacity: int) -> float:
    """Blocking probability of an M/M/1/K queue: (1 - ρ)ρ^K/(1 - ρ^{K+1}), 1/(K+1) at ρ = 1.

    Closed form from [Kleinrock] §3.6 (ρ = λ/μ); kept beside :func:`mmck_blocking` as the
    single-server case readers recognise.
    """
    if capacity < 1:
        raise ValueError(f"capacity must be >= 1, got {capacity}")
    if not service_rate > 0.0 or arrival_rate < 0.0:
        raise ValueError(f"need arrival_rate >= 0 and service_rate > 0, got {arrival_rate}, {service_rate}")
    rho = arrival_rate / service_rate
    if rho == 0.0:
        return 0.0
    if rho == 1.0:
        return 1.0 / (capacity + 1)
    # -expm1(x) = 1 - e^x keeps digits near ρ = 1; for ρ > 1 dividing through by ρ^K avoids
    # overflowing ρ^K when K is large.
    log_rho = math.log(rho)
    if rho < 1.0:
        return (1.0 - rho) * rho**capacity / -math.expm1((capacity + 1) * log_rho)
    return (rho - 1.0) / (rho * -math.expm1(-(capacity + 1) * log_rho))


def littles_law_l(arrival_rate: float, mean_time_s: float) -> float:
    """Mean number in a system from Little's law, L = λW ([Gross] ch. 1); any stable system."""
    return arrival_rate * mean_time_s


# --------------------------------------------------------------------------- lost customers


def lost_fraction_unavailable(availability: float) -> float:
    """Fraction of customers lost when an attempt fails iff the path is down: 1 - A.

    Assumes Poisson arrivals (PASTA: they see the time-average state, [Ross] ch. 8), instant
    service and no retries, so the lost fraction is just the fraction of time the path is down.
    """
    if not 0.0 <= availability <= 1.0:
        raise ValueError(f"availability must be in [0, 1], got {availability}")
    return 1.0 - availability


def lost_in_outage(arrival_rate: float, outage_s: float) -> float:
    """Expected customers lost in one full outage of length D with no retries: λD.

    Poisson arrivals at rate λ; every arrival during the outage fails and gives up.
    """
    _check_outage(arrival_rate, outage_s)
    return arrival_rate * outage_s


def lost_with_retries(arrival_rate: float, outage_s: float, retries: int, backoff_mean_s: float) -> float:
    """Expected customers lost in one outage window of length D when each customer retries.

    Model: Poisson arrivals at rate λ; the path is down during [0, D) and up otherwise with
    instant service; an attempt fails instantly iff it falls in the window; after a failure the
    customer waits an independent exponential backoff of mean 1/β and tries again, up to
    K = ``retries`` times, then gives up.

    Derivation: a customer arriving at t ∈ [0, D) makes its last attempt at t + S_K, where
    S_K ~ Erlang(K, β) is the sum of its K backoffs; attempt times increase, so it is lost iff
    t + S_K < D. Integrating over the window (Poisson arrivals are uniform in it), with
    F_K the Erlang(K, β) CDF and f_K its density,

        E[lost] = λ ∫_0^D F_K(D - t) dt = λ ∫_0^D F_K(u) du
                = λ [u F_K(u)]_0^D - λ ∫_0^D u f_K(u) du
                = λ [D·F_K(D) - (K/β)·F_{K+1}(D)],

    using u·f_K(u) = (K/β)·f_{K+1}(u). K = 0 gives λD (:func:`lost_in_outage`); a zero backoff
    gives λD too (every retry lands in the window). F_K(u) is the regularised lower incomplete
    gamma function P(K, βu) (Erlang CDF, [Trivedi] ch. 3).
    """
    _check_retries(arrival_rate, outage_s, retries, backoff_mean_s)
    if retries == 0 or backoff_mean_s == 0.0:
        return arrival_rate * outage_s
    x = outage_s / backoff_mean_s  # βD
    return arrival_rate * (
        outage_s * special.gammainc(retries, x) - retries * backoff_mean_s * special.gammainc(retries + 1, x)
    )


def deferred_with_retries(arrival_rate: float, outage_s: float, retries: int, backoff_mean_s: float) -> float:
    """Expected customers who arrive during the outage window but succeed on a retry: λD - lost.

    Same model as :func:`lost_with_retries`. Written as λ[D·(1 - F_K(D)) + (K/β)·F_{K+1}(D)]
    with the upper incomplete gamma for 1 - F_K, so it stays accurate when almost nobody is
    deferred (a long window with few retries).
    """
    _check_retries(arrival_rate, outage_s, retries, backoff_mean_s)
    if retries == 0 or backoff_mean_s == 0.0:
        return 0.0
    x = outage_s / backoff_mean_s
    return arrival_rate * (
        outage_s * special.gammaincc(retries, x) + retries * backoff_mean_s * special.gammainc(retries + 1, x)
    )


def _check_outage(arrival_rate: float, outage_s: float) -> None:
    if arrival_rate < 0.0 or not 0.0 <= outage_s < math.inf:
        raise ValueError(f"need arrival_rate >= 0 and finite outage_s >= 0, got {arrival_rate}, {outage_s}")


def _check_retries(arrival_rate: float, outage_s: float, retries: int, backoff_mean_s: float) -> None:
    _check_outage(arrival_rate, outage_s)
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    if not 0.0 <= backoff_mean_s < math.inf:
        raise ValueError(f"backoff_mean_s must be finite and >= 0, got {backoff_mean_s}")
