"""Scenario files: parsing, defaults, overrides, round trips and one-line error messages."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import pickle
import re
import tomllib
from pathlib import Path

import pytest

from sim.random.distributions import Deterministic, Exponential, LogNormal, Uniform, Weibull
from sim.scenario import (
    ScenarioError,
    builtin_scenario_names,
    builtin_scenarios_dir,
    describe,
    load_scenario,
    scenario_from_dict,
    scenario_hash,
    scenario_to_dict,
)
from sim.scenario import load as scenario_module
from sim.scenario.convert import arrival_rates
from sim.scenario.spec import (
    ALL_REPLICAS,
    AsyncSpec,
    CircuitBreakerSpec,
    CommunicationSpec,
    CostSpec,
    OutageSpec,
    RampSpec,
    SpikeSpec,
    ZoneSpec,
)

MINIMAL = """
[traffic]
arrival_rate = 20

[path]
tiers = ["web", "payment"]

[tiers.web]
replicas = 2
service_time = "200ms"

[tiers.payment]
replicas = 2
service_time = "400ms"
"""

FULL = """
[scenario]
name = "full"
description = "Every key"
horizon = "2d"
warmup = "1h"
replications = 5
seed = 42

[traffic]
arrival_rate = 12.5
daily_profile = [0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1, 1, 1, 1,
                 1.2, 1.2, 1, 1, 1, 1.1, 1.3, 1.5, 1.4, 1, 0.6, 0.3]

[[traffic.spikes]]
start = "10h"
duration = "30m"
multiplier = 3

[traffic.ramp]
start = "20h"
duration = "2h"
to_multiplier = 2.5

[customer]
max_attempts = 4
retry_backoff = { dist = "uniform", low = "1s", high = "5s" }
patience = "inf"
backoff_cap = "2m"
backoff_policy = "exponential-full-jitter"
abandon_probability = 0.25

[path]
tiers = ["web", "payment"]
dependencies = ["db"]

[tiers.web]
replicas = 3
service_time = { dist = "lognormal", mean = "200ms", cv = 1.5 }
concurrency = 32
queue_limit = 100
mtbf = { dist = "weibull", mean = "12h", shape = 2.0 }
mttr = "20m"
repair_crews = 1
min_healthy = 2
mode = "active-passive"
load_balancing = "least-outstanding"
health_check_interval = "5s"
unhealthy_threshold = 3
failure_mode = "hang"
zones = ["a", "b"]
replica_cost_per_hour = 0.5

[tiers.web.circuit_breaker]
failure_rate_threshold = 0.4
window = "20s"
min_calls = 5
open_duration = "1m"
half_open_probes = 2

[tiers.payment]
replicas = 2
service_time = { dist = "deterministic", value = "400ms" }
mtbf = 43200
mttr = { dist = "exponential", mean = "30m" }
failover_delay = "10s"
async = true
async_queue_capacity = 1000
async_max_delay = "1h"

[tiers.db]
mtbf = "30d"
mttr = "2h"

[zones.a]
mtbf = "60d"
mttr = "3h"

[zones.b]

[[outages]]
tier = "payment"
start = "6h"
duration = "45m"
replicas = 1

[[outages]]
zone = "a"
start = "30h"
duration = "1h"

[communication]
status_page = true
detection_delay = "3m"
return_after = "1h"
return_probability = 0.7

