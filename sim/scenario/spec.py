"""The validated, fully resolved scenario: frozen dataclasses the model reads.

Everything here is already valid (see :mod:`sim.scenario` for parsing, validation and the
scenario-file form of these objects) and carries units in its field names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sim.random.distributions import Distribution

ALL_REPLICAS = -1  # an injected outage that takes down every replica of its tier

MODES = ("active-active", "active-passive")
LOAD_BALANCING = ("round-robin", "least-outstanding", "random")
BACKOFF_POLICIES = ("sampled", "exponential-full-jitter", "exponential-equal-jitter", "decorrelated-jitter")
FAILURE_MODES = ("error", "hang")
LOAD_MODELS = ("open", "closed")
BREAKER_SCOPES = ("tier", "caller-replica")
BREAKER_KINDS = ("threshold", "adaptive")
RETRY_SCOPES = ("caller-replica", "tier")

#: Retry control kinds and their parameters with the published defaults (the presets):
#: Finagle's retry budget (20% of requests + 10/s, deposits expire after 10 s), the AWS SDK's
#: retry quota (500 tokens, a retry costs 5, a retry after a timeout 10, a success refunds 1),
#: the token bucket of Brooker's "Fixing retries" (capacity 5, a retry costs 1, a success
#: deposits 0.1) and client-side adaptive throttling (Google SRE book, K = 2 over 2 minutes).
RETRY_CONTROL_PRESETS: dict[str, dict[str, float]] = {
    "finagle": {"ratio": 0.2, "min_per_s": 10.0, "ttl_s": 10.0},
    "aws-sdk": {"capacity": 500.0, "retry_cost": 5.0, "timeout_retry_cost": 10.0, "success_deposit": 1.0},
    "token-bucket": {"capacity": 5.0, "retry_cost": 1.0, "timeout_retry_cost": 1.0, "success_deposit": 0.1},
    "adaptive-throttling": {"k": 2.0, "window_s": 120.0},
}


@dataclass(frozen=True)
class CircuitBreakerSpec:
    """A breaker in front of a tier: opens when too many recent calls to the tier failed."""

    failure_rate_threshold: float  # open when failures/calls over the window reaches this
    window_s: float  # sliding window the failure rate is computed over
    min_calls: int  # fewer calls than this in the window never open the breaker
    open_duration_s: float  # how long calls fail fast before probing
    half_open_probes: int  # calls let through while half-open; all must succeed to close
    scope: str = "tier"  # one breaker shared by the tier's callers, or one per caller replica
    kind: str = "threshold"  # open/half-open/closed, or "adaptive": reject in proportion to errors
    defensiveness: float = 1.0  # adaptive: rejection probability = min(1, defensiveness × error rate)


@dataclass(frozen=True)
class RetryControlSpec:
    """What limits retries: a retry budget, a token bucket or adaptive throttling.

    ``params`` holds every number of the kind (see :data:`RETRY_CONTROL_PRESETS`), sorted by name.
    """

    kind: str
    params: tuple[tuple[str, float], ...]

    def get(self, name: str) -> float:
        return dict(self.params)[name]


@dataclass(frozen=True)
class HopRetrySpec:
    """How the tier before this one calls it: tries, a per-call timeout, backoff, retry control."""

    attempts: int  # calls in all, the first included
    timeout_s: float  # per call (math.inf: only the customer's patience bounds it)
    backoff: Distribution
    backoff_policy: str = "sampled"
    backoff_multiplier: float = 1.0
    backoff_cap_s: float = math.inf
    budget: RetryControlSpec | None = None
    budget_scope: str = "caller-replica"  # one control per caller replica, or one for the tier


@dataclass(frozen=True)
class AsyncSpec:
    """Asynchronous processing: the order is accepted at once and the tier's work is done later."""

    queue_capacity: float  # orders waiting to be processed; a full queue rejects the attempt
    max_delay_s: float  # an order not processed within this is cancelled (lost)


@dataclass(frozen=True)
class TierSpec:
    """One tier (a service with replicas) or a shared dependency."""

    name: str
    replicas: int
    service_time: Distribution
    concurrency: float  # requests one replica serves at once (math.inf = no limit)
    queue_limit: float  # requests waiting per replica beyond `concurrency` (math.inf = no limit)
    mtbf: Distribution | None  # None: never fails
    mttr: Distribution
    repair_crews: float
    failover_delay_s: float
    min_healthy: int
    mode: str = "active-active"
    load_balancing: str = "round-robin"
    health_check_interval_s: float | None = None  # with unhealthy_threshold: failover_delay derived
    unhealthy_threshold: int = 1
    failure_mode: str = "error"  # requests routed to a failed replica: "error" at once or "hang" to timeout
    zones: tuple[str, ...] = ()
    circuit_breaker: CircuitBreakerSpec | None = None
    async_processing: AsyncSpec | None = None
    replica_cost_per_hour: float = 0.0
    # load-dependent service: each request in service at the replica when a request starts (that
    # one included) adds this much to its service time (0: service independent of load)
    service_time_per_in_flight_s: float = 0.0
    retry: HopRetrySpec | None = None  # the previous tier retries its calls to this one
    idempotency: bool | None = None  # a charging tier: with false, a repeated charge is a duplicate

    @property
    def called_by_replicas(self) -> bool:
        """Whether the previous tier's replicas call this tier (holding their slot while it works)."""
        return self.retry is not None or self.idempotency is not None


