"""Scenario files: TOML in, a validated and fully resolved :class:`sim.spec.Scenario` out.

This is the boundary where everything is checked, once. Each section's keys are declared in one
schema below (a parser and a default per key); unknown keys are rejected with the allowed list,
and every error is one line naming the file, the key, the bad value and what is allowed.
Overrides (``sim run --set KEY=VALUE``) are applied to the raw TOML before validation, so they
are checked exactly like the file. ``scenarios/README.md`` documents every key.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib.resources
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sim.distributions import (
    DISTRIBUTION_PARAMETERS,
    Deterministic,
    Distribution,
    Exponential,
    LogNormal,
    Uniform,
    Weibull,
)
from sim.durations import format_duration, parse_duration
from sim.spec import (
    ALL_REPLICAS,
    BACKOFF_POLICIES,
    FAILURE_MODES,
    LOAD_BALANCING,
    MODES,
    AsyncSpec,
    CircuitBreakerSpec,
    CommunicationSpec,
    CostSpec,
    CustomerSpec,
    OutageSpec,
    RampSpec,
    Scenario,
    SpikeSpec,
    TierSpec,
    TrafficSpec,
    ZoneSpec,
)

BUILTIN_SOURCE = "<built-in>"  # ScenarioError.source / Scenario.source of a built-in scenario
SET_SOURCE = "--set"  # ScenarioError.source of an error in (or caused by) an override
REDUNDANCY_SOURCE = "--redundancy"
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_T = TypeVar("_T")


class ScenarioError(Exception):
    """A scenario that cannot be used.

    ``source`` is the file (or ``"<built-in>"``, ``"--set"``), ``key`` the dotted key ("" for the
    whole file), ``message`` what is wrong and what is allowed, ``value_text`` the bad value as
    TOML writes it (None when there is no value, e.g. an unknown or missing key).
    """

    def __init__(self, source: str, key: str, message: str, value_text: str | None = None) -> None:
        super().__init__(source, key, message, value_text)  # everything in args: picklable
        self.source, self.key, self.message, self.value_text = source, key, message, value_text

    def __str__(self) -> str:
        where = self.key if self.value_text is None else f"{self.key} = {self.value_text}"
        return f"{self.source}: {where}: {self.message}" if where else f"{self.source}: {self.message}"


def _show(value: object, limit: int = 80) -> str:
    """``value`` written the way TOML writes it, shortened to fit in a one-line message."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(_show(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        items = ", ".join(f"{k} = {_show(v, limit)}" for k, v in value.items())
        text = "{ " + items + " }" if items else "{}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Parsers: each turns one raw TOML value into its resolved form, or says what is allowed.


class _Invalid(Exception):
    """A rejected value; ``subkey`` and ``value`` point inside a table value (a distribution)."""

    def __init__(self, message: str, subkey: str = "", value: object = None) -> None:
        super().__init__(message)
        self.message, self.subkey, self.value = message, subkey, value


@dataclass(frozen=True)
class _Parser:
    """``convert`` returns the resolved value; a ValueError or TypeError means "must be ``allowed``"."""

    allowed: str
    convert: Callable[[Any], Any]

    def __call__(self, value: object) -> Any:
        try:
            return self.convert(value)
        except (ValueError, TypeError):
            quoted = self.allowed.startswith(("a number", "an integer")) and _numeric(value)
            hint = " (without quotes)" if quoted else ""
            raise _Invalid(f"must be {self.allowed}{hint}") from None


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
    """An integral number (2.0 is accepted as 2), or inf when ``inf`` allows "inf"."""
    if inf and (value == "inf" or value == math.inf):
        return math.inf
    number = _real(value)
    return int(_require(number.is_integer(), number))


def _number(low: float, high: float = math.inf, *, above: bool = False, unit: str = "") -> _Parser:
    if high == math.inf:
        allowed = f"a number {'>' if above else '>='} {low:g}"
    else:
        allowed = f"a number from {low:g} to {high:g}" + (f", excluding {low:g}" if above else "")
    allowed += f" ({unit})" if unit else ""

    def convert(value: object) -> float:
        x = _real(value)
        return _require((x > low if above else x >= low) and x <= high, x)

    return _Parser(allowed, convert)


def _integer(low: int, *, inf: bool = False, cast: type = int) -> _Parser:
    allowed = f"an integer >= {low}" + (' or "inf"' if inf else "")
    return _Parser(allowed, lambda v: cast(_require(_int(v, inf) >= low, _int(v, inf))))


def _seconds(value: object, positive: bool, inf: bool) -> float:
    s = parse_duration(value)
    return _require((s > 0 if positive else s >= 0) and (inf or s != math.inf), s)


