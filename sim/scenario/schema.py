"""The scenario schema: every section's keys with their parsers and defaults, in one place.

Parsers turn a raw TOML value into a checked value (durations in seconds, distributions as
:mod:`sim.random.distributions` objects) or raise :class:`Invalid` with what is allowed;
:mod:`sim.scenario` walks the schema and turns problems into errors naming file and key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sim.random.distributions import (
    DISTRIBUTION_PARAMETERS,
    Deterministic,
    Distribution,
    Exponential,
    LogNormal,
    Uniform,
    Weibull,
)
from sim.scenario.durations import parse_duration
from sim.scenario.errors import undefined_message, unknown_key_message  # noqa: F401 - re-exported
from sim.scenario.spec import (
    ALL_REPLICAS,
    BACKOFF_POLICIES,
    BREAKER_KINDS,
    BREAKER_SCOPES,
    FAILURE_MODES,
    LOAD_BALANCING,
    LOAD_MODELS,
    MODES,
    RETRY_CONTROL_PRESETS,
    RETRY_SCOPES,
    RetryControlSpec,
)

_T = TypeVar("_T")

# ---------------------------------------------------------------------------------------------
# Parsers: each turns one raw TOML value into its resolved form, or says what is allowed.


class Invalid(Exception):
    """A rejected value; ``subkey`` and ``value`` point inside a table value (a distribution)."""

    def __init__(self, message: str, subkey: str = "", value: object = None) -> None:
        super().__init__(message)
        self.message, self.subkey, self.value = message, subkey, value


@dataclass(frozen=True)
class Parser:
    """``convert`` returns the resolved value; a ValueError or TypeError means "must be ``allowed``"."""

    allowed: str
    convert: Callable[[Any], Any]

    def __call__(self, value: object) -> Any:
        try:
            return self.convert(value)
        except (ValueError, TypeError, OverflowError):  # OverflowError: an integer too big for a float
            in_quotes = self.allowed.startswith(("a number", "an integer")) and _numeric(value)
            hint = " (without quotes)" if in_quotes else ""
            raise Invalid(f"must be {self.allowed}{hint}") from None


def _numeric(value: object) -> bool:
    """True for a string holding a number, such as "2" (a common slip: a quoted number)."""
    try:
        return isinstance(value, str) and math.isfinite(float(value))
    except ValueError:
        return False


def _require(ok: bool, value: _T) -> _T:
    if not ok:
        raise ValueError(value)
    return value


def _real(value: object) -> float:
    # bool is an int in Python but never a number in a scenario file
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(_require(ok, value))  # type: ignore[arg-type]  # checked to be a number just above


def _int(value: object, inf: bool = False) -> float:
    """An integral number (2.0 is accepted as 2), or inf when ``inf`` allows "inf".

    An int is kept exact (a seed above 2**53 must not be rounded through a float).
    """
    if inf and (value == "inf" or value == math.inf):
        return math.inf
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _real(value)
    return int(_require(number.is_integer(), number))


def _number(low: float, high: float = math.inf, *, above: bool = False, unit: str = "") -> Parser:
    if high == math.inf:
        allowed = f"a number {'>' if above else '>='} {low:g}"
    else:
        allowed = f"a number from {low:g} to {high:g}" + (f", excluding {low:g}" if above else "")
    allowed += f" ({unit})" if unit else ""

    def convert(value: object) -> float:
        x = _real(value)
        return _require((x > low if above else x >= low) and x <= high, x)

    return Parser(allowed, convert)


def _integer(low: int, high: float = math.inf, *, inf: bool = False, cast: type = int) -> Parser:
    allowed = f"an integer >= {low}" + ("" if high == math.inf else f", at most {high:,}")
    allowed += ' or "inf"' if inf else ""

    def convert(value: object) -> float:
        n = _int(value, inf)
        return cast(_require(low <= n <= high or n == math.inf, n))

    return Parser(allowed, convert)


#: The longest finite duration (seconds, about 31,700 years): beyond it, sums of simulated times
#: lose their precision and draws can overflow to infinity.
MAX_DURATION_S = 1e12


def _seconds(value: object, positive: bool, inf: bool) -> float:
    s = parse_duration(value)
    return _require((s > 0 if positive else s >= 0) and (s <= MAX_DURATION_S or (inf and s == math.inf)), s)


def _duration(*, positive: bool, inf: bool = False) -> Parser:
    allowed = ('a positive duration such as "20m" or 1200 (seconds)' if positive
               else 'a duration >= 0 such as "5m" or 300 (seconds)') + f", at most {MAX_DURATION_S:g} s" \
        + (', or "inf"' if inf else "")
    return Parser(allowed, lambda v: _seconds(v, positive, inf))


def _text(nonempty: bool = False) -> Parser:
    return Parser("a non-empty string" if nonempty else "a string",
                   lambda v: _require(isinstance(v, str) and (bool(v) or not nonempty), v))


def _choice(options: Sequence[str]) -> Parser:
    return Parser("one of " + ", ".join(f'"{o}"' for o in options), lambda v: _require(v in options, v))


def _names(value: object) -> tuple[str, ...]:
    ok = isinstance(value, list) and all(isinstance(n, str) for n in value) and len(set(value)) == len(value)
    return tuple(_require(ok, value))  # type: ignore[arg-type]  # checked to be a list just above


def _profile(value: object) -> tuple[float, ...]:
    if value == []:
        return ()
    hours = tuple(_real(x) for x in value) if isinstance(value, list) else ()
    return _require(len(hours) == 24 and min(hours) >= 0 and max(hours) > 0, hours)


def _outage_replicas(value: object) -> int:
    return ALL_REPLICAS if value == "all" else int(_require(_int(value) >= 1, _int(value)))


_BOOL = Parser("true or false", lambda v: _require(isinstance(v, bool), v))
_NAMES = Parser('a list of distinct names such as ["web", "payment"]', _names)
_POS = _duration(positive=True)
_NONNEG = _duration(positive=False)
_PROB = _number(0, 1)

MAX_CV = 100.0
MIN_WEIBULL_SHAPE, MAX_WEIBULL_SHAPE = 0.1, 100.0
MAX_REPLICAS = 1000  # per tier
MAX_ATTEMPTS = 1000  # per checkout
MAX_REPLICATIONS = 100_000
MAX_SEED = 2**64 - 1
MAX_MONEY = 1e12  # an order value or a replica-hour's cost: keeps revenue and cost finite

_DIST_CLASSES = {"exponential": Exponential, "deterministic": Deterministic, "lognormal": LogNormal,
                 "weibull": Weibull, "uniform": Uniform}
_DIST_PARAMS = {  # parameter -> parser: durations, except the shape parameters cv and shape
    "mean": _POS, "value": _NONNEG, "low": _NONNEG, "high": _POS,
    # bounded so the draws stay finite and meaningful: a Weibull shape below 0.1 puts almost every
    # draw at 0 (its scale underflows), a lognormal cv above 100 overflows its parameters
    "cv": _number(0, MAX_CV, above=True), "shape": _number(MIN_WEIBULL_SHAPE, MAX_WEIBULL_SHAPE)}


def _dist_table(table: dict, patience: bool) -> Distribution:
    """A distribution from ``{ dist = NAME, PARAMETER = VALUE, ... }``."""
    name = table.get("dist")
    names = ", ".join(DISTRIBUTION_PARAMETERS)
    if "dist" not in table:
        raise Invalid(f"a distribution table needs dist = one of {names}")
    if name not in DISTRIBUTION_PARAMETERS:
        raise Invalid(f"unknown distribution; allowed: {names}", "dist", name)
    params = DISTRIBUTION_PARAMETERS[name]
    wrong = sorted(set(table) - {"dist", *params})
    missing = [p for p in params if p not in table]
    if wrong or missing:
        problem = f"unknown {', '.join(wrong)}" if wrong else f"missing {', '.join(missing)}"
        raise Invalid(f'dist = "{name}" takes exactly {", ".join(params)} ({problem})')
    values = {}
    for p in params:
        # a patience may be unlimited: { dist = "deterministic", value = "inf" }
        parser = _duration(positive=False, inf=True) if patience and p == "value" else _DIST_PARAMS[p]
        try:
            values[p] = parser(table[p])
        except Invalid as err:
            raise Invalid(err.message, p, table[p]) from None
    if name == "uniform" and values["low"] > values["high"]:
        raise Invalid("must not exceed high", "low", table["low"])
    return _DIST_CLASSES[name](**values)


def _is_inf(value: object) -> bool:
    try:
        return parse_duration(value) == math.inf
    except ValueError:
        return False


def _dist(*, patience: bool = False, never: bool = False) -> Parser:
    """A distribution: a plain duration (an exponential mean; for a patience a fixed value) or a table.

    ``never``: "inf" means the event never happens (an MTBF) and parses to None.
    """
    if patience:
        allowed = ('a positive duration such as "30s" (fixed) or "inf" (unlimited), '
                   'or a distribution table like { dist = "uniform", low = "10s", high = "60s" }')
    else:
        never_text = ', or "inf" (never)' if never else ""
        allowed = ('a positive duration such as "20m" or 1200 (seconds)' + never_text
                   + ', or a distribution table like { dist = "lognormal", mean = "20m", cv = 1.5 }')

    def convert(value: object) -> Distribution | None:
        if never and _is_inf(value):
            return None
        if isinstance(value, dict):
            dist = _dist_table(value, patience)
        else:
            seconds = _seconds(value, positive=True, inf=patience)
            dist = Deterministic(seconds) if patience else Exponential(seconds)
        if patience and dist.mean <= 0:
            raise Invalid("a patience must be > 0")
        return dist

    return Parser(allowed, convert)


#: a retry control table's keys: parser and the spec's parameter name (durations carry _s)
_CONTROL_PARAMS: dict[str, tuple[Parser, str]] = {
    "ratio": (_number(0), "ratio"), "min_per_s": (_number(0), "min_per_s"), "ttl": (_POS, "ttl_s"),
    "capacity": (_number(0, above=True), "capacity"), "retry_cost": (_number(0, above=True), "retry_cost"),
    "timeout_retry_cost": (_number(0, above=True), "timeout_retry_cost"),
    "success_deposit": (_number(0), "success_deposit"), "k": (_number(1), "k"), "window": (_POS, "window_s")}


def _retry_control(value: object) -> RetryControlSpec:
    """A preset name, or ``{ kind = NAME, PARAMETER = VALUE, ... }`` (unnamed parameters: the preset's)."""
    table = value if isinstance(value, dict) else {"kind": _require(value in RETRY_CONTROL_PRESETS, value)}
    kind = table.get("kind")
    if kind not in RETRY_CONTROL_PRESETS:
        raise Invalid("must be one of " + ", ".join(f'"{k}"' for k in RETRY_CONTROL_PRESETS), "kind", kind)
    params = dict(RETRY_CONTROL_PRESETS[kind])
    for key, raw in table.items():
        parser, name = _CONTROL_PARAMS.get(key, (_BOOL, ""))
        if key != "kind" and name not in params:
            keys = ", ".join(k for k, (_, n) in _CONTROL_PARAMS.items() if n in params)
            raise Invalid(f'unknown key; kind = "{kind}" takes {keys}', key, raw)
        try:
            params.update({name: parser(raw)} if key != "kind" else {})
        except Invalid as err:
            raise Invalid(err.message, key, raw) from None
    return RetryControlSpec(kind, tuple(sorted(params.items())))


RETRY_CONTROL = Parser("one of " + ", ".join(f'"{k}"' for k in RETRY_CONTROL_PRESETS)
                       + ', or a table like { kind = "finagle", ratio = 0.1, min_per_s = 0 }', _retry_control)

# ---------------------------------------------------------------------------------------------
# The schema: every section and key with its parser and default. A default is a raw TOML value,
# parsed like the file's; DERIVED defaults depend on other keys (resolved by the builders).

REQUIRED = object()
DERIVED = object()


@dataclass(frozen=True)
class Key:
    parser: Parser
    default: object = REQUIRED


@dataclass(frozen=True)
class Table:
    keys: dict[str, _Node]


@dataclass(frozen=True)
class ArrayOf:
    """An array of tables, written ``[[outages]]``."""

    item: Table


@dataclass(frozen=True)
class NamedTables:
    """Tables named by the file, written ``[tiers.NAME]``."""

    item: Table
    what: str


_Node = Key | Table | ArrayOf | NamedTables

SERVICE_TIME = _dist()
BREAKER = Table({
    "failure_rate_threshold": Key(_number(0, 1, above=True), 0.5), "window": Key(_POS, "10s"),
    "min_calls": Key(_integer(1), 10), "open_duration": Key(_POS, "30s"),
    "half_open_probes": Key(_integer(1), 3), "scope": Key(_choice(BREAKER_SCOPES), "tier"),
    "kind": Key(_choice(BREAKER_KINDS), "threshold"), "defensiveness": Key(_number(0, above=True), 1.0)})
#: keys of a breaker table that only a threshold breaker reads (an adaptive one has no open state)
THRESHOLD_ONLY = ("failure_rate_threshold", "open_duration", "half_open_probes")
HOP_RETRY = Table({
    "attempts": Key(_integer(1, MAX_ATTEMPTS), 3), "timeout": Key(_duration(positive=True, inf=True), "inf"),
    "backoff": Key(_dist(), "100ms"), "backoff_policy": Key(_choice(BACKOFF_POLICIES), "sampled"),
    "backoff_multiplier": Key(_number(1), DERIVED),
    "backoff_cap": Key(_duration(positive=True, inf=True), "inf"), "budget": Key(RETRY_CONTROL, DERIVED),
    "budget_scope": Key(_choice(RETRY_SCOPES), "caller-replica")})
TIER = Table({
    "replicas": Key(_integer(1, MAX_REPLICAS), 1), "service_time": Key(SERVICE_TIME, DERIVED),
    "concurrency": Key(_integer(1, inf=True, cast=float), "inf"),
    "queue_limit": Key(_integer(0, inf=True, cast=float), "inf"),
    "mtbf": Key(_dist(never=True), "inf"), "mttr": Key(_dist(), "30m"),
    "repair_crews": Key(_integer(1, inf=True, cast=float), "inf"), "failover_delay": Key(_NONNEG, 0),
    "min_healthy": Key(_integer(1), 1), "mode": Key(_choice(MODES), "active-active"),
    "load_balancing": Key(_choice(LOAD_BALANCING), "round-robin"),
    "health_check_interval": Key(_POS, DERIVED), "unhealthy_threshold": Key(_integer(1), 1),
    "failure_mode": Key(_choice(FAILURE_MODES), "error"), "zones": Key(_NAMES, []),
    "replica_cost_per_hour": Key(_number(0, MAX_MONEY), 0.0), "async": Key(_BOOL, False),
    "async_queue_capacity": Key(_integer(1, inf=True, cast=float), "inf"),
    "async_max_delay": Key(_POS, "2h"), "circuit_breaker": BREAKER,
    "service_time_per_in_flight": Key(_NONNEG, 0), "retry": HOP_RETRY, "idempotency": Key(_BOOL, DERIVED)})
ZONE = Table({"mtbf": Key(_dist(never=True), "inf"), "mttr": Key(_dist(), "1h")})
SCENARIO = Table({
    "name": Key(_text(nonempty=True), DERIVED), "description": Key(_text(), ""),
    "horizon": Key(_POS, "24h"), "warmup": Key(_NONNEG, "0s"),
    "replications": Key(_integer(2, MAX_REPLICATIONS), 10),
    "seed": Key(_integer(0, MAX_SEED), 1)})
SPIKE = Table({"start": Key(_NONNEG), "duration": Key(_POS), "multiplier": Key(_number(0, above=True))})
RAMP = Table({"start": Key(_NONNEG), "duration": Key(_NONNEG),
                "to_multiplier": Key(_number(0, above=True))})
TRAFFIC = Table({
    "model": Key(_choice(LOAD_MODELS), "open"),
    "arrival_rate": Key(_number(0, above=True, unit="customers per second"), DERIVED),
    "clients": Key(_integer(1, 10_000_000), DERIVED), "think_time": Key(_dist(), DERIVED),
    "daily_profile": Key(Parser("a list of exactly 24 hourly multipliers >= 0, not all zero "
                                  "(or [] for a flat rate)", _profile), []),
    "spikes": ArrayOf(SPIKE), "ramp": RAMP})
CUSTOMER = Table({
    "max_attempts": Key(_integer(1, MAX_ATTEMPTS), 1), "retry_backoff": Key(_dist(), "10s"),
    "patience": Key(_dist(patience=True), "30s"), "backoff_multiplier": Key(_number(1), DERIVED),
    "backoff_cap": Key(_duration(positive=True, inf=True), "inf"),
    "backoff_policy": Key(_choice(BACKOFF_POLICIES), "sampled"), "abandon_probability": Key(_PROB, 0.0),
    "retry_budget": Key(RETRY_CONTROL, DERIVED)})
PATH = Table({"tiers": Key(_NAMES), "dependencies": Key(_NAMES, [])})
OUTAGE = Table({
    "tier": Key(_text(nonempty=True), DERIVED), "zone": Key(_text(nonempty=True), DERIVED),
    "start": Key(_NONNEG), "duration": Key(_POS),
    "replicas": Key(Parser('"all" or an integer >= 1', _outage_replicas), "all")})
COMMUNICATION = Table({
    "status_page": Key(_BOOL, False), "detection_delay": Key(_NONNEG, "5m"),
    "return_after": Key(_dist(), "30m"), "return_probability": Key(_PROB, 0.5)})
COSTS = Table({"order_value": Key(_number(0, MAX_MONEY), 0.0), "currency": Key(_text(nonempty=True), "USD")})
_FRACTION = Parser("a number between 0 and 1, both excluded, such as 0.9995",
                   lambda v: _require(0 < _real(v) < 1, _real(v)))
SLO = Table({"window": Key(_POS, "30d"), "availability": Key(_FRACTION, DERIVED),
             "checkout_success": Key(_FRACTION, DERIVED), "latency_p95": Key(_POS, DERIVED)})
SCHEMA = Table({
    "scenario": SCENARIO, "traffic": TRAFFIC, "customer": CUSTOMER, "path": PATH, "slo": SLO,
    "tiers": NamedTables(TIER, "tier"), "zones": NamedTables(ZONE, "zone"), "outages": ArrayOf(OUTAGE),
    "communication": COMMUNICATION, "costs": COSTS})
REQUIRED_SECTIONS = ("traffic", "path", "tiers")
