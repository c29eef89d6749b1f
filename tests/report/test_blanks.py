"""A missing value never says more than the estimator saw: "no outage" / "no incident" only where
the estimator measured outages (incidents) and there were none, "not estimated by METHOD" (with the
reason) where it does not estimate the metric — in `sim run`'s table and JSON, `sim compare`'s table,
the reports' Markdown and HTML, and the figures' text. And an incident timeline says which estimator
drew it and which replication it shows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from sim.cli.compare_text import comparison_text
from sim.cli.format import metric_table
from sim.experiment import run
from sim.experiment.blanks import blank
from sim.experiment.methods import CRUDE, NOT_ESTIMATED, RARE, WINDOWS, MethodError, resolve_method
from sim.report.collect import SEARCH_REPLICATIONS, shown, store_comparison, store_run
from sim.report.compare import comparison_document
from sim.report.comparison import load_comparison
from sim.report.output import write_report
from sim.report.single import load_run, run_document
from sim.report.timeline_text import timeline_caption, timeline_title
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
#: the claims of a blank about incidents, and the per-replication count that must be zero for each
CLAIMS = {"no outage": ("mean_recovery_time_s", "outage_count"),
          "no incident": ("mean_service_recovery_time_s", "service_recovery_count")}


def _stored(**means: float | None) -> dict:
    return {name: {"mean": mean, "n": 0 if mean is None else 2} for name, mean in means.items()}


def test_the_words_of_a_blank() -> None:
    quiet = _stored(mean_recovery_time_s=None, outages_recovered=0.0, outage_count=0.0,
                    mean_service_recovery_time_s=None, service_recovery_count=0.0,
                    latency_p95_s=None, completed_checkouts=10.0)
    assert blank("mean_recovery_time_s", CRUDE, quiet, 3).words == "no outage"
    assert "any of the 3 replications" in blank("mean_recovery_time_s", CRUDE, quiet, 3).reason
    assert blank("mean_service_recovery_time_s", WINDOWS, quiet).words == "no incident"
    # rare does not time service recovery: never "no incident", whatever the counts say
    b = blank("mean_service_recovery_time_s", RARE, quiet)
    assert b.words == "not estimated by rare" and b.not_estimated
    assert b.reason == NOT_ESTIMATED[RARE]["mean_service_recovery_time_s"]
    assert blank("latency_p95_s", RARE, quiet).words == "not estimated by rare"
    # a null latency with completed checkouts is not "no completed checkout"
    assert blank("latency_p95_s", CRUDE, quiet).words == "no value"
    # outages that began but never ended: not "no outage"
    open_outage = {**quiet, **_stored(outage_count=1.0)}
    assert blank("mean_recovery_time_s", CRUDE, open_outage).words == "outage unfinished"
    # the count behind it not stored: no claim
    assert blank("mean_recovery_time_s", CRUDE, _stored(mean_recovery_time_s=None)).words == "no value"
    assert blank("mean_recovery_time_s", CRUDE, _stored(mean_recovery_time_s=12.0)) is None
    assert blank("duplicate_charges", CRUDE, {}).words == "not in this scenario"
    assert blank("lost_fraction", CRUDE, _stored(lost_fraction=None, attempted_checkouts=0.0)).words == \
        "no checkout attempted"


def test_timeline_words_name_the_estimator_and_the_replication() -> None:
    crude = {"replication": 7, "rule": "the replication with the most lost checkouts", "method": "crude"}
    assert timeline_caption(crude) == "Full model (crude), replication 7: the replication with the most " \
                                      "lost checkouts."
    assert "full model (crude), replication 7:" in timeline_title("a", crude, "1 d")
    rare = {**crude, "method": "rare"}
    for text in (timeline_caption(rare), timeline_title("a", rare, "1 d").replace("\n", " ")):
        assert "from method rare" in text and "one full-model replication" in text
    old = {"replication": 3, "rule": "closest to the median"}  # stored before the estimator was recorded
    assert timeline_caption(old) == "Full model (crude), replication 3: closest to the median."


def test_a_quiet_search_says_so_plainly() -> None:
    # nothing fails within a 10-minute horizon: the rare method's search finds no path outage
    scenario = load_scenario("baseline", ["scenario.horizon=10m", "tiers.web.mtbf=10000d",
                                          "tiers.payment.mtbf=10000d", "traffic.arrival_rate=0.2"])
    chosen, timeline = shown(RARE, scenario, 1, [])
    assert not chosen.incident and chosen.replication == 0 and timeline is not None
    last = SEARCH_REPLICATIONS - 1
    assert chosen.rule.startswith(f"no path outage in full-model replications 0–{last}")
    assert chosen.rule.endswith("outages are rare; the table estimates them by method rare")
    chosen, _ = shown(CRUDE, scenario, 1, [{"replication": 0, "lost_checkouts": 0.0, "outage_count": 0.0},
                                           {"replication": 1, "lost_checkouts": 2.0, "outage_count": 0.0}])
    assert chosen.replication == 1 and chosen.incident


# -------------------------------------------------------------------------------------------------
# Every shipped scenario, every estimator that applies to it.


def _quick(path: Path) -> object:
    base = load_scenario(path)
    starts = [f"outages.{i}.start=5m" for i in range(len(base.outages))]
    return load_scenario(path, ["scenario.horizon=30m", "scenario.replications=2", *starts])


def _cases() -> list[tuple[Path, str]]:
    cases = []
    for path in SCENARIOS:
        scenario = _quick(path)
        for method in (CRUDE, WINDOWS, RARE):
            try:
                resolve_method(method, scenario)
            except MethodError:
                continue
            cases.append((path, method))
    return cases


def _figure_text(figures: dict[str, Figure]) -> str:
    return "\n".join(t.get_text() for fig in figures.values() for t in fig.findobj(Text))


def _measured_zero(result: dict, claim: str) -> bool:
    """Whether the run's estimator measured what ``claim`` is about and every replication had none."""
    metric, count = CLAIMS[claim]
    if metric in NOT_ESTIMATED.get(result["method"], {}):
        return False
    return all(r[count] == 0 for r in result["per_replication"])