def _duration(*, positive: bool, inf: bool = False) -> _Parser:
    allowed = ('a positive duration such as "20m" or 1200 (seconds)' if positive
               else 'a duration >= 0 such as "5m" or 300 (seconds)') + (', or "inf"' if inf else "")
    return _Parser(allowed, lambda v: _seconds(v, positive, inf))


def _text(nonempty: bool = False) -> _Parser:
    return _Parser("a non-empty string" if nonempty else "a string",
                   lambda v: _require(isinstance(v, str) and (bool(v) or not nonempty), v))


def _choice(options: Sequence[str]) -> _Parser:
    return _Parser("one of " + ", ".join(f'"{o}"' for o in options), lambda v: _require(v in options, v))


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


_BOOL = _Parser("true or false", lambda v: _require(isinstance(v, bool), v))
_NAMES = _Parser('a list of distinct names such as ["web", "payment"]', _names)
_POS = _duration(positive=True)
_NONNEG = _duration(positive=False)
_PROB = _number(0, 1)

_DIST_CLASSES = {"exponential": Exponential, "deterministic": Deterministic, "lognormal": LogNormal,
                 "weibull": Weibull, "uniform": Uniform}
_DIST_PARAMS = {  # parameter -> parser: durations, except the shape parameters cv and shape
    "mean": _POS, "value": _NONNEG, "low": _NONNEG, "high": _POS,
    "cv": _number(0, above=True), "shape": _number(0, above=True)}


def _dist_table(table: dict, patience: bool) -> Distribution:
    """A distribution from ``{ dist = NAME, PARAMETER = VALUE, ... }``."""
    name = table.get("dist")
    names = ", ".join(DISTRIBUTION_PARAMETERS)
    if "dist" not in table:
        raise _Invalid(f"a distribution table needs dist = one of {names}")
    if name not in DISTRIBUTION_PARAMETERS:
        raise _Invalid(f"unknown distribution; allowed: {names}", "dist", name)
    params = DISTRIBUTION_PARAMETERS[name]
    wrong = sorted(set(table) - {"dist", *params})
    missing = [p for p in params if p not in table]
    if wrong or missing:
        problem = f"unknown {', '.join(wrong)}" if wrong else f"missing {', '.join(missing)}"
        raise _Invalid(f'dist = "{name}" takes exactly {", ".join(params)} ({problem})')
    values = {}
    for p in params:
        # a patience may be unlimited: { dist = "deterministic", value = "inf" }
        parser = _duration(positive=False, inf=True) if patience and p == "value" else _DIST_PARAMS[p]
        try:
            values[p] = parser(table[p])
        except _Invalid as err:
            raise _Invalid(err.message, p, table[p]) from None
    if name == "uniform" and values["low"] > values["high"]:
        raise _Invalid("must not exceed high", "low", table["low"])
    return _DIST_CLASSES[name](**values)


def _is_inf(value: object) -> bool:
    try:
        return parse_duration(value) == math.inf
    except ValueError:
        return False


def _dist(*, patience: bool = False, never: bool = False) -> _Parser:
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
            raise _Invalid("a patience must be > 0")
        return dist

    return _Parser(allowed, convert)


# ---------------------------------------------------------------------------------------------
# The schema: every section and key with its parser and default. A default is a raw TOML value,
# parsed like the file's; _DERIVED defaults depend on other keys (resolved by the builders).

_REQUIRED = object()
_DERIVED = object()


@dataclass(frozen=True)
class _Key:
    parser: _Parser
    default: object = _REQUIRED


@dataclass(frozen=True)
class _Table:
    keys: dict[str, _Node]


@dataclass(frozen=True)
class _Array:
    """An array of tables, written ``[[outages]]``."""

    item: _Table


@dataclass(frozen=True)
class _Named:
    """Tables named by the file, written ``[tiers.NAME]``."""

    item: _Table
    what: str


_Node = _Key | _Table | _Array | _Named

_SERVICE_TIME = _dist()
_BREAKER = _Table({
    "failure_rate_threshold": _Key(_number(0, 1, above=True), 0.5), "window": _Key(_POS, "10s"),
    "min_calls": _Key(_integer(1), 10), "open_duration": _Key(_POS, "30s"),
    "half_open_probes": _Key(_integer(1), 3)})
