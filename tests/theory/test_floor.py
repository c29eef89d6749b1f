"""The analytic floor: exact values on small cases, the Markov chain where crews are limited,
insensitivity to the laws' shapes, injected outages piece by piece, and agreement with the
infrastructure simulated on its own (non-exponential laws, zones)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.rare.infrastructure import simulate_infrastructure
from sim.rare.markov import InfrastructureChain, stationary
from sim.scenario import scenario_from_dict
from sim.stats.intervals import Summary
from sim.theory.analytic import k_out_of_n, series
from sim.theory.floor import analytic_floor, floor_lines


def _scenario(tiers: dict, zones: dict | None = None, outages: list | None = None, horizon: str = "10d",
              warmup: str = "0s") -> object:
    raw = {"scenario": {"horizon": horizon, "warmup": warmup}, "traffic": {"arrival_rate": 1.0},
           "path": {"tiers": list(tiers)},
           "tiers": {name: {"service_time": "100ms", **t} for name, t in tiers.items()}}
    if zones:
        raw["zones"] = zones
    if outages:
        raw["outages"] = outages
    return scenario_from_dict(raw)


def test_series_of_k_of_n_tiers_with_unlimited_crews() -> None:
    s = _scenario({"web": {"replicas": 3, "min_healthy": 2, "mtbf": "10h", "mttr": "1h"},
                   "payment": {"replicas": 2, "mtbf": "20h", "mttr": "2h"}})
    floor = analytic_floor(s)
    a_web = 10 / 11
    web_up = a_web**3 + 3 * a_web**2 * (1 - a_web)
    payment_up = 1 - (2 / 22) ** 2
    assert floor.exact
    assert floor.availability == pytest.approx(web_up * payment_up, rel=1e-12)
    assert floor.tiers["payment"] == pytest.approx((2 / 22) ** 2, rel=1e-12)


def test_limited_crews_use_the_exact_chain() -> None:
    s = _scenario({"web": {"replicas": 3, "mtbf": "5h", "mttr": "1h", "repair_crews": 1},
                   "payment": {"replicas": 2, "mtbf": "8h", "mttr": "30m", "repair_crews": 1}})
    floor = analytic_floor(s)
    expected = series(k_out_of_n(3, 1, 5 * 3600, 3600, 1), k_out_of_n(2, 1, 8 * 3600, 1800, 1))
    assert floor.exact and "Markov chain" in floor.how
    assert floor.unavailability == pytest.approx(expected.unavailability, rel=1e-10)


def test_zones_as_common_causes_match_the_chain() -> None:
    zones = {"a": {"mtbf": "30d", "mttr": "2h"}, "b": {"mtbf": "40d", "mttr": "3h"}}
    tiers = {"web": {"replicas": 2, "mtbf": "3d", "mttr": "1h", "zones": ["a", "b"]},
             "payment": {"replicas": 3, "mtbf": "5d", "mttr": "2h", "zones": ["a", "b"]}}
    s = _scenario(tiers, zones)
    floor = analytic_floor(s)
    assert floor.exact
    assert floor.unavailability == pytest.approx(stationary(InfrastructureChain(s)).unavailability, rel=1e-9)


def test_only_the_means_matter_with_enough_crews() -> None:
    """Alternating renewal availability is insensitive to the laws' shapes (same means, same value)."""
    exp = _scenario({"web": {"replicas": 2, "mtbf": "10h", "mttr": "1h"}})
    other = _scenario({"web": {"replicas": 2, "mtbf": {"dist": "weibull", "mean": "10h", "shape": 2.0},
                               "mttr": {"dist": "lognormal", "mean": "1h", "cv": 1.5}}})
    assert analytic_floor(other).exact
    expected = analytic_floor(exp).unavailability
    assert analytic_floor(other).unavailability == pytest.approx(expected, rel=1e-12)


