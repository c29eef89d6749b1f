"""What sim fit writes: FIT.json in the documented shape, a fragment in the scenario's own syntax,
and a base scenario with the fitted keys merged in that loads as it is."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime

import pytest

from sim.fit import fit, fragment_text, merge_into
from sim.fit.incidents import incidents_from_text
from sim.fit.traffic import counts_from_text
from sim.random.distributions import Exponential, LogNormal, Weibull
from sim.scenario import load_scenario

LOG = """tier,replica,start,end
web,1,2026-01-02T00:00:00Z,2026-01-02T00:20:00Z
web,1,2026-01-05T00:00:00Z,2026-01-05T00:40:00Z
web,2,2026-01-03T00:00:00Z,2026-01-03T00:30:00Z
web,2,2026-01-09T00:00:00Z,
payment,1,,
"""
WINDOW = {"window_start": datetime(2026, 1, 1, tzinfo=UTC), "window_end": datetime(2026, 1, 10, tzinfo=UTC)}


@pytest.fixture
def result():
    return fit(incidents_from_text(LOG, "inc.csv", **WINDOW), gof_resamples=0)


def test_fit_json_has_the_documented_shape(result) -> None:
    doc = result.to_dict()
    web = doc["tiers"]["web"]
    assert set(web) == {"mtbf", "mttr"}
    for law in web.values():
        assert {"dist", "mean_s", "mean_ci_s", "n_events", "n_censored", "aic"} <= set(law)
    # web: four up times end in a failure (two from the window start), one runs to the window end
    assert web["mtbf"]["n_events"] == 4 and web["mtbf"]["n_censored"] == 1
    assert web["mttr"]["n_events"] == 3 and web["mttr"]["n_censored"] == 1
    assert doc["tiers"]["payment"]["mttr"] is None
    assert doc["tiers"]["payment"]["mtbf"]["n_events"] == 0
    assert doc["incidents"]["window_s"] == 9 * 86400.0
    assert doc["incidents"]["replicas"] == {"payment": 1, "web": 2}


def test_fragment_is_toml_in_the_scenario_syntax(result) -> None:
    data = tomllib.loads(fragment_text(result))
    assert set(data["tiers"]) == {"web", "payment"}
    assert data["tiers"]["web"]["mtbf"] == pytest.approx(result.laws["web"]["mtbf"].mean_s, rel=1e-5)
    assert "mttr" not in data["tiers"]["payment"]  # nothing seen: left to the scenario


def test_table_laws_are_written_as_distribution_tables() -> None:
    from sim.fit.laws import LawFit
    from sim.fit.output import law_value

    law = LawFit("weibull", 3600.0, (3000.0, 4000.0), {"shape": 1.5}, {}, "", 10, 0, 1.0, {}, {}, None)
    assert tomllib.loads(f"x = {law_value(law)}")["x"] == {"dist": "weibull", "mean": 3600.0, "shape": 1.5}


def test_merged_scenario_loads_with_the_fitted_laws(tmp_path, result) -> None:
    base = (tmp_path / "base.toml")
    traffic = counts_from_text("timestamp,count\n" + "".join(
        f"2026-01-01T{h:02d}:00:00Z,{3600 * (1 + (h >= 12))}\n" for h in range(24)))
    merged_result = type(result)(**{**result.__dict__, "traffic": traffic, "traffic_source": "t.csv"})
    base.write_text(
        '[scenario]\nname = "m"\n\n[traffic]\narrival_rate = 9.0\ndaily_profile = [\n'
        '  1, 1, 1, 1, 1, 1, 1, 1,\n  1, 1, 1, 1, 1, 1, 1, 1,\n  1, 1, 1, 1, 1, 1, 1, 1,\n]  # hourly\n\n'
        '[path]\ntiers = ["web", "payment"]\n\n'
        '[tiers.web]\nreplicas = 2\nservice_time = "100ms"\nmtbf = "1d"  # a guess\n\n'
        '[tiers.payment]\nservice_time = "100ms"\nmttr = "45m"\n')
    path = tmp_path / "merged.toml"
    path.write_text(merge_into(base.read_text(), merged_result))
    scenario = load_scenario(path)
    assert scenario.traffic.arrival_rate_per_s == pytest.approx(1.5, rel=1e-5)
    assert scenario.traffic.daily_profile[0] == pytest.approx(2 / 3, abs=1e-4)
    web = scenario.tier("web")
    assert isinstance(web.mtbf, Exponential | Weibull | LogNormal) and web.replicas == 2
    assert web.mtbf.mean == pytest.approx(result.laws["web"]["mtbf"].mean_s, rel=1e-5)
    payment = scenario.tier("payment")
    assert payment.mttr.mean == 45 * 60.0  # not fitted: the base's value stays
    assert payment.mtbf.mean == pytest.approx(result.laws["payment"]["mtbf"].mean_s, rel=1e-5)


def test_merging_needs_every_fitted_table(result) -> None:
    with pytest.raises(KeyError, match=r"tiers\.payment"):
        merge_into('[tiers.web]\nreplicas = 1\n', result)