_TIER = _Table({
    "replicas": _Key(_integer(1), 1), "service_time": _Key(_SERVICE_TIME, _DERIVED),
    "concurrency": _Key(_integer(1, inf=True, cast=float), "inf"),
    "queue_limit": _Key(_integer(0, inf=True, cast=float), "inf"),
    "mtbf": _Key(_dist(never=True), "inf"), "mttr": _Key(_dist(), "30m"),
    "repair_crews": _Key(_integer(1, inf=True, cast=float), "inf"), "failover_delay": _Key(_NONNEG, 0),
    "min_healthy": _Key(_integer(1), 1), "mode": _Key(_choice(MODES), "active-active"),
    "load_balancing": _Key(_choice(LOAD_BALANCING), "round-robin"),
    "health_check_interval": _Key(_POS, _DERIVED), "unhealthy_threshold": _Key(_integer(1), 1),
    "failure_mode": _Key(_choice(FAILURE_MODES), "error"), "zones": _Key(_NAMES, []),
    "replica_cost_per_hour": _Key(_number(0), 0.0), "async": _Key(_BOOL, False),
    "async_queue_capacity": _Key(_integer(1, inf=True, cast=float), "inf"),
    "async_max_delay": _Key(_POS, "2h"), "circuit_breaker": _BREAKER})
_ZONE = _Table({"mtbf": _Key(_dist(never=True), "inf"), "mttr": _Key(_dist(), "1h")})
_SCENARIO = _Table({
    "name": _Key(_text(nonempty=True), _DERIVED), "description": _Key(_text(), ""),
    "horizon": _Key(_POS, "24h"), "warmup": _Key(_NONNEG, "0s"), "replications": _Key(_integer(2), 10),
    "seed": _Key(_integer(0), 1)})
_SPIKE = _Table({"start": _Key(_NONNEG), "duration": _Key(_POS), "multiplier": _Key(_number(0, above=True))})
_RAMP = _Table({"start": _Key(_NONNEG), "duration": _Key(_NONNEG),
                "to_multiplier": _Key(_number(0, above=True))})
_TRAFFIC = _Table({
    "arrival_rate": _Key(_number(0, above=True, unit="customers per second")),
    "daily_profile": _Key(_Parser("a list of exactly 24 hourly multipliers >= 0, not all zero "
                                  "(or [] for a flat rate)", _profile), []),
    "spikes": _Array(_SPIKE), "ramp": _RAMP})
_CUSTOMER = _Table({
    "max_attempts": _Key(_integer(1), 1), "retry_backoff": _Key(_dist(), "10s"),
    "patience": _Key(_dist(patience=True), "30s"), "backoff_multiplier": _Key(_number(1), _DERIVED),
    "backoff_cap": _Key(_duration(positive=True, inf=True), "inf"),
    "backoff_policy": _Key(_choice(BACKOFF_POLICIES), "sampled"), "abandon_probability": _Key(_PROB, 0.0)})
_PATH = _Table({"tiers": _Key(_NAMES), "dependencies": _Key(_NAMES, [])})
_OUTAGE = _Table({
    "tier": _Key(_text(nonempty=True), _DERIVED), "zone": _Key(_text(nonempty=True), _DERIVED),
    "start": _Key(_NONNEG), "duration": _Key(_POS),
    "replicas": _Key(_Parser('"all" or an integer >= 1', _outage_replicas), "all")})
_COMMUNICATION = _Table({
    "status_page": _Key(_BOOL, False), "detection_delay": _Key(_NONNEG, "5m"),
    "return_after": _Key(_dist(), "30m"), "return_probability": _Key(_PROB, 0.5)})
_COSTS = _Table({"order_value": _Key(_number(0), 0.0), "currency": _Key(_text(nonempty=True), "USD")})
_SCHEMA = _Table({
    "scenario": _SCENARIO, "traffic": _TRAFFIC, "customer": _CUSTOMER, "path": _PATH,
    "tiers": _Named(_TIER, "tier"), "zones": _Named(_ZONE, "zone"), "outages": _Array(_OUTAGE),
    "communication": _COMMUNICATION, "costs": _COSTS})
_REQUIRED_SECTIONS = ("traffic", "path", "tiers")


