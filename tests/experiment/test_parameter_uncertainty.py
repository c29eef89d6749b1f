"""Runs with parameter uncertainty: replication r simulates the laws drawn on its own named streams
(the same on any number of workers), and the variance split is the law of total variance's."""

from __future__ import annotations

import math

import pytest

import sim
from sim.experiment.replication import run_replication
from sim.experiment.uncertainty import UncertaintyError, decomposition, drawn_scenario
from sim.fit import uncertainty_from_dict
from sim.random.distributions import Exponential, LogNormal

WEB_MTBF = {"kind": "gamma-rate", "events": 6, "exposure_s": 1.8e5}
WEB_MTTR = {"kind": "log-normal", "center": [math.log(1200.0), 0.0], "covariance": [[0.09, 0.0], [0.0, 0.04]]}
FIT = {"tiers": {
    "web": {"mtbf": {"dist": "exponential", "sampling": WEB_MTBF},
            "mttr": {"dist": "lognormal", "sampling": WEB_MTTR}},
    "payment": {"mtbf": {"dist": "exponential", "sampling": {"kind": "gamma-rate", "events": 2,
                                                             "exposure_s": 9e4}}},
}}


@pytest.fixture(scope="module")
def scenario():
    return sim.load_scenario("baseline", overrides={"scenario.horizon": "30m", "traffic.arrival_rate": 0.5})


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_draws_are_keyed_by_seed_replication_and_law(scenario) -> None:
    unc = uncertainty_from_dict(FIT)
    first = drawn_scenario(scenario, unc, 7, 0)
    assert first == drawn_scenario(scenario, unc, 7, 0)
    assert first.tier("web").mtbf != drawn_scenario(scenario, unc, 7, 1).tier("web").mtbf
    assert isinstance(first.tier("web").mtbf, Exponential) and isinstance(first.tier("web").mttr, LogNormal)
    assert first.tier("payment").mttr == scenario.tier("payment").mttr  # not fitted: unchanged
    # a law drawn alone gets the same value: every law has its own stream
    alone = uncertainty_from_dict({"tiers": {"web": {"mtbf": FIT["tiers"]["web"]["mtbf"]}}})
    assert drawn_scenario(scenario, alone, 7, 0).tier("web").mtbf == first.tier("web").mtbf


def test_replication_r_simulates_its_drawn_laws_on_any_number_of_workers(scenario) -> None:
    unc = uncertainty_from_dict(FIT)
    serial = sim.run(scenario, replications=3, seed=5, workers=1, parameter_uncertainty=unc)
    parallel = sim.run(scenario, replications=3, seed=5, workers=2, parameter_uncertainty=unc)
    for r in range(3):
        expected = run_replication(drawn_scenario(scenario, unc, 5, r), 5, r).metrics
        assert same({k: v for k, v in serial.per_replication[r].items() if k != "replication"}, expected)
        assert same(serial.per_replication[r], parallel.per_replication[r])
    split = serial.extra["parameter_uncertainty"]
    assert split == parallel.extra["parameter_uncertainty"]
    assert serial.to_dict()["parameter_uncertainty"] == split
    plain = sim.run(scenario, replications=3, seed=5, workers=1)
    assert "parameter_uncertainty" not in plain.to_dict()
    row = split["metrics"]["attempted_checkouts"]  # arrivals do not depend on the laws: nothing added
    assert row["variance"] == row["variance_simulation"] and row["parameter_share"] == 0.0


def test_decomposition_is_one_minus_the_variance_ratio() -> None:
    unc = uncertainty_from_dict(FIT)
    split = decomposition([{"x": 1.0}, {"x": 3.0}, {"x": 5.0}], [{"x": 2.0}, {"x": 3.0}, {"x": 4.0}], unc)
    row = split["metrics"]["x"]
    assert (row["variance"], row["variance_simulation"]) == (4.0, 1.0)
    assert row["parameter_share"] == pytest.approx(0.75)
    assert row["half_width"] == pytest.approx(4.302653 * 2 / math.sqrt(3), rel=1e-6)  # t(0.975; 2) = 4.3027
    flat = decomposition([{"x": 2.0}, {"x": 2.0}], [{"x": 2.0}, {"x": 2.0}], unc)
    assert flat["metrics"]["x"]["parameter_share"] is None


def test_unknown_tier_and_precision_are_refused(scenario) -> None:
    unc = uncertainty_from_dict({"tiers": {"db": FIT["tiers"]["payment"]}})
    with pytest.raises(UncertaintyError, match=r"tiers\.db: not a tier"):
        sim.run(scenario, replications=2, workers=1, parameter_uncertainty=unc)
    with pytest.raises(ValueError, match="fixed number of replications"):
        sim.run(scenario, replications=2, workers=1, precision=0.1,
                parameter_uncertainty=uncertainty_from_dict(FIT))
