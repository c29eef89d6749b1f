"""Validation: a raw TOML-shaped dict, section by section, into the frozen spec.

This is the boundary where everything is checked, once. Each section's keys are declared in one
schema (:mod:`sim.scenario.schema`: a parser and a default per key); unknown keys are rejected
with the allowed list, and every error is one line naming the file, the key, the bad value and
what is allowed. ``scenarios/README.md`` documents every key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.random.distributions import (
    Deterministic,
)
from sim.scenario.durations import format_duration
from sim.scenario.errors import NAME_PATTERN, ScenarioError, quoted, shorten, show_value
from sim.scenario.schema import (
    BREAKER,
    COMMUNICATION,
    COSTS,
    CUSTOMER,
    DERIVED,
    HOP_RETRY,
    OUTAGE,
    PATH,
    RAMP,
    REQUIRED,
    REQUIRED_SECTIONS,
    SCENARIO,
    SCHEMA,
    SERVICE_TIME,
    SLO,
    SPIKE,
    THRESHOLD_ONLY,
    TIER,
    TRAFFIC,
    ZONE,
    Invalid,
    Key,
    Parser,
    Table,
    undefined_message,
    unknown_key_message,
)
from sim.scenario.spec import (
    ALL_REPLICAS,
    AsyncSpec,
    CircuitBreakerSpec,
    CommunicationSpec,
    CostSpec,
    CustomerSpec,
    HopRetrySpec,
    OutageSpec,
    RampSpec,
    Scenario,
    SloSpec,
    SpikeSpec,
    TierSpec,
    TrafficSpec,
    ZoneSpec,
)

# ---------------------------------------------------------------------------------------------
# Validation: the raw dict, section by section, into the frozen spec.


class Validator:
    """Validates one raw scenario; ``overridden`` maps changed keys to the source to blame."""

    def __init__(self, raw: dict, source: str, default_name: str, overridden: Mapping[str, str]) -> None:
        self.raw, self.source, self.default_name, self.overridden = raw, source, default_name, overridden

    def fail(self, key: str, message: str, value: object = REQUIRED) -> ScenarioError:
        parts = key.split(".")
        prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
        source = next((self.overridden[k] for k in self.overridden if k in prefixes), self.source)
        return ScenarioError(source, key, message, None if value is REQUIRED else show_value(value))

    def table(self, raw: object, schema: Table, where: str, label: str = "") -> dict[str, Any]:
        """The table's values with defaults filled in (sub-tables and arrays are left raw)."""
        label = label or f"[{shorten(where)}]"
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
            if not NAME_PATTERN.match(name):
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
        slo = self.slo(raw["slo"]) if "slo" in raw else None
        return Scenario(
            name=sc["name"] or self.default_name, description=sc["description"], horizon_s=horizon,
            warmup_s=sc["warmup"], replications=sc["replications"], seed=sc["seed"], traffic=traffic,
            customer=customer, path=path, tiers=tuple(tiers.values()), dependencies=dependencies,
            zones=tuple(ZoneSpec(name, z["mtbf"], z["mttr"]) for name, z in zones.items()),
            outages=outages, communication=communication,
            costs=CostSpec(costs["order_value"], costs["currency"]), slo=slo, source=self.source)

    def slo(self, raw: object) -> SloSpec:
        s = self.table(raw, SLO, "slo")
        if all(s[k] is None for k in ("availability", "checkout_success", "latency_p95")):
            raise self.fail("slo", "needs at least one objective: availability, checkout_success or "
                            "latency_p95", raw)
        return SloSpec(s["window"], s["availability"], s["checkout_success"], s["latency_p95"])

    def traffic(self, raw: object, horizon: float) -> TrafficSpec:
        t = self.table(raw, TRAFFIC, "traffic")
        if t["model"] == "closed":
            return self.closed_traffic(t, raw)  # type: ignore[arg-type]  # table() checked it is a dict
        for key in ("clients", "think_time"):
            if t[key] is not None:
                raise self.fail(f"traffic.{key}", 'only allowed with model = "closed"', raw[key])  # type: ignore[index]
        if t["arrival_rate"] is None:
            allowed = TRAFFIC.keys["arrival_rate"].parser.allowed  # type: ignore[union-attr]  # a Key
            raise self.fail("traffic.arrival_rate", f"missing; must be {allowed}")
        spikes = []
        for i, s in enumerate(self.array(t["spikes"], SPIKE, "traffic.spikes")):
            self.before_horizon(f"traffic.spikes.{i}.start", s["start"], horizon, t["spikes"][i]["start"])
            spikes.append(SpikeSpec(s["start"], s["duration"], s["multiplier"]))
        ramp = None
        if t["ramp"] is not None:
            r = self.table(t["ramp"], RAMP, "traffic.ramp")
            ramp = RampSpec(r["start"], r["duration"], r["to_multiplier"])
        return TrafficSpec(t["arrival_rate"], t["daily_profile"], tuple(spikes), ramp)

    def closed_traffic(self, t: dict[str, Any], raw: dict) -> TrafficSpec:
        """A closed population: clients and think time, no rate of its own and no rate multipliers."""
        for key in ("arrival_rate", "daily_profile", "spikes", "ramp"):
            if key in raw:
                raise self.fail(f"traffic.{key}", 'not allowed with model = "closed" (the clients and their '
                                "think time set the load; trigger an overload with [[outages]])", raw[key])
        for key in ("clients", "think_time"):
            if t[key] is None:
                allowed = TRAFFIC.keys[key].parser.allowed  # type: ignore[union-attr]  # both are Keys
                raise self.fail(f"traffic.{key}", 'missing (required with model = "closed"); '
                                f"must be {allowed}")
        think = t["think_time"]
        if not think.mean > 0:
            raise self.fail("traffic.think_time", "must have a mean > 0", raw["think_time"])
        return TrafficSpec(t["clients"] / think.mean, model="closed", clients=t["clients"], think_time=think)

    def customer(self, raw: object) -> CustomerSpec:
        c = self.table(raw, CUSTOMER, "customer")
        multiplier = c["backoff_multiplier"]
        if multiplier is None:  # exponential policies grow the backoff; "sampled" keeps it
            multiplier = 2.0 if c["backoff_policy"].startswith("exponential-") else 1.0
        return CustomerSpec(c["max_attempts"], c["retry_backoff"], c["patience"], multiplier,
                            c["backoff_cap"], c["backoff_policy"], c["abandon_probability"],
                            c["retry_budget"])

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
                raise self.fail("path.dependencies", f"{quoted(name)} is also in path.tiers; a tier is "
                                "either on the path or a dependency", list(p["dependencies"]))
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
            self.call_path(name, spec, raw[name], path)
        return specs

    def call_path(self, name: str, spec: TierSpec, raw: dict, path: tuple[str, ...]) -> None:
        """Hop retries, charging and per-caller breakers need a tier that another tier calls."""
        where = f"tiers.{name}"
        if spec.retry is not None:
            if name not in path:
                raise self.fail(f"{where}.retry", "only for a tier in path.tiers "
                                "(nothing calls a dependency)")
            if name == path[0]:
                raise self.fail(f"{where}.retry", "not for the first tier of path.tiers: customers call it "
                                "(use [customer] max_attempts and retry_budget)")
            if spec.async_processing is not None:
                raise self.fail(f"{where}.retry", "not with async = true (the backlog retries its orders)")
        if spec.idempotency is not None and (name not in path or spec.async_processing is not None):
            raise self.fail(f"{where}.idempotency", "only for a synchronous tier in path.tiers (the tier "
                            "that charges)", raw["idempotency"])
        b = spec.circuit_breaker
        if b is not None and b.scope == "caller-replica" and spec.retry is None:
            raise self.fail(f"{where}.circuit_breaker.scope", '"caller-replica" needs a [' + where
                            + '.retry] table (calls made by the previous tier\'s replicas)', b.scope)

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
            if b["kind"] == "adaptive":
                for key in THRESHOLD_ONLY:
                    if key in v["circuit_breaker"]:
                        raise self.fail(f"{where}.circuit_breaker.{key}", 'only with kind = "threshold" (an '
                                        "adaptive breaker has no open state)", v["circuit_breaker"][key])
            elif "defensiveness" in v["circuit_breaker"]:
                raise self.fail(f"{where}.circuit_breaker.defensiveness", 'only with kind = "adaptive"',
                                v["circuit_breaker"]["defensiveness"])
            breaker = CircuitBreakerSpec(b["failure_rate_threshold"], b["window"], b["min_calls"],
                                         b["open_duration"], b["half_open_probes"], b["scope"], b["kind"],
                                         b["defensiveness"])
        retry = None
        if v["retry"] is not None:
            r = self.table(v["retry"], HOP_RETRY, f"{where}.retry")
            multiplier = r["backoff_multiplier"]
            if multiplier is None:  # as for customers: exponential policies grow the backoff
                multiplier = 2.0 if r["backoff_policy"].startswith("exponential-") else 1.0
            retry = HopRetrySpec(r["attempts"], r["timeout"], r["backoff"], r["backoff_policy"], multiplier,
                                 r["backoff_cap"], r["budget"], r["budget_scope"])
        return TierSpec(
            name=name, replicas=v["replicas"], service_time=service, concurrency=v["concurrency"],
            queue_limit=v["queue_limit"], mtbf=v["mtbf"], mttr=v["mttr"], repair_crews=v["repair_crews"],
            failover_delay_s=delay, min_healthy=v["min_healthy"], mode=v["mode"],
            load_balancing=v["load_balancing"], health_check_interval_s=interval,
            unhealthy_threshold=v["unhealthy_threshold"], failure_mode=v["failure_mode"], zones=v["zones"],
            circuit_breaker=breaker, async_processing=async_spec,
            replica_cost_per_hour=v["replica_cost_per_hour"],
            service_time_per_in_flight_s=v["service_time_per_in_flight"], retry=retry,
            idempotency=v["idempotency"])

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