def _unknown(keys: Sequence[str], bad: str, label: str) -> str:
    kind = "key" if label else "section"
    close = difflib.get_close_matches(bad, keys, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    where = f" in {label}" if label else ""
    return f"unknown {kind}; allowed {kind}s{where}: {', '.join(sorted(keys))}{hint}"


def _undefined(name: str, defined: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(name, defined, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{name!r} is not defined under [{what}s]; defined {what}s: {', '.join(defined) or 'none'}{hint}"


# ---------------------------------------------------------------------------------------------
# Validation: the raw dict, section by section, into the frozen spec.


class _Validator:
    """Validates one raw scenario; ``overridden`` maps changed keys to the source to blame."""

    def __init__(self, raw: dict, source: str, default_name: str, overridden: Mapping[str, str]) -> None:
        self.raw, self.source, self.default_name, self.overridden = raw, source, default_name, overridden

    def fail(self, key: str, message: str, value: object = _REQUIRED) -> ScenarioError:
        parts = key.split(".")
        prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
        source = next((self.overridden[k] for k in self.overridden if k in prefixes), self.source)
        return ScenarioError(source, key, message, None if value is _REQUIRED else _show(value))

    def table(self, raw: object, schema: _Table, where: str, label: str = "") -> dict[str, Any]:
        """The table's values with defaults filled in (sub-tables and arrays are left raw)."""
        label = label or f"[{where}]"
        if not isinstance(raw, dict):
            raise self.fail(where, f"must be a table {label} with keys {', '.join(schema.keys)}", raw)
        for key in raw:
            if key not in schema.keys:
                raise self.fail(f"{where}.{key}", _unknown(list(schema.keys), key, label))
        out: dict[str, Any] = {}
        for key, node in schema.keys.items():
            if not isinstance(node, _Key):
                out[key] = raw.get(key)
            elif key in raw:
                out[key] = self.parse(node.parser, raw[key], f"{where}.{key}")
            elif node.default is _REQUIRED:
                raise self.fail(f"{where}.{key}", f"missing; must be {node.parser.allowed}")
            else:
                out[key] = None if node.default is _DERIVED else node.parser(node.default)
        return out

    def parse(self, parser: _Parser, value: object, key: str) -> Any:
        try:
            return parser(value)
        except _Invalid as err:
            if err.subkey:
                raise self.fail(f"{key}.{err.subkey}", err.message, err.value) from None
            raise self.fail(key, err.message, value) from None

    def array(self, raw: object, schema: _Table, where: str) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.fail(where, f"must be an array of tables, written [[{where}]]", raw)
        return [self.table(item, schema, f"{where}.{i}", f"[[{where}]]") for i, item in enumerate(raw)]

    def named(self, section: str, raw: object, schema: _Table, what: str) -> dict[str, dict[str, Any]]:
        """The ``[section.NAME]`` tables, parsed, in file order."""
        if not isinstance(raw, dict):
            raise self.fail(section, f"must be a table of {section}, written [{section}.NAME]", raw)
        for name in raw:
            if not _NAME.match(name):
                raise self.fail(f"{section}.{name}", f"invalid {what} name: use letters, digits, - and _")
        return {name: self.table(table, schema, f"{section}.{name}") for name, table in raw.items()}

    def defined(self, key: str, names: Sequence[str], defined: Sequence[str], what: str,
                shown: object) -> None:
        for name in names:
            if name not in defined:
                raise self.fail(key, _undefined(name, defined, what), shown)

    def before_horizon(self, key: str, start_s: float, horizon_s: float, raw: object) -> None:
        if start_s >= horizon_s:
            raise self.fail(key, f"must be before the horizon ({format_duration(horizon_s)})", raw)

    def scenario(self) -> Scenario:
        raw = self.raw
        for key in raw:
            if key not in _SCHEMA.keys:
                raise self.fail(key, _unknown(list(_SCHEMA.keys), key, ""))
        for section in _REQUIRED_SECTIONS:
            if section not in raw:
                raise self.fail(section, f"missing required section [{section}]")
        sc = self.table(raw.get("scenario", {}), _SCENARIO, "scenario")
        horizon = sc["horizon"]
        if sc["warmup"] >= horizon:
            raise self.fail("scenario.warmup", "must be shorter than the horizon "
                            f"({format_duration(horizon)})", raw["scenario"]["warmup"])
        traffic = self.traffic(raw["traffic"], horizon)
        customer = self.customer(raw.get("customer", {}))
        zones = self.named("zones", raw.get("zones", {}), _ZONE, "zone")
        path, dependencies = self.path(raw["path"], raw["tiers"])
        tiers = self.tiers(raw["tiers"], path, dependencies, list(zones))
        outages = self.outages(raw.get("outages"), tiers, list(zones), horizon)
        communication = None
        if "communication" in raw:
            c = self.table(raw["communication"], _COMMUNICATION, "communication")
            communication = CommunicationSpec(c["status_page"], c["detection_delay"], c["return_after"],
                                              c["return_probability"])
        costs = self.table(raw.get("costs", {}), _COSTS, "costs")
        return Scenario(
            name=sc["name"] or self.default_name, description=sc["description"], horizon_s=horizon,
            warmup_s=sc["warmup"], replications=sc["replications"], seed=sc["seed"], traffic=traffic,
            customer=customer, path=path, tiers=tuple(tiers.values()), dependencies=dependencies,
            zones=tuple(ZoneSpec(name, z["mtbf"], z["mttr"]) for name, z in zones.items()),
            outages=outages, communication=communication,
            costs=CostSpec(costs["order_value"], costs["currency"]), source=self.source)

    def traffic(self, raw: object, horizon: float) -> TrafficSpec:
        t = self.table(raw, _TRAFFIC, "traffic")
        spikes = []
        for i, s in enumerate(self.array(t["spikes"], _SPIKE, "traffic.spikes")):
            self.before_horizon(f"traffic.spikes.{i}.start", s["start"], horizon, t["spikes"][i]["start"])
            spikes.append(SpikeSpec(s["start"], s["duration"], s["multiplier"]))
        ramp = None
        if t["ramp"] is not None:
            r = self.table(t["ramp"], _RAMP, "traffic.ramp")
            ramp = RampSpec(r["start"], r["duration"], r["to_multiplier"])
        return TrafficSpec(t["arrival_rate"], t["daily_profile"], tuple(spikes), ramp)

    def customer(self, raw: object) -> CustomerSpec:
        c = self.table(raw, _CUSTOMER, "customer")
        multiplier = c["backoff_multiplier"]
        if multiplier is None:  # exponential policies grow the backoff; "sampled" keeps it
            multiplier = 2.0 if c["backoff_policy"].startswith("exponential-") else 1.0
        return CustomerSpec(c["max_attempts"], c["retry_backoff"], c["patience"], multiplier,
                            c["backoff_cap"], c["backoff_policy"], c["abandon_probability"])

    def path(self, raw: object, raw_tiers: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
        p = self.table(raw, _PATH, "path")
        defined = list(raw_tiers) if isinstance(raw_tiers, dict) else []
        if not p["tiers"]:
            raise self.fail("path.tiers", "must list at least one tier, in the order a checkout calls them",
                            [])
        self.defined("path.tiers", p["tiers"], defined, "tier", list(p["tiers"]))
        self.defined("path.dependencies", p["dependencies"], defined, "tier", list(p["dependencies"]))
        for name in p["dependencies"]:
            if name in p["tiers"]:
                raise self.fail("path.dependencies", f"{name!r} is also in path.tiers; a tier is either on "
                                "the path or a dependency", list(p["dependencies"]))
        return p["tiers"], p["dependencies"]

    def tiers(self, raw: dict, path: tuple[str, ...], dependencies: tuple[str, ...],
              zones: list[str]) -> dict[str, TierSpec]:
        tables = self.named("tiers", raw, _TIER, "tier")
        for name in tables:
            if name not in path and name not in dependencies:
                raise self.fail(f"tiers.{name}", "defined but not used: list it in path.tiers or "
                                "path.dependencies")
        specs = {name: self.tier(name, tables[name], raw[name], name in dependencies, zones)
                 for name in (*path, *dependencies)}
        for name, spec in specs.items():
            if spec.async_processing is not None and (name != path[-1]):
                raise self.fail(f"tiers.{name}.async", "only the last tier of path.tiers can be asynchronous "
                                "(the order is accepted there and processed later)", True)
        return specs

    def tier(self, name: str, v: dict[str, Any], raw: dict, dependency: bool, zones: list[str]) -> TierSpec:
        where = f"tiers.{name}"
        service = v["service_time"]
        if service is None:
            if not dependency:
                raise self.fail(f"{where}.service_time", "missing (required for a tier in path.tiers); "
                                f"must be {_SERVICE_TIME.allowed}")
            service = Deterministic(0.0)  # a dependency serves no requests of its own
        if v["min_healthy"] > v["replicas"]:
            raise self.fail(f"{where}.min_healthy", f"must be an integer from 1 to replicas "
                            f"({v['replicas']})", raw["min_healthy"])
        interval, delay = v["health_check_interval"], v["failover_delay"]
        if interval is None and "unhealthy_threshold" in raw:
            raise self.fail(f"{where}.unhealthy_threshold", "only allowed together with "
                            "health_check_interval", raw["unhealthy_threshold"])
        if interval is not None:
            if "failover_delay" in raw:
                raise self.fail(f"{where}.failover_delay", "not allowed together with health_check_interval: "
                                "the delay is then derived (health_check_interval × unhealthy_threshold)",
                                raw["failover_delay"])
            delay = interval * v["unhealthy_threshold"]  # worst case: the failure just after a check
        self.defined(f"{where}.zones", v["zones"], zones, "zone", list(v["zones"]))
        async_spec = None
        if v["async"]:
            async_spec = AsyncSpec(v["async_queue_capacity"], v["async_max_delay"])
        else:
            for key in ("async_queue_capacity", "async_max_delay"):
                if key in raw:
                    raise self.fail(f"{where}.{key}", "only allowed with async = true", raw[key])
        breaker = None
        if v["circuit_breaker"] is not None:
            b = self.table(v["circuit_breaker"], _BREAKER, f"{where}.circuit_breaker")
            breaker = CircuitBreakerSpec(b["failure_rate_threshold"], b["window"], b["min_calls"],
                                         b["open_duration"], b["half_open_probes"])
        return TierSpec(
            name=name, replicas=v["replicas"], service_time=service, concurrency=v["concurrency"],
            queue_limit=v["queue_limit"], mtbf=v["mtbf"], mttr=v["mttr"], repair_crews=v["repair_crews"],
            failover_delay_s=delay, min_healthy=v["min_healthy"], mode=v["mode"],
            load_balancing=v["load_balancing"], health_check_interval_s=interval,
            unhealthy_threshold=v["unhealthy_threshold"], failure_mode=v["failure_mode"], zones=v["zones"],
            circuit_breaker=breaker, async_processing=async_spec,
            replica_cost_per_hour=v["replica_cost_per_hour"])

    def outages(self, raw: object, tiers: dict[str, TierSpec], zones: list[str],
                horizon: float) -> tuple[OutageSpec, ...]:
        out = []
        for i, o in enumerate(self.array(raw, _OUTAGE, "outages")):
            where, given = f"outages.{i}", raw[i]  # type: ignore[index]  # array() checked raw is a list
            if (o["tier"] is None) == (o["zone"] is None):
                raise self.fail(where, "give exactly one of tier or zone")
            if o["tier"] is not None:
                self.defined(f"{where}.tier", [o["tier"]], list(tiers), "tier", o["tier"])
                limit = tiers[o["tier"]].replicas
                if o["replicas"] != ALL_REPLICAS and o["replicas"] > limit:
                    raise self.fail(f"{where}.replicas", f'must be "all" or an integer from 1 to the tier\'s '
                                    f"replicas ({limit})", given["replicas"])
            else:
                self.defined(f"{where}.zone", [o["zone"]], zones, "zone", o["zone"])
                if "replicas" in given:
                    raise self.fail(f"{where}.replicas", "not allowed with zone (a zone outage takes down "
                                    "every replica placed in the zone)", given["replicas"])
            self.before_horizon(f"{where}.start", o["start"], horizon, given["start"])
            out.append(OutageSpec(o["tier"], o["zone"], o["start"], o["duration"], o["replicas"]))
        return tuple(out)


# ---------------------------------------------------------------------------------------------
# Overrides: dotted keys set in the raw dict, checked against the schema.


def parse_toml_value(text: str) -> object:
    """A TOML value if ``text`` is one (``3``, ``inf``, ``true``, ``[...]``, ``{...}``), else the string."""
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    return parsed["v"] if list(parsed) == ["v"] else text


def _set(raw: dict, key: str, value: object) -> list[str]:
    """Set dotted ``key`` in ``raw``; it must be a key the schema knows, of a defined tier or zone.

    Returns the tables this created on the way (errors in them are the override's).
    """
    created = []
    node: _Table | _Named | _Array = _SCHEMA
    box: Any = raw
    parts = key.split(".")
    for i, part in enumerate(parts):
        here, where = ".".join(parts[: i + 1]), ".".join(parts[:i])
        slot: str | int = part
        if isinstance(node, _Table):
            if part not in node.keys:
                label = f"[{where}]" if where else ""
                raise ScenarioError(SET_SOURCE, here, _unknown(list(node.keys), part, label))
            child = node.keys[part]
        elif isinstance(node, _Named):
            if part not in box:
                defined = ", ".join(box) or "none"
                raise ScenarioError(SET_SOURCE, here, f"no {node.what} {part!r} in the scenario (defined: "
                                    f"{defined}); new {node.what}s can only be added in a file")
            child = node.item
        else:  # an _Array (a _Key is never descended into, see below)
            if not part.isdigit() or int(part) > len(box):
                raise ScenarioError(SET_SOURCE, here, f"expected an index from 0 to {len(box)} (to add one) "
                                    f"into [[{where}]], e.g. {where}.0.start")
            slot = int(part)
            if slot == len(box):
                box.append({})
                created.append(here)
            child = node.item
        if i == len(parts) - 1:
            box[slot] = value
            break
        if isinstance(child, _Key):
            raise ScenarioError(SET_SOURCE, key, f"{here} is a single value, not a table")
        if isinstance(box, dict) and slot not in box:
            box[slot] = [] if isinstance(child, _Array) else {}
            created.append(here)
        expected = list if isinstance(child, _Array) else dict
        if not isinstance(box[slot], expected):
            raise ScenarioError(SET_SOURCE, here, f"is {_show(box[slot])} in the scenario, not a table")
        node, box = child, box[slot]
    return created


def _apply_overrides(raw: dict, overrides: Sequence[str] | Mapping[str, object],
                     redundancy: int | None) -> dict[str, str]:
    """Apply ``redundancy``, then ``overrides``, to ``raw`` in place; return {changed key: source}."""
    changed: dict[str, str] = {}
    path, tiers = raw.get("path"), raw.get("tiers")
    if redundancy is not None and isinstance(path, dict) and isinstance(tiers, dict):
        for name in path.get("tiers") or []:
            if isinstance(name, str) and isinstance(tiers.get(name), dict):
                tiers[name]["replicas"] = redundancy
                changed[f"tiers.{name}.replicas"] = REDUNDANCY_SOURCE
    if isinstance(overrides, Mapping):
        items = [(str(k), v) for k, v in overrides.items()]
    else:
        items = []
        for text in [overrides] if isinstance(overrides, str) else overrides:  # one string is one override
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise ScenarioError(SET_SOURCE, "", f"{text!r}: expected KEY=VALUE such as tiers.x.mttr=45m")
            items.append((key.strip(), parse_toml_value(value.strip())))
    for key, value in items:
        if not all(key.split(".")):
            raise ScenarioError(SET_SOURCE, key, "not a dotted key such as tiers.web.replicas")
        for made in _set(raw, key, value):
            changed.setdefault(made, SET_SOURCE)
        changed[key] = SET_SOURCE
    return changed


# ---------------------------------------------------------------------------------------------
# Public API.


def builtin_scenarios_dir() -> Path:
    """The built-in scenarios: ``sim/scenarios`` in an installed wheel, else the repo's ``scenarios/``."""
    try:
        packaged = importlib.resources.files("sim") / "scenarios"
    except (ModuleNotFoundError, TypeError):
        packaged = None
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "scenarios"


def builtin_scenario_names() -> list[str]:
    """Names of the built-in scenarios (their file stems), sorted."""
    folder = builtin_scenarios_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def _locate(path_or_name: str | Path | None) -> tuple[Path, str]:
    """The file to read and the source to name in errors: an existing file, else a built-in."""
    given = "baseline" if path_or_name is None else path_or_name
    if Path(given).is_file():
        return Path(given), str(given)
    name = str(given).removesuffix(".toml")
    candidate = builtin_scenarios_dir() / f"{name}.toml"
    if _NAME.match(name) and candidate.is_file():
        return candidate, BUILTIN_SOURCE
    names = ", ".join(builtin_scenario_names()) or "none"
    raise ScenarioError(str(given), "", f"no such file or built-in scenario; built-ins: {names}")


def load_scenario(path_or_name: str | Path | None = None,
                  overrides: Sequence[str] | Mapping[str, object] = (),
                  redundancy: int | None = None) -> Scenario:
    """Read a scenario file (or a built-in by name; None: "baseline"), apply overrides, validate.

    ``overrides``: "KEY=VALUE" strings (VALUE read as a TOML value if it is one, else as a string)
    or a mapping {dotted key: value} (values used as given). ``redundancy`` sets ``replicas`` on
    every tier in ``path.tiers`` before the other overrides. Raises :class:`ScenarioError`.
    """
    path, source = _locate(path_or_name)
    raw = read_toml(path, source)
    changed = _apply_overrides(raw, overrides, redundancy)
    return _Validator(raw, source, path.stem, changed).scenario()


def read_toml(path: Path, source: str, error: type[ScenarioError] = ScenarioError,
              what: str = "the file") -> dict:
    """The TOML file at ``path`` as a dict; unreadable or invalid files raise ``error`` naming ``source``."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise error(source, "", f"invalid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or err
        raise error(source, "", f"cannot read {what}: {reason}") from None


def scenario_from_dict(raw: dict, source: str = "<dict>") -> Scenario:
    """Validate a TOML-shaped dict exactly like a file (``raw`` itself is not modified)."""
    if not isinstance(raw, dict):
        raise ScenarioError(source, "", "a scenario must be a table of sections")
    default_name = "scenario" if source.startswith("<") else Path(source).stem
    return _Validator(copy.deepcopy(raw), source, default_name, {}).scenario()


def _inf(x: float) -> float | str:
    return "inf" if math.isinf(x) else x


def _count(x: float) -> int | str:
    """A count the spec stores as a float (so it can be inf), written as TOML writes it."""
    return "inf" if math.isinf(x) else int(x)


def _tier_dict(t: TierSpec) -> dict[str, Any]:
    d: dict[str, Any] = {
        "replicas": t.replicas, "service_time": t.service_time.to_dict(),
        "concurrency": _count(t.concurrency), "queue_limit": _count(t.queue_limit),
        "mtbf": "inf" if t.mtbf is None else t.mtbf.to_dict(),
        "mttr": t.mttr.to_dict(), "repair_crews": _count(t.repair_crews), "min_healthy": t.min_healthy,
        "mode": t.mode, "load_balancing": t.load_balancing, "failure_mode": t.failure_mode,
        "zones": list(t.zones), "replica_cost_per_hour": t.replica_cost_per_hour,
        "async": t.async_processing is not None}
    if t.health_check_interval_s is None:
        d["failover_delay"] = t.failover_delay_s
    else:  # the failover delay is derived from these two
        d["health_check_interval"] = t.health_check_interval_s
        d["unhealthy_threshold"] = t.unhealthy_threshold
    if (a := t.async_processing) is not None:
        d["async_queue_capacity"] = _count(a.queue_capacity)
        d["async_max_delay"] = a.max_delay_s
    if (b := t.circuit_breaker) is not None:
        d["circuit_breaker"] = {"failure_rate_threshold": b.failure_rate_threshold, "window": b.window_s,
                                "min_calls": b.min_calls, "open_duration": b.open_duration_s,
                                "half_open_probes": b.half_open_probes}
    return d


def scenario_to_dict(s: Scenario) -> dict[str, Any]:
    """The TOML-shaped, JSON-serialisable form with every key explicit (durations in seconds).

    Optional parts that are absent stay absent: ``traffic.ramp``, ``[communication]``, a tier's
    ``circuit_breaker``, and keys only allowed together with another key (``async_*`` without
    async, ``unhealthy_threshold`` without ``health_check_interval``, ``failover_delay`` with it).
    ``scenario_from_dict(scenario_to_dict(s))`` equals ``s`` apart from ``source``.
    """
    tr, c, m = s.traffic, s.customer, s.communication
    d: dict[str, Any] = {
        "scenario": {"name": s.name, "description": s.description, "horizon": s.horizon_s,
                     "warmup": s.warmup_s, "replications": s.replications, "seed": s.seed},
        "traffic": {"arrival_rate": tr.arrival_rate_per_s, "daily_profile": list(tr.daily_profile),
                    "spikes": [{"start": x.start_s, "duration": x.duration_s, "multiplier": x.multiplier}
                               for x in tr.spikes]},
        "customer": {"max_attempts": c.max_attempts, "retry_backoff": c.retry_backoff.to_dict(),
                     "patience": c.patience.to_dict(), "backoff_multiplier": c.backoff_multiplier,
                     "backoff_cap": _inf(c.backoff_cap_s), "backoff_policy": c.backoff_policy,
                     "abandon_probability": c.abandon_probability},
        "path": {"tiers": list(s.path), "dependencies": list(s.dependencies)},
        "tiers": {t.name: _tier_dict(t) for t in s.tiers},
        "zones": {z.name: {"mtbf": "inf" if z.mtbf is None else z.mtbf.to_dict(), "mttr": z.mttr.to_dict()}
                  for z in s.zones},
        "outages": [{**({"tier": o.tier, "replicas": "all" if o.replicas == ALL_REPLICAS else o.replicas}
                        if o.tier is not None else {"zone": o.zone}),
                     "start": o.start_s, "duration": o.duration_s} for o in s.outages],
        "costs": {"order_value": s.costs.order_value, "currency": s.costs.currency},
    }
    if tr.ramp is not None:
        d["traffic"]["ramp"] = {"start": tr.ramp.start_s, "duration": tr.ramp.duration_s,
                                "to_multiplier": tr.ramp.to_multiplier}
    if m is not None:
        d["communication"] = {"status_page": m.status_page, "detection_delay": m.detection_delay_s,
                              "return_after": m.return_after.to_dict(),
                              "return_probability": m.return_probability}
    return d


def scenario_hash(s: Scenario) -> str:
    """Content identity of a scenario: 12 hex digits of sha256, independent of its ``source``."""
    canonical = json.dumps(scenario_to_dict(s), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def describe(s: Scenario) -> str:
    """One line: name, tiers × replicas, arrival rate, horizon, replications, then the description."""
    modes = {t.mode for t in s.path_tiers}
    one_mode = len(modes) == 1
    line = " → ".join(f"{t.name}×{t.replicas}" + ("" if one_mode else f" ({t.mode})") for t in s.path_tiers)
    parts = [line + (f" ({modes.pop()})" if one_mode else "")]
    if s.dependencies:
        parts[0] += " + " + ", ".join(f"{n}×{s.tier(n).replicas}" for n in s.dependencies)
    parts += [f"{s.traffic.arrival_rate_per_s:g} customers/s", f"horizon {format_duration(s.horizon_s)}",
              f"{s.replications} replications"]
    if s.outages:
        parts.append(f"{len(s.outages)} injected outage" + ("s" if len(s.outages) > 1 else ""))
    text = f"{s.name}: " + ", ".join(parts)
    return f"{text} — {s.description}" if s.description else text
