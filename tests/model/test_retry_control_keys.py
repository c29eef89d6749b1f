"""The scenario keys of hop retries, retry control, breaker scopes and charges: bad values and
combinations stop ``sim run`` with one line naming the file, the key and what is allowed (exit 2);
good ones survive the round trip through the resolved form."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.scenario import load_scenario, scenario_from_dict
from sim.scenario.convert import scenario_hash, scenario_to_dict
from tests.scenario.test_fuzz_scenarios import toml_text as toml_of

GOOD = {
    "scenario": {"horizon": "2m", "replications": 2},
    "traffic": {"arrival_rate": 2.0},
    "customer": {"max_attempts": 2, "retry_budget": "token-bucket"},
    "path": {"tiers": ["web", "payment"], "dependencies": ["db"]},
    "tiers": {
        "web": {"replicas": 2, "service_time": "10ms"},
        "payment": {"service_time": "20ms", "idempotency": False,
                    "retry": {"attempts": 3, "timeout": "2s", "backoff": "100ms",
                              "budget": {"kind": "finagle", "ratio": 0.1, "min_per_s": 0}},
                    "circuit_breaker": {"scope": "caller-replica", "kind": "adaptive", "defensiveness": 2.0}},
        "db": {},
    },
}


def run_with(tmp_path: Path, change) -> tuple[int, str]:
    raw = copy.deepcopy(GOOD)
    change(raw)
    path = tmp_path / "s.toml"
    path.write_text(toml_of(raw))
    result = CliRunner().invoke(cli, ["run", str(path), "--replications", "2", "--workers", "1"])
    return result.exit_code, result.output.strip().splitlines()[-1]


def _set(*keys_value):
    *keys, value = keys_value

    def change(raw: dict) -> None:
        node = raw
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return change


BAD = [
    (_set("tiers", "payment", "retry", "attempts", 0), "tiers.payment.retry.attempts = 0", "an integer >= 1"),
    (_set("tiers", "payment", "retry", "timeout", "-1s"), "tiers.payment.retry.timeout", "positive duration"),
    (_set("tiers", "payment", "retry", "budget", "nope"), "tiers.payment.retry.budget",
     '"finagle", "aws-sdk"'),
    (_set("tiers", "payment", "retry", "budget", {"kind": "aws-sdk", "ratio": 0.1}),
     "tiers.payment.retry.budget.ratio", 'kind = "aws-sdk" takes capacity'),
    (_set("tiers", "payment", "retry", "budget", {"kind": "finagle", "ttl": 0}),
     "tiers.payment.retry.budget.ttl", "positive duration"),
    (_set("tiers", "payment", "retry", "budget", {"kind": "nope"}), "tiers.payment.retry.budget.kind",
     "one of"),
    (_set("tiers", "payment", "retry", "budget_scope", "zone"), "tiers.payment.retry.budget_scope",
     '"caller-replica", "tier"'),
    (_set("tiers", "payment", "retry", "retries", 3), "tiers.payment.retry.retries", "unknown key"),
    (_set("customer", "retry_budget", {"kind": "adaptive-throttling", "k": 0.5}), "customer.retry_budget.k",
     "a number >= 1"),
    (_set("tiers", "payment", "idempotency", "yes"), "tiers.payment.idempotency", "true or false"),
    (_set("tiers", "db", "idempotency", True), "tiers.db.idempotency", "synchronous tier in path.tiers"),
    (_set("tiers", "web", "retry", {}), "tiers.web.retry", "not for the first tier"),
    (_set("tiers", "db", "retry", {}), "tiers.db.retry", "only for a tier in path.tiers"),
    (_set("tiers", "payment", "circuit_breaker", "scope", "zone"), "tiers.payment.circuit_breaker.scope",
     '"tier", "caller-replica"'),
    (_set("tiers", "payment", "circuit_breaker", "open_duration", "5s"),
     "tiers.payment.circuit_breaker.open_duration", 'only with kind = "threshold"'),
    (_set("tiers", "payment", "circuit_breaker", "defensiveness", 0), "tiers.payment.circuit_breaker"
     ".defensiveness", "a number > 0"),
]


@pytest.mark.parametrize(("change", "key", "allowed"), BAD, ids=[b[1] for b in BAD])
def test_bad_values_name_the_file_the_key_and_what_is_allowed(tmp_path: Path, change, key: str,
                                                             allowed: str) -> None:
    code, line = run_with(tmp_path, change)
    assert code == 2, line
    assert line.startswith(f"Error: {tmp_path / 's.toml'}: {key}") and allowed in line, line


def test_a_per_caller_breaker_needs_calls_made_by_replicas(tmp_path: Path) -> None:
    def change(raw: dict) -> None:
        del raw["tiers"]["payment"]["retry"]
        raw["tiers"]["payment"]["circuit_breaker"] = {"scope": "caller-replica"}
    code, line = run_with(tmp_path, change)
    assert code == 2 and "tiers.payment.circuit_breaker.scope" in line
    assert "needs a [tiers.payment.retry]" in line


def test_good_keys_run_and_round_trip(tmp_path: Path) -> None:
    code, line = run_with(tmp_path, lambda raw: None)
    assert code == 0, line
    scenario = scenario_from_dict(copy.deepcopy(GOOD))
    again = scenario_from_dict(scenario_to_dict(scenario))
    assert again.tiers == scenario.tiers and again.customer == scenario.customer
    assert scenario.tier("payment").retry.budget.get("ratio") == 0.1
    assert scenario.tier("payment").retry.budget.get("ttl_s") == 10.0  # the preset's


def test_scenarios_without_the_keys_keep_their_hash() -> None:
    # the keys are absent from the resolved form at their defaults: stored results stay valid
    assert scenario_hash(load_scenario("baseline")) == "f3f8aa32b851"
    assert scenario_hash(load_scenario("retry-storm")) == "523182eb1a45"