[costs]
order_value = 80.0
currency = "EUR"
"""


def write(tmp_path: Path, text: str, name: str = "x.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def setkey(raw: dict, key: str, value: object) -> dict:
    """Set a dotted key in a raw scenario dict (list indices as numbers); return the dict."""
    *parents, last = key.split(".")
    box: object = raw
    for part in parents:
        box = box[int(part)] if isinstance(box, list) else box.setdefault(part, {})  # type: ignore[union-attr]
    if isinstance(box, list):
        box[int(last)] = value
    else:
        box[last] = value  # type: ignore[index]
    return raw


def minimal_raw() -> dict:
    return tomllib.loads(MINIMAL)


# --- valid files ---------------------------------------------------------------------------


def test_full_file(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    s = load_scenario(path)
    assert (s.name, s.description, s.source) == ("full", "Every key", str(path))
    assert (s.horizon_s, s.warmup_s, s.replications, s.seed) == (172800.0, 3600.0, 5, 42)
    assert s.traffic.arrival_rate_per_s == 12.5
    assert len(s.traffic.daily_profile) == 24 and s.traffic.daily_profile[19] == 1.5
    assert s.traffic.spikes == (SpikeSpec(36000.0, 1800.0, 3.0),)
    assert s.traffic.ramp == RampSpec(72000.0, 7200.0, 2.5)
    c = s.customer
    assert (c.max_attempts, c.retry_backoff, c.patience) == (4, Uniform(1.0, 5.0), Deterministic(math.inf))
    assert (c.backoff_multiplier, c.backoff_cap_s) == (2.0, 120.0)
    assert c.backoff_policy == "exponential-full-jitter"
    assert c.abandon_probability == 0.25
    assert s.path == ("web", "payment") and s.dependencies == ("db",)
    assert [t.name for t in s.tiers] == ["web", "payment", "db"]
    web = s.tier("web")
    assert web.replicas == 3 and web.service_time == LogNormal(0.2, 1.5)
    assert (web.concurrency, web.queue_limit, web.repair_crews) == (32.0, 100.0, 1.0)
    assert web.mtbf == Weibull(43200.0, 2.0) and web.mttr == Exponential(1200.0)
    assert (web.min_healthy, web.mode, web.load_balancing) == (2, "active-passive", "least-outstanding")
    assert (web.health_check_interval_s, web.unhealthy_threshold, web.failover_delay_s) == (5.0, 3, 15.0)
    assert (web.failure_mode, web.zones, web.replica_cost_per_hour) == ("hang", ("a", "b"), 0.5)
    assert web.circuit_breaker == CircuitBreakerSpec(0.4, 20.0, 5, 60.0, 2)
    assert web.async_processing is None
    pay = s.tier("payment")
    assert pay.service_time == Deterministic(0.4) and pay.mtbf == Exponential(43200.0)
    assert pay.mttr == Exponential(1800.0) and pay.failover_delay_s == 10.0
    assert pay.async_processing == AsyncSpec(1000.0, 3600.0) and pay.circuit_breaker is None
    db = s.tier("db")
    assert db.service_time == Deterministic(0.0) and db.mtbf == Exponential(30 * 86400.0) and db.replicas == 1
    assert s.zones == (ZoneSpec("a", Exponential(60 * 86400.0), Exponential(10800.0)),
                       ZoneSpec("b", None, Exponential(3600.0)))
    assert s.outages == (OutageSpec("payment", None, 21600.0, 2700.0, 1),
                         OutageSpec(None, "a", 108000.0, 3600.0, ALL_REPLICAS))
    assert s.communication == CommunicationSpec(True, 180.0, Exponential(3600.0), 0.7)
    assert s.costs == CostSpec(80.0, "EUR")


def test_defaults(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, MINIMAL, "shop.toml"))
    assert (s.name, s.description, s.horizon_s, s.warmup_s, s.replications, s.seed) == (
        "shop", "", 86400.0, 0.0, 10, 1)
    assert s.traffic.daily_profile == () and s.traffic.spikes == () and s.traffic.ramp is None
    c = s.customer
    assert (c.max_attempts, c.retry_backoff, c.patience) == (1, Exponential(10.0), Deterministic(30.0))
    assert (c.backoff_multiplier, c.backoff_cap_s, c.backoff_policy, c.abandon_probability) == (
        1.0, math.inf, "sampled", 0.0)
    web = s.tier("web")
    assert web.service_time == Exponential(0.2)
    assert (web.concurrency, web.queue_limit, web.repair_crews) == (math.inf, math.inf, math.inf)
    assert (web.mtbf, web.mttr, web.failover_delay_s, web.min_healthy) == (None, Exponential(1800.0), 0.0, 1)
    assert (web.mode, web.load_balancing, web.failure_mode) == ("active-active", "round-robin", "error")
    assert (web.health_check_interval_s, web.unhealthy_threshold, web.zones) == (None, 1, ())
    assert web.circuit_breaker is None and web.async_processing is None and web.replica_cost_per_hour == 0.0
    assert s.dependencies == () and s.zones == () and s.outages == ()
    assert s.communication is None and s.costs == CostSpec(0.0, "USD")


def test_section_defaults_when_tables_are_empty() -> None:
    raw = setkey(minimal_raw(), "tiers.web.circuit_breaker", {})
    setkey(raw, "tiers.payment.async", True)
    raw["communication"] = {}
    s = scenario_from_dict(raw)
    assert s.tier("web").circuit_breaker == CircuitBreakerSpec(0.5, 10.0, 10, 30.0, 3)
    assert s.tier("payment").async_processing == AsyncSpec(math.inf, 7200.0)
    assert s.communication == CommunicationSpec(False, 300.0, Exponential(1800.0), 0.5)


@pytest.mark.parametrize(("value", "expected"), [
    ("20m", Exponential(1200.0)),
    (90, Exponential(90.0)),
    ({"dist": "exponential", "mean": "10s"}, Exponential(10.0)),
    ({"dist": "deterministic", "value": "5s"}, Deterministic(5.0)),
    ({"dist": "lognormal", "mean": "20m", "cv": 1.5}, LogNormal(1200.0, 1.5)),
    ({"dist": "weibull", "mean": "12h", "shape": 2.0}, Weibull(43200.0, 2.0)),
    ({"dist": "uniform", "low": "1s", "high": "5s"}, Uniform(1.0, 5.0)),
    ({"dist": "uniform", "low": 0, "high": "5s"}, Uniform(0.0, 5.0)),
])
def test_distribution_forms(value: object, expected: object) -> None:
    assert scenario_from_dict(setkey(minimal_raw(), "tiers.web.mttr", value)).tier("web").mttr == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("45s", Deterministic(45.0)),
    (60, Deterministic(60.0)),
    ("inf", Deterministic(math.inf)),
    ({"dist": "deterministic", "value": "inf"}, Deterministic(math.inf)),
    ({"dist": "uniform", "low": "10s", "high": "1m"}, Uniform(10.0, 60.0)),
])
def test_patience_plain_duration_is_deterministic(value: object, expected: object) -> None:
    assert scenario_from_dict(setkey(minimal_raw(), "customer.patience", value)).customer.patience == expected


@pytest.mark.parametrize("value", ["inf", math.inf, "never"])
def test_mtbf_inf_means_never_fails(value: object) -> None:
    assert scenario_from_dict(setkey(minimal_raw(), "tiers.web.mtbf", value)).tier("web").mtbf is None


@pytest.mark.parametrize(("value", "seconds"), [
    ("200ms", 0.2), ("30s", 30.0), ("45m", 2700.0), ("2h", 7200.0), ("1d", 86400.0), ("1.5h", 5400.0),
    (90, 90.0), (2.5, 2.5),
])
def test_durations_with_units(value: object, seconds: float) -> None:
    s = scenario_from_dict(setkey(minimal_raw(), "scenario.horizon", value))
    assert s.horizon_s == seconds


def test_integral_float_accepted_for_int_keys() -> None:
    assert scenario_from_dict(setkey(minimal_raw(), "tiers.web.replicas", 3.0)).tier("web").replicas == 3


def test_backoff_multiplier_default_follows_policy() -> None:
    raw = setkey(minimal_raw(), "customer.backoff_policy", "exponential-equal-jitter")
    assert scenario_from_dict(raw).customer.backoff_multiplier == 2.0
    setkey(raw, "customer.backoff_policy", "decorrelated-jitter")
    assert scenario_from_dict(raw).customer.backoff_multiplier == 1.0
    setkey(raw, "customer.backoff_multiplier", 3)
    assert scenario_from_dict(raw).customer.backoff_multiplier == 3.0


def test_health_check_derives_failover_delay() -> None:
    raw = setkey(minimal_raw(), "tiers.web.health_check_interval", "10s")
    assert scenario_from_dict(raw).tier("web").failover_delay_s == 10.0
    setkey(raw, "tiers.web.unhealthy_threshold", 2)
    assert scenario_from_dict(raw).tier("web").failover_delay_s == 20.0


def test_scenario_from_dict_does_not_modify_its_argument() -> None:
    raw = minimal_raw()
    before = copy.deepcopy(raw)
    scenario_from_dict(raw)
    assert raw == before


# --- round trip, hash, describe ----------------------------------------------------------


@pytest.mark.parametrize("text", [MINIMAL, FULL])
def test_round_trip(tmp_path: Path, text: str) -> None:
    s = load_scenario(write(tmp_path, text))
    d = scenario_to_dict(s)
    d = json.loads(json.dumps(d, allow_nan=False))  # JSON-serialisable, no bare infinities
    back = scenario_from_dict(d)
    assert back == dataclasses.replace(s, source=back.source)
    assert scenario_to_dict(back) == d


def test_to_dict_is_explicit() -> None:
    d = scenario_to_dict(scenario_from_dict(minimal_raw()))
    assert d["scenario"]["horizon"] == 86400.0 and d["scenario"]["name"] == "scenario"
    assert d["customer"]["patience"] == {"dist": "deterministic", "value": 30.0}
    assert d["customer"]["backoff_cap"] == "inf"
    web = d["tiers"]["web"]
    assert web["mtbf"] == "inf" and web["concurrency"] == "inf" and web["failover_delay"] == 0.0
    assert web["service_time"] == {"dist": "exponential", "mean": 0.2}
    assert web["mttr"] == {"dist": "exponential", "mean": 1800.0}


def test_hash_is_content_identity(tmp_path: Path) -> None:
    a = load_scenario(write(tmp_path, MINIMAL, "a.toml"))
    b = scenario_from_dict(scenario_to_dict(a), source="elsewhere.toml")
    assert scenario_hash(a) == scenario_hash(b) == scenario_hash(a)
    assert len(scenario_hash(a)) == 12 and int(scenario_hash(a), 16) >= 0
    c = load_scenario(write(tmp_path, MINIMAL, "a.toml"), overrides=["tiers.web.replicas=3"])
    assert scenario_hash(c) != scenario_hash(a)


def test_describe() -> None:
    raw = setkey(minimal_raw(), "scenario.name", "baseline")
    setkey(raw, "scenario.description", "Two web replicas")
    text = describe(scenario_from_dict(raw))
    assert text == ("baseline: web×2 → payment×2 (active-active), open arrivals, 20 customers/s, horizon 1d, "
                    "10 replications — Two web replicas")


def test_describe_full(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, FULL))
    text = describe(scenario)
    # a time-varying rate: its mean over the measured window and its peak, not the base rate 12.5/s
    mean, peak = arrival_rates(scenario)
    assert scenario.traffic.time_varying and mean != 12.5
    assert text.startswith("full: web×3 (active-passive) → payment×2 (active-active) + db×1, "
                           f"open arrivals, {mean:.3g} customers/s on average (peak {peak:.3g}), ")
    assert "horizon 2d" in text and "2 injected outages" in text and text.endswith("— Every key")


# --- overrides -----------------------------------------------------------------------------


def test_string_overrides_are_toml_typed(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    s = load_scenario(path, overrides=[
        "tiers.payment.mttr=45m", "tiers.web.replicas=3", "customer.abandon_probability=0.5",
        "tiers.payment.async=true", "tiers.web.queue_limit=inf", "tiers.web.concurrency = 8",
        "scenario.description=plain words",
        'tiers.web.mtbf={ dist = "lognormal", mean = "20m", cv = 1.5 }', 'scenario.name="quoted"'])
    assert s.tier("payment").mttr == Exponential(2700.0)
    assert s.tier("web").replicas == 3 and s.customer.abandon_probability == 0.5
    assert s.tier("payment").async_processing == AsyncSpec(math.inf, 7200.0)
    assert s.tier("web").queue_limit == math.inf and s.tier("web").concurrency == 8.0
    assert s.description == "plain words" and s.name == "quoted"
    assert s.tier("web").mtbf == LogNormal(1200.0, 1.5)
    assert load_scenario(write(tmp_path, MINIMAL), overrides="tiers.web.replicas=5").tier("web").replicas == 5


def test_override_list_value_and_absent_key(tmp_path: Path) -> None:
    text = MINIMAL + '\n[zones.a]\n[zones.b]\n'
    s = load_scenario(write(tmp_path, text), overrides=['tiers.web.zones=["a", "b"]', "tiers.web.mtbf=6h"])
    assert s.tier("web").zones == ("a", "b") and s.tier("web").mtbf == Exponential(21600.0)


def test_mapping_overrides_use_values_as_given(tmp_path: Path) -> None:
    overrides = {"tiers.web.replicas": 4, "traffic.arrival_rate": 2.5,
                 "tiers.web.circuit_breaker.window": "5s"}  # creates the breaker table
    s = load_scenario(write(tmp_path, MINIMAL), overrides=overrides)
    assert s.tier("web").replicas == 4 and s.traffic.arrival_rate_per_s == 2.5
    assert s.tier("web").circuit_breaker == CircuitBreakerSpec(0.5, 5.0, 10, 30.0, 3)


def test_override_list_index(tmp_path: Path) -> None:
    text = MINIMAL + '\n[[outages]]\ntier = "web"\nstart = "1h"\nduration = "10m"\n'
    s = load_scenario(write(tmp_path, text), overrides=["outages.0.duration=30m", "outages.0.replicas=1"])
    assert s.outages == (OutageSpec("web", None, 3600.0, 1800.0, 1),)
    s = load_scenario(write(tmp_path, text), overrides=[
        "outages.1.tier=payment", "outages.1.start=2h", "outages.1.duration=5m"])  # index == length: append
    assert s.outages[1] == OutageSpec("payment", None, 7200.0, 300.0, ALL_REPLICAS)


@pytest.mark.parametrize(("override", "key", "fragments"), [
    ("tiers.web.mtfb=1h", "tiers.web.mtfb",
     ["unknown key", "allowed keys in [tiers.web]", "did you mean 'mtbf'?"]),
    ("tiers.db.replicas=2", "tiers.db", ["no tier 'db'", "defined: web, payment"]),
    ("traffic.arival_rate=3", "traffic.arival_rate", ["did you mean 'arrival_rate'?"]),
    ("tier.web.replicas=2", "tier", ["unknown section", "did you mean 'tiers'?"]),
    ("outages.3.start=1h", "outages.3", ["expected an index from 0 to 0"]),
    ("tiers.web.replicas.x=1", "tiers.web.replicas.x", ["single value"]),
])
def test_override_key_errors(tmp_path: Path, override: str, key: str, fragments: list[str]) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, MINIMAL), overrides=[override])
    assert (info.value.source, info.value.key) == ("--set", key)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_override_bad_value_is_validated_like_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, MINIMAL), overrides=["tiers.web.mttr=-5m"])
    assert str(info.value) == (
        '--set: tiers.web.mttr = "-5m": must be a positive duration such as "20m" or 1200 (seconds), '
        'or a distribution table like { dist = "lognormal", mean = "20m", cv = 1.5 }')
    with pytest.raises(ScenarioError,
                       match=r"^--set: tiers\.web\.replicas = 0: must be an integer >= 1, at most 1,000$"):
        load_scenario(write(tmp_path, MINIMAL), overrides={"tiers.web.replicas": 0})
    with pytest.raises(ScenarioError, match="expected KEY=VALUE"):
        load_scenario(write(tmp_path, MINIMAL), overrides=["tiers.web.replicas"])


def test_redundancy(tmp_path: Path) -> None:
    text = MINIMAL.replace('tiers = ["web", "payment"]', 'tiers = ["web", "payment"]\ndependencies = ["db"]')
    path = write(tmp_path, text + "\n[tiers.db]\nreplicas = 2\n")
    s = load_scenario(path, redundancy=3)
    assert [t.replicas for t in s.tiers] == [3, 3, 2]  # dependencies keep theirs
    s = load_scenario(path, overrides=["tiers.web.replicas=1"], redundancy=3)  # overrides come after
    assert [t.replicas for t in s.tiers] == [1, 3, 2]


def test_redundancy_below_min_healthy_is_a_validation_error(tmp_path: Path) -> None:
    text = MINIMAL.replace('service_time = "200ms"', 'service_time = "200ms"\nmin_healthy = 2')
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, redundancy=1)
    assert info.value.key == "tiers.web.min_healthy"
    assert "from 1 to replicas (1)" in str(info.value)


# --- malformed scenarios -------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "error_key", "fragments"), [
    ("tiers.web.mttr", "-5m", "tiers.web.mttr", ['= "-5m"', "positive duration", "distribution table"]),
    ("tiers.web.mtfb", "1h", "tiers.web.mtfb", ["unknown key", "mtbf, mttr", "did you mean 'mtbf'?"]),
    ("tiers.web.replicas", 0, "tiers.web.replicas", ["= 0", "an integer >= 1"]),
    ("tiers.web.replicas", 2.5, "tiers.web.replicas", ["= 2.5", "an integer >= 1"]),
    ("tiers.web.replicas", "2", "tiers.web.replicas",
     ['= "2"', "an integer >= 1, at most 1,000 (without quotes)"]),
    ("tiers.web.replicas", True, "tiers.web.replicas", ["= true", "an integer >= 1"]),
    ("traffic.arrival_rate", 0, "traffic.arrival_rate", ["a number > 0 (customers per second)"]),
    ("traffic.arrival_rate", False, "traffic.arrival_rate", ["= false", "a number > 0"]),
    ("traffic.daily_profile", [1.0] * 23, "traffic.daily_profile", ["exactly 24"]),
    ("traffic.daily_profile", [0] * 24, "traffic.daily_profile", ["not all zero"]),
    ("scenario.replications", 1, "scenario.replications", ["an integer >= 2"]),
    ("scenario.warmup", "2d", "scenario.warmup", ["shorter than the horizon (1d)"]),
    ("scenario.horizon", "inf", "scenario.horizon", ["positive duration"]),
    ("scenario.seed", -1, "scenario.seed", ["an integer >= 0"]),
    ("customer.abandon_probability", 1.5, "customer.abandon_probability", ["a number from 0 to 1"]),
    ("customer.backoff_policy", "linear", "customer.backoff_policy", ['"sampled"', '"decorrelated-jitter"']),
    ("customer.backoff_multiplier", 0.5, "customer.backoff_multiplier", ["a number >= 1"]),
    ("customer.patience", "0s", "customer.patience", ["positive duration", '"inf" (unlimited)']),
    ("customer.retry_backoff", {"dist": "gamma", "mean": "1s"}, "customer.retry_backoff.dist",
     ['= "gamma"', "unknown distribution", "exponential, deterministic, lognormal, weibull, uniform"]),
    ("customer.retry_backoff", {"dist": "lognormal", "mean": "1s"}, "customer.retry_backoff",
     ["takes exactly mean, cv", "missing cv"]),
    ("customer.retry_backoff", {"dist": "exponential", "mean": "1s", "cv": 2}, "customer.retry_backoff",
     ["takes exactly mean", "unknown cv"]),
    ("customer.retry_backoff", {"mean": "1s"}, "customer.retry_backoff", ["needs dist = one of"]),
    ("customer.retry_backoff", {"dist": "lognormal", "mean": "1s", "cv": 0}, "customer.retry_backoff.cv",
     ["= 0", "a number from 0 to 100, excluding 0"]),
    ("customer.retry_backoff", {"dist": "uniform", "low": "9s", "high": "5s"}, "customer.retry_backoff.low",
     ["must not exceed high"]),
    ("tiers.web.mode", "hot-standby", "tiers.web.mode", ['"active-active", "active-passive"']),
    ("tiers.web.min_healthy", 3, "tiers.web.min_healthy", ["from 1 to replicas (2)"]),
    ("tiers.web.concurrency", 0, "tiers.web.concurrency", ['an integer >= 1 or "inf"']),
    ("tiers.web.failover_delay", "-1s", "tiers.web.failover_delay", ["a duration >= 0"]),
    ("tiers.web.unhealthy_threshold", 2, "tiers.web.unhealthy_threshold", ["only allowed together with"]),
    ("tiers.web.async_max_delay", "1h", "tiers.web.async_max_delay", ["only allowed with async = true"]),
    ("tiers.web.async", True, "tiers.web.async", ["only the last tier of path.tiers can be asynchronous"]),
    ("tiers.web.zones", ["eu"], "tiers.web.zones",
     ["'eu' is not defined under [zones]", "defined zones: none"]),
    ("tiers.web.circuit_breaker", {"failure_rate_threshold": 0},
     "tiers.web.circuit_breaker.failure_rate_threshold", ["a number from 0 to 1, excluding 0"]),
    ("tiers.web.circuit_breaker", {"windw": "1s"}, "tiers.web.circuit_breaker.windw",
     ["allowed keys in [tiers.web.circuit_breaker]", "did you mean 'window'?"]),
    ("tiers.web.service_time", None, "tiers.web.service_time",
     ["missing", "required for a tier in path.tiers"]),
    ("tiers.bad name", {"service_time": "1s"}, "tiers.bad name", ["invalid tier name"]),
    ("tiers.cache", {"service_time": "1s"}, "tiers.cache", ["defined but not used"]),
    ("path.tiers", ["web", "paymnt"], "path.tiers", ["'paymnt' is not defined", "did you mean 'payment'?"]),
    ("path.tiers", [], "path.tiers", ["at least one tier"]),
    ("path.tiers", ["web", "web"], "path.tiers", ["distinct names"]),
    ("path.dependencies", ["web"], "path.dependencies", ["also in path.tiers"]),
    ("traffic", 5, "traffic", ["must be a table [traffic]"]),
    ("traffic.spikes", [{"start": "1h", "duration": "1h"}], "traffic.spikes.0.multiplier",
     ["missing", "a number > 0"]),
    ("traffic.ramp", {"start": 0, "duration": "1h", "to_multiplier": -1}, "traffic.ramp.to_multiplier",
     ["a number > 0"]),
    ("outages", [{"tier": "web", "zone": "a", "start": 0, "duration": "1h"}], "outages.0",
     ["exactly one of tier or zone"]),
    ("outages", [{"tier": "web", "start": 0, "duration": "1h", "replicas": 3}], "outages.0.replicas",
     ['"all" or an integer from 1', "replicas (2)"]),
    ("outages", [{"tier": "api", "start": 0, "duration": "1h"}], "outages.0.tier", ["'api' is not defined"]),
    ("outages", [{"tier": "web", "start": "2d", "duration": "1h"}], "outages.0.start",
     ["before the horizon (1d)"]),
    ("outages", {"tier": "web"}, "outages", ["array of tables", "[[outages]]"]),
    ("communication.return_probability", -0.1, "communication.return_probability", ["from 0 to 1"]),
    ("costs.order_value", -3, "costs.order_value", ["a number from 0 to 1e+12"]),
    ("costs.currency", 978, "costs.currency", ["a non-empty string"]),
    ("scenarios", {}, "scenarios",
     ["unknown section", "allowed sections: communication", "did you mean 'scenario'"]),
])
def test_malformed(key: str, value: object, error_key: str, fragments: list[str]) -> None:
    raw = minimal_raw()
    if value is None:
        *parents, last = key.split(".")
        del raw[parents[0]][parents[1]][last]
    else:
        setkey(raw, key, value)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(raw, source="scenarios/x.toml")
    err = info.value
    assert (err.source, err.key) == ("scenarios/x.toml", error_key)
    line = str(err)
    assert line.startswith(f"scenarios/x.toml: {error_key}") and "\n" not in line
    for fragment in fragments:
        assert fragment in line


@pytest.mark.parametrize("section", ["traffic", "path", "tiers"])
def test_missing_required_section(section: str) -> None:
    raw = minimal_raw()
    del raw[section]
    with pytest.raises(ScenarioError, match=rf"^x\.toml: {section}: missing required section \[{section}\]$"):
        scenario_from_dict(raw, source="x.toml")


def test_health_check_and_failover_delay_conflict() -> None:
    raw = setkey(minimal_raw(), "tiers.web.health_check_interval", "5s")
    setkey(raw, "tiers.web.failover_delay", "10s")
    with pytest.raises(ScenarioError, match=r'tiers\.web\.failover_delay = "10s": not allowed together'):
        scenario_from_dict(raw)


def test_zone_outage_rejects_replicas() -> None:
    raw = setkey(minimal_raw(), "zones.a", {})
    raw["outages"] = [{"zone": "a", "start": 0, "duration": "1h", "replicas": 1}]
    with pytest.raises(ScenarioError, match=r"outages\.0\.replicas = 1: not allowed with zone"):
        scenario_from_dict(raw)


def test_toml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[traffic]\narrival_rate = = 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.source == str(path) and info.value.key == ""
    assert str(info.value).startswith(f"{path}: invalid TOML: ") and "line 2" in str(info.value)


def test_error_is_picklable_and_keeps_its_parts() -> None:
    err = ScenarioError("x.toml", "tiers.web.replicas", "must be an integer >= 1", "0")
    again = pickle.loads(pickle.dumps(err))
    assert (again.source, again.key, again.message, again.value_text) == (
        "x.toml", "tiers.web.replicas", "must be an integer >= 1", "0")
    assert str(again) == "x.toml: tiers.web.replicas = 0: must be an integer >= 1"


# --- built-in scenarios --------------------------------------------------------------------


def test_load_default_builtin() -> None:
    s = load_scenario(None)
    assert s.name == "baseline" and s.source == "<built-in>"
    assert "baseline" in builtin_scenario_names()
    assert (builtin_scenarios_dir() / "baseline.toml").is_file()
    assert load_scenario("baseline") == load_scenario("baseline.toml") == s


def test_every_builtin_scenario_is_valid() -> None:
    for name in builtin_scenario_names():
        assert load_scenario(name).source == "<built-in>"


def test_builtin_lookup_in_a_scenarios_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, MINIMAL, "shop.toml")
    write(tmp_path, "not a scenario", "README.md")
    monkeypatch.setattr(scenario_module, "builtin_scenarios_dir", lambda: tmp_path)
    assert builtin_scenario_names() == ["shop"]
    assert load_scenario("shop").name == "shop"
    assert load_scenario("shop.toml").tier("web").replicas == 2
    with pytest.raises(ScenarioError, match=r"^nosuch: no such file or built-in scenario; built-ins: shop$"):
        load_scenario("nosuch")


def test_a_file_path_wins_over_a_builtin_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, MINIMAL.replace("arrival_rate = 20", "arrival_rate = 7"), "baseline.toml")
    assert load_scenario("baseline.toml").traffic.arrival_rate_per_s == 7.0
    assert load_scenario("baseline").source == "<built-in>"


def test_readme_documents_every_key(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "scenarios" / "README.md").read_text()
    d = scenario_to_dict(load_scenario(write(tmp_path, FULL)))
    keys = {k for section in d.values() if isinstance(section, dict) for k in section}
    keys |= {k for t in d["tiers"].values() for k in t} | set(d["tiers"]["web"]["circuit_breaker"])
    keys |= {k for o in d["outages"] for k in o} | {k for z in d["zones"].values() for k in z}
    keys |= set(d["traffic"]["ramp"]) | {k for sp in d["traffic"]["spikes"] for k in sp}
    keys |= {"unhealthy_threshold", "failover_delay", "async_queue_capacity", "async_max_delay"}
    keys -= set(d["tiers"]) | set(d["zones"])  # tier and zone names are the file's own
    missing = sorted(k for k in keys | set(d) if not re.search(rf"[`\[.]{k}[`\]]", readme))
    assert not missing, f"scenarios/README.md does not document {missing}"
