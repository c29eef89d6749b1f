"""The numbers of a comparison, read from its folder: each scenario's stored result, the summary
table's cells and the paired differences against the baseline (common random numbers)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.experiment.blanks import Blank, blank, stored_method
from sim.report import style
from sim.report.collect import COMPARISON_KIND
from sim.report.document import Table
from sim.report.figures import Estimate
from sim.report.output import ReportError, num, read_json
from sim.stats.intervals import Summary, paired_difference, significant

#: Rows of the summary table, in order ("availability_nines" is derived from "availability";
#: per-tier availabilities are inserted after it).
TABLE_METRICS: tuple[str, ...] = (
    "attempted_checkouts", "completed_checkouts", "deferred_checkouts", "lost_checkouts", "lost_fraction",
    "mean_extra_delay_s", "availability", "availability_nines", "outage_count", "mean_recovery_time_s",
    "mean_service_recovery_time_s", "lost_checkouts_per_year", "downtime_minutes_per_year", "latency_p95_s",
    "retry_load_factor", "lost_revenue", "duplicate_charges", "duplicate_charge_value", "infrastructure_cost",
)
#: Metrics compared pairwise against the baseline (and every ``calls_per_checkout_<tier>``).
PAIRED_METRICS: tuple[str, ...] = (
    "completed_checkouts", "deferred_checkouts", "lost_checkouts", "lost_fraction", "availability",
    "outage_count", "mean_recovery_time_s", "mean_service_recovery_time_s", "latency_p95_s",
    "lost_revenue", "duplicate_charges", "infrastructure_cost",
)
LOWER_IS_BETTER = frozenset({
    "lost_checkouts", "lost_fraction", "outage_count", "mean_recovery_time_s", "mean_service_recovery_time_s",
    "latency_p95_s", "lost_revenue", "infrastructure_cost", "mean_extra_delay_s", "duplicate_charges",
    "duplicate_charge_value",
})


def calls_metrics(runs: Sequence[StoredRun]) -> list[str]:
    """The ``calls_per_checkout_<tier>`` metrics of any run, in path order of the first that has them."""
    names: list[str] = []
    for run in runs:
        names += [m for m in run.result["metrics"] if m.startswith("calls_per_checkout_") and m not in names]
    return names
HIGHER_IS_BETTER = frozenset({"completed_checkouts", "availability"})


@dataclass(frozen=True)
class StoredRun:
    """One scenario of a comparison as stored: its ``sim run --json`` result and timeline record."""

    label: str
    result: dict
    timeline_record: dict | None

    def estimate(self, metric: str) -> Estimate:
        """Mean and CI of a metric exactly as stored (NaN when the scenario lacks the metric)."""
        if metric == "availability_nines" and metric not in self.result["metrics"]:  # stored before nines
            a = self.estimate("availability")
            return Estimate(style.nines(a.mean), style.nines(a.low), style.nines(a.high))
        return Estimate.from_dict(self.result["metrics"].get(metric))

    def n(self, metric: str) -> int:
        """Replications with a value of the metric (e.g. recovery times need an outage)."""
        return int((self.result["metrics"].get(metric) or {}).get("n") or 0)

    def values(self, metric: str) -> list[float]:
        """Per-replication values, in replication order."""
        return [num(r.get(metric)) for r in self.result["per_replication"]]

    def has(self, metric: str) -> bool:
        return metric == "availability_nines" or metric in self.result["metrics"]

    @property
    def method(self) -> str:
        """The estimator behind the stored numbers (crude, windows, rare)."""
        return stored_method(self.result)

    def blank(self, metric: str) -> Blank | None:
        """Why the metric has no value (:mod:`sim.experiment.blanks`), None when it has one."""
        if not style.is_missing(self.estimate(metric).mean):
            return None
        return blank(metric, self.method, self.result["metrics"], int(self.result["replications"])) \
            or Blank("no value", "no replication gave a value")

    @property
    def currency(self) -> str:
        return self.result["scenario"].get("costs", {}).get("currency", "")

    @property
    def horizon_s(self) -> float:
        return float(self.result["scenario"]["scenario"]["horizon"])

    @property
    def warmup_s(self) -> float:
        return float(self.result["scenario"]["scenario"].get("warmup", 0.0))

    def outage_lengths_s(self) -> list[float]:
        """Length of every path outage that started in the measured window, over all replications."""
        if not self.timeline_record:
            return []
        return [e - s for w in self.timeline_record["windows"] for s, e in w["path_down"]]

    def service_incident_lengths_s(self) -> list[float] | None:
        """Length of every service incident that began in the window, over all replications
        (None for results stored before incidents were recorded)."""
        windows = self.timeline_record["windows"] if self.timeline_record else []
        if not windows or any("service_incidents" not in w for w in windows):
            return None
        return [e - s for w in windows for s, e in w["service_incidents"]]


def load_comparison(folder: Path) -> tuple[dict, list[StoredRun]]:
    """The manifest and the stored runs of a comparison folder, baseline first."""
    folder = Path(folder)
    manifest = read_json(folder / "manifest.json")
    if manifest.get("kind") != COMPARISON_KIND:
        raise ReportError(f"{folder / 'manifest.json'}: not a comparison folder "
                          f"(kind {manifest.get('kind')!r})")
    runs = []
    for entry in manifest["scenarios"]:
        result = read_json(inside(folder, entry["result"]))
        timeline = read_json(inside(folder, entry["timeline"])) if entry.get("timeline") else None
        runs.append(StoredRun(entry["label"], result, timeline))
    if not runs:
        raise ReportError(f"{folder / 'manifest.json'}: no scenarios")
    return manifest, runs


def inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, refusing a stored path that leads outside the folder."""
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ReportError(f"{folder / 'manifest.json'}: {relative!r} is outside the folder")
    return path


