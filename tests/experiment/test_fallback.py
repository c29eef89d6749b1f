"""When the estimator auto chose cannot estimate a replication (a rare-event window that never
settles), the whole run falls back to incident windows and says why; an explicit method does not."""

from __future__ import annotations

import pytest

from sim.experiment import methods, run
from sim.experiment.methods import RARE, WINDOWS, MethodError
from sim.scenario.load import scenario_from_dict

MARKOV = scenario_from_dict({
    "scenario": {"name": "markov", "horizon": "2h", "replications": 3, "seed": 4},
    "traffic": {"arrival_rate": 1.0}, "path": {"tiers": ["web"]},
    "tiers": {"web": {"replicas": 2, "service_time": "100ms", "mtbf": "2h", "mttr": "10m"}},
})
STORM = "method rare: an incident window did not settle within 50 drains of 41 s (a metastable retry storm)"


@pytest.fixture
def storm(monkeypatch: pytest.MonkeyPatch) -> None:
    def unsettled(*_args, **_kwargs):
        raise MethodError(STORM)

    monkeypatch.setitem(methods.ESTIMATORS, RARE, unsettled)


def test_auto_falls_back_to_windows_for_the_whole_run(storm: None) -> None:
    result = run(MARKOV, workers=1, method="auto", precision=0.5, max_time=30)
    plain = run(MARKOV, workers=1, method=WINDOWS, precision=0.5, max_time=30)
    assert result.method == WINDOWS
    assert result.extra["fallback"] == {"from": RARE, "to": WINDOWS, "reason": STORM}
    assert result.to_dict()["fallback"]["reason"] == STORM
    assert result.precision.max_time_s == 30  # the limit as asked
    assert result.per_replication == plain.per_replication  # every replication by windows, none mixed


def test_an_explicit_method_is_not_replaced(storm: None) -> None:
    with pytest.raises(MethodError, match="did not settle"):
        run(MARKOV, workers=1, method=RARE)
    assert run(MARKOV, workers=1, method=RARE, fallback=WINDOWS).method == WINDOWS
