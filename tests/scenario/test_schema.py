"""The schema's parsers on their own: what they accept, what they turn values into, and the
"allowed" text their errors carry (sim.scenario adds the file and key)."""

from __future__ import annotations

import math

import pytest

from sim.random.distributions import Deterministic, Exponential, LogNormal
from sim.scenario.schema import CUSTOMER, SCHEMA, SERVICE_TIME, TIER, Invalid


def test_every_section_is_in_the_schema() -> None:
    assert set(SCHEMA.keys) == {"scenario", "traffic", "customer", "path", "tiers", "zones", "outages",
                                "communication", "costs", "slo"}


def test_service_time_parser() -> None:
    assert SERVICE_TIME("200ms") == Exponential(0.2)
    assert SERVICE_TIME({"dist": "lognormal", "mean": "20m", "cv": 1.5}) == LogNormal(1200.0, 1.5)
    with pytest.raises(Invalid, match="must be"):
        SERVICE_TIME("-5m")


def test_patience_plain_duration_is_deterministic_and_inf_is_unlimited() -> None:
    patience = CUSTOMER.keys["patience"].parser
    assert patience("30s") == Deterministic(30.0)
    assert patience("inf") == Deterministic(math.inf)


@pytest.mark.parametrize(("key", "bad", "allowed"), [
    ("replicas", 0, "integer"),
    ("replicas", "2", "without quotes"),
    ("concurrency", -1, "integer"),
    ("mode", "hot", "active-passive"),
    ("async", "yes", "true or false"),
])
def test_tier_parsers_reject_with_what_is_allowed(key: str, bad: object, allowed: str) -> None:
    with pytest.raises(Invalid) as err:
        TIER.keys[key].parser(bad)
    assert allowed in err.value.message