def _check_lines(text: str, result: dict, what: str) -> None:
    """A table's lines: a claim only on its metric's row, and only when true; every not-estimated
    metric's row says so."""
    method = result["method"]
    for line in text.splitlines():
        for claim, (metric, _) in CLAIMS.items():
            if claim in line and not line.startswith("blank: "):
                assert line.startswith(metric), f"{what}: {claim!r} outside its row: {line}"
                assert _measured_zero(result, claim), f"{what}: {claim!r} but not measured zero: {line}"
        name = line.split(" ", 1)[0]
        if name in NOT_ESTIMATED.get(method, {}):
            assert f"not estimated by {method}" in line, f"{what}: {line}"


def _check_text(text: str, results: list[dict], what: str) -> None:
    """Free text (reports, figures): a claim only when some run measured it zero."""
    for claim in CLAIMS:
        if claim in text:
            assert any(_measured_zero(r, claim) for r in results), f"{what} says {claim!r}"


@pytest.mark.slow
@pytest.mark.parametrize(("path", "method"), _cases(), ids=lambda x: getattr(x, "stem", x))
def test_blanks_are_true_everywhere(path: Path, method: str, tmp_path: Path) -> None:
    scenario = _quick(path)
    result = run(scenario, replications=2, seed=1, workers=1, method=method)
    stored = result.to_dict()
    for name, m in stored["metrics"].items():  # the JSON: every null says why
        if m["mean"] is None:
            assert m.get("reason"), f"{name} is null without a reason"
            if name in NOT_ESTIMATED.get(method, {}):
                assert m["reason"] == NOT_ESTIMATED[method][name]
            for claim, (metric, _) in CLAIMS.items():  # "no path outage ...", "no service incident ..."
                if name == metric and m["reason"].startswith(("no path outage", "no service incident")):
                    assert _measured_zero(stored, claim), f"{name}: {m['reason']}"
    _check_lines(metric_table(result.metrics, scenario.horizon_s, method=result.method), stored, "run table")

    store_run(result, tmp_path / "run")
    doc, figures = run_document(load_run(tmp_path / "run"))
    files = write_report(doc, figures, tmp_path / "run", figure_subdir="", dpi=40)
    run_text = files.markdown.read_text() + files.html.read_text() + _figure_text(figures)
    _check_text(run_text, [stored], "run report")
    assert "full model (crude), replication" in _figure_text(figures)
    if method != CRUDE:
        assert f"from method {method}" in _figure_text(figures) and f"from method {method}" in run_text

    twin = dataclasses.replace(scenario, name=f"{scenario.name} again")
    folder = tmp_path / "cmp"
    store_comparison([scenario, twin], folder, 2, 1, workers=1, method=method)
    manifest, runs = load_comparison(folder)
    results = [r.result for r in runs]
    text = comparison_text(manifest, runs, scenario.horizon_s)
    key_results = text.split("\n\nanalytic floor")[0]
    _check_lines(key_results, results[0], "compare table")
    for name in NOT_ESTIMATED.get(method, {}):
        if any(line.startswith(name) for line in text.splitlines()):
            assert f"not compared (not estimated by {method})" in text
    doc, figures = comparison_document(manifest, runs)
    files = write_report(doc, figures, folder, dpi=40)
    report = files.markdown.read_text() + files.html.read_text() + _figure_text(figures)
    _check_text(report, results, "compare report")
    if any(m in NOT_ESTIMATED.get(method, {}) for m in ("latency_p95_s", "mean_service_recovery_time_s")):
        assert f"not estimated by {method}" in files.markdown.read_text()
    figure_text = _figure_text({k: v for k, v in figures.items() if k.startswith("timeline-")})
    assert "full model (crude), replication" in figure_text
    if method != CRUDE:
        assert f"from method {method}" in figure_text.replace("\n", " ")


def test_every_scenario_has_its_cases() -> None:
    cases = _cases()
    assert {p for p, _ in cases} == set(SCENARIOS) and len(SCENARIOS) >= 10
    assert (ROOT / "scenarios" / "baseline.toml", RARE) in cases
    assert all((p, CRUDE) in cases for p in SCENARIOS)
