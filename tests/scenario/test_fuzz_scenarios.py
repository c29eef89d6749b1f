"""Fuzzing scenario files: random valid-ish and invalid TOML built from the schema, run through
``sim run`` as a user would. Every file either runs, with every metric of every replication in its
physical range, or is refused with exit code 2 and one line naming the file (or the work bound);
never a traceback, never a hang (each run is bounded by the work estimate and a timeout).

The quick loop runs a few dozen files; the slow suite over a thousand. Hypothesis is derandomized,
so a failure reproduces in CI.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import cli
from sim.random.distributions import DISTRIBUTION_PARAMETERS
from sim.scenario.schema import SCHEMA, ArrayOf, Key, NamedTables, Table
from sim.scenario.workload import MAX_EVENTS_ENV
from sim.stats.metrics import metric_bounds

FUZZ_MAX_EVENTS = "3e4"  # each run a fraction of a second; heavier files are refused (exit 2)
TIERS = ("web", "payment", "db")

# --- values: extreme floats, tiny and huge durations, wrong types ---------------------------

EXTREME_FLOATS = st.sampled_from([0.0, -0.0, -1.0, 1e-310, 5e-324, 1e-9, 0.5, 1.0, 2.0, 3.7, 100.0, 1e6,
                                  1e12, 1e300, 1.7e308, math.inf, -math.inf, math.nan])
INTS = st.sampled_from([-1, 0, 1, 2, 3, 24, 1000, 1001, 2**53 + 1, 2**63 - 1, 2**64, 10**30])
DURATIONS = st.sampled_from(["1ms", "50ms", "200ms", "1s", "30s", "2m", "5m", "1h", "3d", "inf", "never",
                             "0s", "-5m", "1e-9s", "1e15s", "10x", "", " 2 m", "1e400", 0, 1e-300, 60, 1e300])
WRONG = st.one_of(st.booleans(), st.text(max_size=12), st.lists(st.integers(-3, 3), max_size=3),
                  st.just({"x": 1}), st.just([[[[1]]]]))


def distribution() -> st.SearchStrategy[dict]:
    """A distribution table with extreme parameters (sometimes a wrong or missing one)."""
    def table(name: str) -> st.SearchStrategy[dict]:
        known = DISTRIBUTION_PARAMETERS.get(name, ("mean",))
        params = {p: st.one_of(DURATIONS, EXTREME_FLOATS) for p in known}
        if name in ("lognormal", "weibull"):
            shape = "cv" if name == "lognormal" else "shape"
            params[shape] = st.sampled_from([1e-9, 1e-3, 0.1, 0.5, 1.0, 3.0, 100.0, 101.0, 1e200, 0.0, -1.0])
        return st.fixed_dictionaries({"dist": st.just(name)}, optional=params)

    names = st.sampled_from([*DISTRIBUTION_PARAMETERS, "gamma"])
    return names.flatmap(table)


def value_for(key: str, wild: bool) -> st.SearchStrategy[object]:
    """A value for a schema key: mostly of the right kind, sometimes extreme or of the wrong type."""
    durations = {"horizon", "warmup", "start", "duration", "window", "open_duration", "failover_delay",
                 "health_check_interval", "async_max_delay", "backoff_cap", "detection_delay", "timeout"}
    dists = {"service_time", "mtbf", "mttr", "retry_backoff", "patience", "return_after", "backoff"}
    if key in ("budget", "retry_budget"):  # a preset name or a table of numbers (sometimes wrong)
        numbers = {k: st.one_of(EXTREME_FLOATS, DURATIONS) for k in (
            "ratio", "min_per_s", "ttl", "capacity", "retry_cost", "timeout_retry_cost", "success_deposit",
            "k", "window")}
        kinds = st.sampled_from(["finagle", "aws-sdk", "token-bucket", "adaptive-throttling", "nope"])
        right = st.one_of(kinds, st.fixed_dictionaries({"kind": kinds}, optional=numbers))
    elif key in ("budget_scope", "scope", "kind"):
        right = st.sampled_from(["tier", "caller-replica", "threshold", "adaptive", "nonsense"])
    elif key in dists:
        right: st.SearchStrategy[object] = st.one_of(DURATIONS, distribution())
    elif key in durations:
        right = DURATIONS
    elif key in ("replicas", "replications", "seed", "max_attempts", "attempts", "min_calls",
                 "half_open_probes", "min_healthy", "unhealthy_threshold", "concurrency", "queue_limit",
                 "repair_crews", "async_queue_capacity"):
        right = st.one_of(INTS, st.just("inf"))
    elif key in ("tiers", "dependencies", "zones"):
        right = st.lists(st.sampled_from([*TIERS, "a", "zone-a"]), max_size=3)
    elif key == "daily_profile":
        right = st.one_of(st.lists(EXTREME_FLOATS, min_size=24, max_size=24),
                          st.lists(EXTREME_FLOATS, max_size=3))
    elif key in ("mode", "load_balancing", "failure_mode", "backoff_policy", "dist"):
        right = st.sampled_from(["active-active", "active-passive", "round-robin", "least-outstanding",
                                 "random", "error", "hang", "sampled", "exponential-full-jitter",
                                 "decorrelated-jitter", "nonsense"])
    elif key in ("status_page", "async", "idempotency"):
        right = st.booleans()
    elif key in ("name", "description", "currency", "tier", "zone"):
        right = st.one_of(st.text(max_size=20), st.sampled_from(TIERS))
    else:  # numbers: rates, multipliers, probabilities, money
        right = EXTREME_FLOATS
    return st.one_of(right, right, right, WRONG) if wild else right


def table(schema: Table, wild: bool, depth: int = 0) -> st.SearchStrategy[dict]:
    """A table of the schema: a random subset of its keys, sometimes an unknown or nested one."""
    optional: dict[str, st.SearchStrategy[object]] = {}
    for key, node in schema.keys.items():
        if isinstance(node, Key):
            optional[key] = value_for(key, wild)
        elif isinstance(node, Table) and depth < 2:
            optional[key] = table(node, wild, depth + 1)
        elif isinstance(node, ArrayOf) and depth < 2:
            optional[key] = st.lists(table(node.item, wild, depth + 1), max_size=2)
    extra = st.dictionaries(st.sampled_from(["unknown", "x" * 200, "mtfb", "a.b", "nested"]),
                            st.one_of(EXTREME_FLOATS, st.just({"deep": {"deeper": [1, {"x": 2}]}})),
                            max_size=1 if wild else 0)
    return st.tuples(st.fixed_dictionaries({}, optional=optional), extra).map(lambda t: {**t[0], **t[1]})


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    """A TOML-shaped scenario: mostly near-valid (required sections, a short horizon), sometimes wild."""
    wild = draw(st.booleans())  # wrong types and unknown keys; else only values of the right kind
    raw = draw(table(SCHEMA, wild))
    tiers_node = SCHEMA.keys["tiers"]
    zones_node = SCHEMA.keys["zones"]
    assert isinstance(tiers_node, NamedTables) and isinstance(zones_node, NamedTables)
    path = draw(st.lists(st.sampled_from(TIERS), min_size=1, max_size=2, unique=True))
    raw["tiers"] = {name: draw(table(tiers_node.item, wild)) for name in path}
    raw["zones"] = draw(st.dictionaries(st.sampled_from(["zone-a", "zone-b"]), table(zones_node.item, wild),
                                        max_size=1))
    if not wild or draw(st.booleans()):  # a runnable core: a short horizon, a rate, a path that exists
        raw.setdefault("traffic", {})["arrival_rate"] = draw(st.sampled_from([0.01, 0.5, 2.0, 1e-310, 1e5]))
        raw.setdefault("path", {})["tiers"] = path
        sc = raw.setdefault("scenario", {})
        sc["horizon"] = draw(st.sampled_from(["30s", "2m", "5m", "1h"]))
        sc["warmup"] = draw(st.sampled_from(["0s", "10s", "1m"]))
        sc["replications"] = 2
        for tier in raw["tiers"].values():
            tier.setdefault("service_time", draw(st.sampled_from(["50ms", "1s", "30d"])))
    return raw


# --- TOML text ------------------------------------------------------------------------------

def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # TOML refuses JSON's surrogate-pair escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def toml_text(raw: dict) -> str:
    """Every section as an inline table: valid TOML for any value the strategies make."""
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in raw.items())


GARBAGE = st.sampled_from([
    "[traffic\narrival_rate = 1", "a = " + "[" * 2000 + "]" * 2000, "x." * 5000 + "y = 1",
    "[tiers.web]\n[tiers.web]\n", "\x00\x01", "key = 'unterminated", "= 1",
])


# --- the check ------------------------------------------------------------------------------

def check_replication(metrics: dict[str, object], where: str) -> None:
    """Every metric of one replication in its physical range (None: undefined, e.g. no completions)."""
    values = {k: v for k, v in metrics.items() if k != "replication"}
    for name, value in values.items():
        if value is None:
            continue
        assert isinstance(value, int | float) and math.isfinite(value), f"{where}: {name} = {value!r}"
        low, high = metric_bounds(name)
        assert low <= value <= high, f"{where}: {name} = {value} outside [{low}, {high}]"
    attempted = values["attempted_checkouts"]
    assert values["lost_checkouts"] <= attempted, where
    assert values["completed_checkouts"] <= attempted, where
    assert values["deferred_checkouts"] <= values["completed_checkouts"], where


def run_file(path: Path, out: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(path), "--replications", "2", "--workers", "1",
                                      "--json", str(out)])
    assert result.exit_code in (0, 2), f"{result.output}\n{result.exception!r}"
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        line = result.output.strip().splitlines()[-1]
        assert line.startswith(f"Error: {path}:") or line.startswith("Error: <built-in>:"), line
        assert len(line) <= 1100, line[:200]
        return
    for replication in json.loads(out.read_text())["per_replication"]:
        check_replication(replication, f"{path} replication {replication['replication']}")


def fuzz(raw: dict | str, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(raw if isinstance(raw, str) else toml_text(raw))
    run_file(path, tmp_path / "out.json")


SETTINGS = {"derandomize": True, "deadline": None, "database": None,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                      HealthCheck.data_too_large]}


@pytest.fixture
def bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_EVENTS_ENV, FUZZ_MAX_EVENTS)


@pytest.mark.timeout(120)
@settings(max_examples=50, **SETTINGS)
@given(raw=st.one_of(scenarios(), scenarios(), GARBAGE))
def test_fuzz_scenario_files_quick(raw: dict | str, tmp_path_factory: pytest.TempPathFactory,
                                   bounded: None) -> None:
    fuzz(raw, tmp_path_factory.mktemp("fuzz"))


@pytest.mark.slow
@pytest.mark.timeout(300)
@settings(max_examples=1100, **SETTINGS)
@given(raw=st.one_of(scenarios(), scenarios(), scenarios(), GARBAGE))
def test_fuzz_scenario_files(raw: dict | str, tmp_path_factory: pytest.TempPathFactory,
                             bounded: None) -> None:
    fuzz(raw, tmp_path_factory.mktemp("fuzz"))