# ---------------------------------------------------------------------------------------------
# Numbers.


def table_metrics(runs: Sequence[StoredRun]) -> list[str]:
    """Summary-table rows present in at least one run, per-tier availabilities after "nines"."""
    tiers: list[str] = []
    for run in runs:
        tiers += [m for m in run.result["metrics"]
                  if m.startswith("availability_") and m != "availability_nines" and m not in tiers]
    rows = []
    for m in TABLE_METRICS:
        if any(r.has(m) for r in runs):
            rows.append(m)
        if m == "availability_nines":
            rows += tiers
        if m == "retry_load_factor":
            rows += calls_metrics(runs)
    return rows


def cell_text(metric: str, e: Estimate, currency: str = "") -> str:
    """``mean (low – high)``, written in the metric's unit."""
    if metric == "availability_nines":
        if math.isnan(e.low) or e.low == e.high:
            return style.nines_text(e.mean)
        if math.isinf(e.high):  # the interval reaches no downtime: only a lower bound is known
            return f"{style.nines_text(e.mean)} (≥ {style.nines_text(e.low)})"
        low, high = (style.nines_text(x).removesuffix(" (no downtime)") for x in (e.low, e.high))
        return f"{style.nines_text(e.mean)} ({low} – {high})"
    ms = style.metric_style(metric)
    low, high = ms.text(e.low, currency), ms.text(e.high, currency)
    if math.isnan(e.low) or math.isnan(e.high) or low == high:  # no interval, or none worth showing
        return ms.text(e.mean, currency)
    return f"{ms.text(e.mean, currency)} ({low} – {high})"


def row_label(metric: str) -> str:
    if metric == "availability_nines":
        return "Availability in nines, −log10(1 − A)"
    ms = style.metric_style(metric)
    unit = "" if ms.kind in ("fraction", "seconds", "money") else ms.unit
    return f"{ms.label} ({unit})" if unit and unit != "checkouts" else ms.label


def summary_table(runs: Sequence[StoredRun]) -> Table:
    """Metrics (rows) × scenarios (columns): mean with 95% CI, exactly the stored values."""
    rows = []
    for m in table_metrics(runs):
        rows.append((row_label(m), *(table_cell(m, r) for r in runs)))
    return Table(("metric", *(r.label for r in runs)), tuple(rows),
                 "Mean per replication (95% confidence interval)")


def table_cell(metric: str, run: StoredRun) -> str:
    """The cell, plus how many replications had a value when not all did (recovery times)."""
    if not run.has(metric):
        return "–"
    missing = run.blank(metric)
    if missing is not None:
        return missing.words
    text = cell_text(metric, run.estimate(metric), run.currency)
    n, reps = run.n(metric), int(run.result["replications"])
    if metric in run.result["metrics"] and 0 < n < reps:
        text += f" [{n} of {reps} replications]"
    return text


@dataclass(frozen=True)
class PairedRow:
    """One metric of one scenario against the baseline, paired over common random numbers."""

    label: str
    metric: str
    baseline_mean: float
    mean: float
    diff: Summary
    significant: bool
    #: why there is nothing to compare, when either side has no value ("not estimated by rare",
    #: "no outage in <label>"); empty when both have values
    missing: str = ""

    @property
    def relative(self) -> float:
        """Difference relative to the baseline's mean (NaN when that is zero)."""
        if self.baseline_mean == 0 or math.isnan(self.baseline_mean):
            return math.nan
        return self.diff.mean / abs(self.baseline_mean)


def paired_rows(runs: Sequence[StoredRun]) -> list[PairedRow]:
    """Paired differences (scenario − baseline) of :data:`PAIRED_METRICS` for every non-baseline run."""
    base = runs[0]
    rows = []
    for run in runs[1:]:
        for m in (*PAIRED_METRICS, *calls_metrics(runs)):
            if not (base.has(m) and run.has(m)):
                continue
            a, b = run.values(m), base.values(m)
            if len(a) != len(b):
                raise ReportError(f"{run.label}: {len(a)} replications, baseline {len(b)}: cannot pair")
            diff = paired_difference(a, b)
            rows.append(PairedRow(run.label, m, base.estimate(m).mean, run.estimate(m).mean, diff,
                                  significant(diff), _missing(m, base, run)))
    return rows