def test_injected_outage_counts_piece_by_piece() -> None:
    """All of payment down for 2 h of a 10 h window, 2 h of warmup excluded: U = D/W + (1 − D/W)·U0."""
    tiers = {"payment": {"replicas": 2, "mtbf": "20h", "mttr": "2h"}}
    base = analytic_floor(_scenario(tiers, horizon="12h", warmup="2h")).unavailability
    s = _scenario(tiers, outages=[{"tier": "payment", "start": "4h", "duration": "2h"}], horizon="12h",
                  warmup="2h")
    floor = analytic_floor(s)
    assert not floor.exact and "injected" in floor.how
    assert floor.unavailability == pytest.approx(0.2 + 0.8 * base, rel=1e-12)
    # one replica of two held down: the other alone for those 2 h
    one = _scenario(tiers, outages=[{"tier": "payment", "start": "4h", "duration": "2h", "replicas": 1}],
                    horizon="12h", warmup="2h")
    assert analytic_floor(one).unavailability == pytest.approx(0.2 * (2 / 22) + 0.8 * base, rel=1e-12)


def test_floor_lines_say_where_the_floor_lies() -> None:
    s = _scenario({"web": {"replicas": 1, "mtbf": "10h", "mttr": "1h"}})
    floor = analytic_floor(s)
    metrics = {"availability": Summary(0.905, 0.01, 10, 0.90, 0.91),
               "lost_fraction": Summary(0.1, 0.01, 10, 0.09, 0.11)}
    text = "\n".join(floor_lines(floor, metrics))
    assert "90.9091%" in text and "inside its interval" in text
    assert "customers' view 1 − lost_fraction 90.0000%" in text and "-0.5000 pp" in text


def test_floor_lines_call_an_exact_availability_exact_not_noisy() -> None:
    """The rare method's availability is the chain's exact transient expectation (zero width): the
    gap to the floor is the all-up start's transient, not an interval that understates noise."""
    s = _scenario({"web": {"replicas": 1, "mtbf": "10h", "mttr": "1h"}})
    floor = analytic_floor(s)
    metrics = {"availability": Summary(0.92, 0.0, 10, 0.92, 0.92, method="rare+exact")}
    text = "\n".join(floor_lines(floor, metrics))
    assert "exact: the infrastructure chain's expectation" in text and "+1.0909 pp" in text
    assert "understate" not in text


def test_floor_matches_the_simulated_infrastructure_with_zones_and_other_laws() -> None:
    """Weibull failures, lognormal repairs, a zone: the long-run floor lies inside the 99% interval of
    the path-down fraction over 40 independent 200-day infrastructure runs (a 50-day warmup dropped)."""
    zones = {"a": {"mtbf": "20d", "mttr": {"dist": "lognormal", "mean": "6h", "cv": 1.0}}}
    tiers = {"web": {"replicas": 2, "mtbf": {"dist": "weibull", "mean": "2d", "shape": 1.5},
                     "mttr": {"dist": "lognormal", "mean": "4h", "cv": 1.2}, "zones": ["a"]},
             "payment": {"replicas": 2, "min_healthy": 1, "mttr": "3h",
                         "mtbf": {"dist": "weibull", "mean": "3d", "shape": 0.8}}}
    s = _scenario(tiers, zones, horizon="250d")
    floor = analytic_floor(s)
    start, end = 50 * 86400.0, 250 * 86400.0
    traces = [simulate_infrastructure(s, 7, r) for r in range(40)]
    fractions = [t.path_down_time_s(start, end) / (end - start) for t in traces]
    mean, sem = float(np.mean(fractions)), float(np.std(fractions, ddof=1) / math.sqrt(len(fractions)))
    half = stats.t.ppf(0.995, len(fractions) - 1) * sem
    assert mean - half <= floor.unavailability <= mean + half


def test_floor_comparison_reads_stored_scenarios() -> None:
    from sim.scenario import scenario_to_dict
    from sim.theory.floor import floor_comparison

    s = _scenario({"web": {"replicas": 1, "mtbf": "10h", "mttr": "1h"}})
    metrics = {"availability": {"mean": 0.9}, "lost_fraction": {"mean": 0.125}}
    lines = floor_comparison(["one"], [scenario_to_dict(s)], [metrics])
    assert lines == ["one: floor 90.9091% (exact); simulated availability 90.0000%; customers' view "
                     "1 − lost_fraction 87.5000%"]