@dataclass(frozen=True)
class ZoneSpec:
    """An availability zone whose outage takes down every replica placed in it."""

    name: str
    mtbf: Distribution | None
    mttr: Distribution


@dataclass(frozen=True)
class OutageSpec:
    """An injected fault: ``replicas`` replicas of ``tier`` (or a zone) down for a window."""

    tier: str | None
    zone: str | None
    start_s: float
    duration_s: float
    replicas: int  # ALL_REPLICAS for every replica


@dataclass(frozen=True)
class SpikeSpec:
    """A flash sale: the arrival rate multiplied by ``multiplier`` for a window."""

    start_s: float
    duration_s: float
    multiplier: float


@dataclass(frozen=True)
class RampSpec:
    """A stress ramp: the rate multiplier grows linearly from 1 to ``to_multiplier``."""

    start_s: float
    duration_s: float
    to_multiplier: float


@dataclass(frozen=True)
class TrafficSpec:
    """Customers starting a checkout: open arrivals (a Poisson process, optionally time-varying) or
    a closed population of ``clients`` who each think for ``think_time``, start a checkout and wait
    for it to end (completed or lost) before thinking again.

    For a closed population ``arrival_rate_per_s`` is clients / mean think time: the rate if
    checkouts took no time, an upper bound of the population's arrival rate (for work estimates).
    """

    arrival_rate_per_s: float
    daily_profile: tuple[float, ...] = ()  # 24 hourly multipliers, repeated every day
    spikes: tuple[SpikeSpec, ...] = ()
    ramp: RampSpec | None = None
    model: str = "open"  # one of LOAD_MODELS
    clients: int = 0  # closed: the population
    think_time: Distribution | None = None  # closed: wait between the end of a checkout and the next

    @property
    def closed(self) -> bool:
        return self.model == "closed"

    @property
    def time_varying(self) -> bool:
        return bool(self.daily_profile or self.spikes or self.ramp)

    def multiplier(self, t_s: float) -> float:
        """Rate multiplier at simulated time ``t_s``."""
        m = 1.0
        if self.daily_profile:
            m *= self.daily_profile[int(t_s // 3600.0) % 24]
        for spike in self.spikes:
            if spike.start_s <= t_s < spike.start_s + spike.duration_s:
                m *= spike.multiplier
        if self.ramp is not None and t_s >= self.ramp.start_s:
            frac = min(1.0, (t_s - self.ramp.start_s) / self.ramp.duration_s) if self.ramp.duration_s else 1.0
            m *= 1.0 + (self.ramp.to_multiplier - 1.0) * frac
        return m

    def max_multiplier(self) -> float:
        """An upper bound of :meth:`multiplier` over all time (for thinning)."""
        m = max(self.daily_profile) if self.daily_profile else 1.0
        for spike in self.spikes:
            m *= max(1.0, spike.multiplier)
        if self.ramp is not None:
            m *= max(1.0, self.ramp.to_multiplier)
        return m


@dataclass(frozen=True)
class CustomerSpec:
    """How customers behave: patience per attempt, retries, backoff, giving up."""

    max_attempts: int
    retry_backoff: Distribution
    patience: Distribution  # longest wait for one attempt (Deterministic(inf) = unlimited)
    backoff_multiplier: float = 1.0
    backoff_cap_s: float = math.inf
    backoff_policy: str = "sampled"
    abandon_probability: float = 0.0  # chance of giving up after each failed attempt
    retry_budget: RetryControlSpec | None = None  # shared by all customers (a client library's)


@dataclass(frozen=True)
class CommunicationSpec:
    """A status page that tells customers checkout is degraded."""

    status_page: bool
    detection_delay_s: float
    return_after: Distribution
    return_probability: float


@dataclass(frozen=True)
class CostSpec:
    """What a lost checkout is worth."""

    order_value: float = 0.0
    currency: str = "USD"


@dataclass(frozen=True)
class SloSpec:
    """A service-level objective per window: each objective given must hold in every window."""

    window_s: float
    availability: float | None = None  # path-up fraction of the window; its error budget is 1 − this
    checkout_success: float | None = None  # completed / attempted checkouts of the window
    latency_p95_s: float | None = None  # p95 latency of the window's completed checkouts


@dataclass(frozen=True)
class Scenario:
    """One architecture and its workload, fully resolved."""

    name: str
    description: str
    horizon_s: float
    warmup_s: float
    replications: int
    seed: int
    traffic: TrafficSpec
    customer: CustomerSpec
    path: tuple[str, ...]
    tiers: tuple[TierSpec, ...]  # every defined tier, path tiers and dependencies
    dependencies: tuple[str, ...] = ()  # shared components every checkout needs (no requests served)
    zones: tuple[ZoneSpec, ...] = ()
    outages: tuple[OutageSpec, ...] = ()
    communication: CommunicationSpec | None = None
    costs: CostSpec = field(default_factory=CostSpec)
    slo: SloSpec | None = None
    source: str = "<built-in>"  # file the scenario was read from (not part of its identity)

    def tier(self, name: str) -> TierSpec:
        for t in self.tiers:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def path_tiers(self) -> tuple[TierSpec, ...]:
        return tuple(self.tier(n) for n in self.path)