def blank_reasons(runs: Sequence[StoredRun], metrics: Sequence[str], names: Sequence[str] | None = None,
                  prefix: str = "") -> list[str]:
    """Why cells are blank, one line per reason: "<metrics>: <reason>", naming the scenarios (``names``,
    default the labels) unless it is all of them."""
    names = [r.label for r in runs] if names is None else names
    by_reason: dict[str, tuple[list[str], list[str]]] = {}
    for name, run in zip(names, runs, strict=True):
        for m in metrics:
            b = run.blank(m) if m in run.result["metrics"] else None
            if b is not None:
                found, where = by_reason.setdefault(b.reason, ([], []))
                found += [m] if m not in found else []
                where += [name] if name not in where else []
    return [f"{prefix}{', '.join(found)}: {why}"
            + ("" if len(where) == len(runs) else f" ({', '.join(where)})")
            for why, (found, where) in by_reason.items()]


def _missing(metric: str, base: StoredRun, run: StoredRun) -> str:
    """Why a metric cannot be compared: its blank in either scenario (named unless the estimator's)."""
    for r in (base, run):
        b = r.blank(metric)
        if b is not None:
            return b.words if b.not_estimated else f"{b.words} in {r.label}"
    return ""


def not_compared(row: PairedRow) -> str:
    """The verdict of a row without two pairs to compare: "not compared (not estimated by rare)"."""
    if row.missing:
        return f"not compared ({row.missing})"
    return "not compared (fewer than two replications where both scenarios have a value)"


def diff_text(metric: str, x: float, currency: str = "") -> str:
    """A difference in the metric's unit, with its sign (fractions in percentage points)."""
    if style.is_missing(x):
        return "–"
    ms = style.metric_style(metric)
    if ms.kind == "fraction":
        text = f"{100 * x:.4f} pp" if abs(100 * x) >= 1e-3 or x == 0 else f"{100 * x:.2g} pp"
        return style.signed(text.replace("-", "−"), x)
    return style.signed(ms.text(x, currency), x)


def percent_change(x: float) -> str:
    """A relative change as a signed percentage, or a factor beyond a doubling ("×176")."""
    return style.relative_change(x)


def _judgement(row: PairedRow) -> str:
    if not row.significant or row.diff.mean == 0:
        return ""
    better = (row.diff.mean < 0) == (row.metric in LOWER_IS_BETTER)
    if row.metric not in LOWER_IS_BETTER | HIGHER_IS_BETTER:
        return ""
    return " (better)" if better else " (worse)"


def paired_table(rows: Sequence[PairedRow], label: str, baseline: str, currency: str = "") -> Table:
    out = []
    for r in rows:
        if r.label != label:
            continue
        d = r.diff
        ci = "–" if math.isnan(d.ci_low) else f"{diff_text(r.metric, d.ci_low, currency)} to " \
                                             f"{diff_text(r.metric, d.ci_high, currency)}"
        rel = percent_change(r.relative)
        verdict = ("yes" + _judgement(r)) if r.significant else not_compared(r) if r.missing or d.n == 0 \
            else "no"
        ms = style.metric_style(r.metric)
        out.append((ms.label, ms.text(r.baseline_mean, currency), ms.text(r.mean, currency),
                    diff_text(r.metric, d.mean, currency), ci, rel, str(d.n), verdict))
    return Table(("metric", baseline, label, "difference", "95% CI of the difference", "relative",
                  "pairs", "significant"), tuple(out), f"{label} − {baseline}, paired by replication")


def difference_sentences(rows: Sequence[PairedRow], label: str, baseline: str,
                         currency: str = "") -> list[str]:
    """Plain sentences: each significant difference, then the metrics that did not differ."""
    sentences, same = [], []
    for r in rows:
        if r.label != label:
            continue
        name = style.metric_style(r.metric).label
        if not r.significant:
            if r.diff.n >= 2:
                same.append(name.lower())
            continue
        direction = "higher" if r.diff.mean > 0 else "lower"
        size = diff_text(r.metric, abs(r.diff.mean), currency).lstrip("+")
        rel = "" if math.isnan(r.relative) else percent_change(r.relative)
        judged = ", ".join(x for x in (rel, _judgement(r).strip(" ()")) if x)
        judged = f" ({judged})" if judged else ""
        ci = (f"{diff_text(r.metric, r.diff.ci_low, currency)} to "
              f"{diff_text(r.metric, r.diff.ci_high, currency)}")
        sentences.append(f"{name}: {size} {direction} than {baseline}{judged}; 95% CI of the "
                         f"difference {ci}. Significant.")
    if same:
        sentences.append(f"No significant difference from {baseline} in: {', '.join(same)}.")
    missing: dict[str, list[str]] = {}
    for r in rows:
        if r.label == label and r.diff.n < 2:
            why = r.missing or "fewer than two replications where both scenarios have a value"
            missing.setdefault(why, []).append(style.metric_style(r.metric).label.lower())
    for why, names in missing.items():
        sentences.append(f"Not compared ({why}): {', '.join(names)}.")
    return sentences
