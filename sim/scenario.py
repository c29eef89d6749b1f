"""Scenario files: TOML in, a validated and fully resolved :class:`sim.spec.Scenario` out.

This is the boundary where everything is checked, once. Each section's keys are declared in one
schema (:mod:`sim.scenario_schema`: a parser and a default per key); unknown keys are rejected
with the allowed list, and every error is one line naming the file, the key, the bad value and
what is allowed. Overrides (``sim run --set KEY=VALUE``) are applied to the raw TOML before
validation, so they are checked exactly like the file. ``scenarios/README.md`` documents every key.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.resources
import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sim.distributions import (
    Deterministic,
)
from sim.durations import format_duration
from sim.scenario_schema import (
    BREAKER,
    COMMUNICATION,
    COSTS,
    CUSTOMER,
    DERIVED,
    OUTAGE,
    PATH,
    RAMP,
    REQUIRED,
    REQUIRED_SECTIONS,
    SCENARIO,
    SCHEMA,
    SERVICE_TIME,
    SPIKE,
    TIER,
    TRAFFIC,
    ZONE,
    ArrayOf,
    Invalid,
    Key,
    NamedTables,
    Parser,
    Table,
    undefined_message,
    unknown_key_message,
)
from sim.spec import (
    ALL_REPLICAS,
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
# Validation: the raw dict, section by section, into the frozen spec.


class _Validator:
    """Validates one raw scenario; ``overridden`` maps changed keys to the source to blame."""

    def __init__(self, raw: dict, source: str, default_name: str, overridden: Mapping[str, str]) -> None:
        self.raw, self.source, self.default_name, self.overridden = raw, source, default_name, overridden

    def fail(self, key: str, message: str, value: object = REQUIRED) -> ScenarioError:
        parts = key.split(".")
        prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
        source = next((self.overridden[k] for k in self.overridden if k in prefixes), self.source)
        return ScenarioError(source, key, message, None if value is REQUIRED else _show(value))

    def table(self, raw: object, schema: Table, where: str, label: str = "") -> dict[str, Any]:
        """The table's values with defaults filled in (sub-tables and arrays are left raw)."""
        label = label or f"[{where}]"
        if not isinstance(raw, dict):
            raise self.fail(where, f"must be a table {label} with keys {', '.join(schema.keys)}", raw)
        for key in raw:
            if key not in schema.keys:
                raise self.fail(f"{where}.{key}", unknown_key_message(list(schema.keys), key, label))
        out: dict[str, Any] = {}
        for key, node in schema.keys.items():
            if not isinstance(node, Key):
                out[key] = raw.get(key)
            elif key in raw:
                out[key] = self.parse(node.parser, raw[key], f"{where}.{key}")
            elif node.default is REQUIRED:
                raise self.fail(f"{where}.{key}", f"missing; must be {node.parser.allowed}")
            else:
                out[key] = None if node.default is DERIVED else node.parser(node.default)
        return out

    def parse(self, parser: Parser, value: object, key: str) -> Any:
        try:
            return parser(value)
        except Invalid as err:
            if err.subkey:
                raise self.fail(f"{key}.{err.subkey}", err.message, err.value) from None
            raise self.fail(key, err.message, value) from None

    def array(self, raw: object, schema: Table, where: str) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.fail(where, f"must be an array of tables, written [[{where}]]", raw)
        return [self.table(item, schema, f"{where}.{i}", f"[[{where}]]") for i, item in enumerate(raw)]

    def named(self, section: str, raw: object, schema: Table, what: str) -> dict[str, dict[str, Any]]:
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
                raise self.fail(key, undefined_message(name, defined, what), shown)

    def before_horizon(self, key: str, start_s: float, horizon_s: float, raw: object) -> None:
        if start_s >= horizon_s:
            raise self.fail(key, f"must be before the horizon ({format_duration(horizon_s)})", raw)

    def scenario(self) -> Scenario:
        raw = self.raw
        for key in raw:
            if key not in SCHEMA.keys:
                raise self.fail(key, unknown_key_message(list(SCHEMA.keys), key, ""))
        for section in REQUIRED_SECTIONS:
            if section not in raw:
                raise self.fail(section, f"missing required section [{section}]")
        sc = self.table(raw.get("scenario", {}), SCENARIO, "scenario")
        horizon = sc["horizon"]
        if sc["warmup"] >= horizon:
            raise self.fail("scenario.warmup", "must be shorter than the horizon "
                            f"({format_duration(horizon)})", raw["scenario"]["warmup"])
        traffic = self.traffic(raw["traffic"], horizon)
        customer = self.customer(raw.get("customer", {}))
        zones = self.named("zones", raw.get("zones", {}), ZONE, "zone")
        path, dependencies = self.path(raw["path"], raw["tiers"])
        tiers = self.tiers(raw["tiers"], path, dependencies, list(zones))
        outages = self.outages(raw.get("outages"), tiers, list(zones), horizon)
        communication = None
        if "communication" in raw:
            c = self.table(raw["communication"], COMMUNICATION, "communication")
            communication = CommunicationSpec(c["status_page"], c["detection_delay"], c["return_after"],
                                              c["return_probability"])
        costs = self.table(raw.get("costs", {}), COSTS, "costs")
        return Scenario(
            name=sc["name"] or self.default_name, description=sc["description"], horizon_s=horizon,
            warmup_s=sc["warmup"], replications=sc["replications"], seed=sc["seed"], traffic=traffic,
            customer=customer, path=path, tiers=tuple(tiers.values()), dependencies=dependencies,
            zones=tuple(ZoneSpec(name, z["mtbf"], z["mttr"]) for name, z in zones.items()),
            outages=outages, communication=communication,
            costs=CostSpec(costs["order_value"], costs["currency"]), source=self.source)

    def traffic(self, raw: object, horizon: float) -> TrafficSpec:
        t = self.table(raw, TRAFFIC, "traffic")
        spikes = []
        for i, s in enumerate(self.array(t["spikes"], SPIKE, "traffic.spikes")):
            self.before_horizon(f"traffic.spikes.{i}.start", s["start"], horizon, t["spikes"][i]["start"])
            spikes.append(SpikeSpec(s["start"], s["duration"], s["multiplier"]))
        ramp = None
        if t["ramp"] is not None:
            r = self.table(t["ramp"], RAMP, "traffic.ramp")
            ramp = RampSpec(r["start"], r["duration"], r["to_multiplier"])
        return TrafficSpec(t["arrival_rate"], t["daily_profile"], tuple(spikes), ramp)

    def customer(self, raw: object) -> CustomerSpec:
        c = self.table(raw, CUSTOMER, "customer")
        multiplier = c["backoff_multiplier"]
        if multiplier is None:  # exponential policies grow the backoff; "sampled" keeps it
            multiplier = 2.0 if c["backoff_policy"].startswith("exponential-") else 1.0
        return CustomerSpec(c["max_attempts"], c["retry_backoff"], c["patience"], multiplier,
                            c["backoff_cap"], c["backoff_policy"], c["abandon_probability"])

    def path(self, raw: object, raw_tiers: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
        p = self.table(raw, PATH, "path")
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
        tables = self.named("tiers", raw, TIER, "tier")
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
                                f"must be {SERVICE_TIME.allowed}")
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
            b = self.table(v["circuit_breaker"], BREAKER, f"{where}.circuit_breaker")
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
        for i, o in enumerate(self.array(raw, OUTAGE, "outages")):
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
    node: Table | NamedTables | ArrayOf = SCHEMA
    box: Any = raw
    parts = key.split(".")
    for i, part in enumerate(parts):
        here, where = ".".join(parts[: i + 1]), ".".join(parts[:i])
        slot: str | int = part
        if isinstance(node, Table):
            if part not in node.keys:
                label = f"[{where}]" if where else ""
                raise ScenarioError(SET_SOURCE, here, unknown_key_message(list(node.keys), part, label))
            child = node.keys[part]
        elif isinstance(node, NamedTables):
            if part not in box:
                defined = ", ".join(box) or "none"
                raise ScenarioError(SET_SOURCE, here, f"no {node.what} {part!r} in the scenario (defined: "
                                    f"{defined}); new {node.what}s can only be added in a file")
            child = node.item
        else:  # an ArrayOf (a Key is never descended into, see below)
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
        if isinstance(child, Key):
            raise ScenarioError(SET_SOURCE, key, f"{here} is a single value, not a table")
        if isinstance(box, dict) and slot not in box:
            box[slot] = [] if isinstance(child, ArrayOf) else {}
            created.append(here)
        expected = list if isinstance(child, ArrayOf) else dict
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
