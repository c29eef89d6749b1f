"""Simulate what a report is drawn from, and store it: the only module of ``sim.report`` that runs
the model. Everything else in the package reads the stored JSON, so a report can be re-drawn
from its folder without simulating again.

A comparison folder holds::

    manifest.json               kind, version, seed, replications, scenario labels and files
    results/<label>.json        exactly what `sim run --json` writes for that scenario
    timelines/<label>.json      the representative replication's timeline, and the outage and
                                status-page windows of every replication

The timeline shows one replication of the full model, chosen to show an incident (:func:`shown`):

- crude: the replication with the most lost checkouts in the first (baseline) scenario (ties: the
  lowest index); every replication records its timeline as it runs (tens of kB each, and the outage
  windows of every replication are needed anyway), so it is chosen after the fact;
- windows: the replication with the most lost checkouts under windows, simulated again in full
  (replication r's infrastructure path is the full model's, draw for draw: the same incidents);
- rare: its replications are batches of cycles, unrelated to a full-model replication, so
  full-model replications 0, 1, 2, ... of the baseline are simulated (at most
  :data:`SEARCH_REPLICATIONS`: a count, never the clock, so the figure is the same on any machine)
  until one has a path outage (else the first with a lost checkout, else replication 0, and the
  record says so).

The same replication index is shown for every scenario: with common random numbers it is the same
simulated day (same customers, same failures of the replicas the architectures share) under each
architecture. The timeline file records which replication, why, and the estimator behind the
tables (:mod:`sim.report.timeline_text` words it).

File names come from scenario names through :func:`unique_labels`: only letters, digits, ``_``,
``-`` and ``.`` survive, never a leading dot, at most :data:`MAX_LABEL` characters, distinct even
on a case-insensitive file system, so no name (``../x``, ``a/b``, ``/etc``) can reach outside
the folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sim import __version__
from sim.experiment import RunResult, run, run_replication
from sim.scenario import scenario_hash
from sim.scenario.io import write_json_atomic
from sim.scenario.spec import Scenario

COMPARISON_KIND = "outagesim-comparison"
RUN_KIND = "outagesim-run"
#: the rare method's search for a full-model replication with an incident: at most this many
#: replications, and no new one after this much wall clock
SEARCH_REPLICATIONS = 10


def representative_replication(per_replication: Sequence[dict], metric: str = "lost_checkouts") -> int:
    """Index of the replication with the most ``metric`` (ties and all-missing: the lowest index)."""
    pairs = [(int(r["replication"]), float(r[metric])) for r in per_replication
             if r.get(metric) is not None and not math.isnan(float(r[metric]))]
    if not pairs:
        return int(per_replication[0]["replication"]) if per_replication else 0
    return min(pairs, key=lambda p: (-p[1], p[0]))[0]


@dataclass(frozen=True)
class Shown:
    """The full-model replication a timeline shows, why (``rule``), and the estimator behind the tables."""

    replication: int
    rule: str
    method: str = "crude"
    incident: bool = True  # False: no incident found (the rule says where it looked)

    def to_dict(self) -> dict:
        return {"replication": self.replication, "rule": self.rule, "method": self.method,
                "incident": self.incident}


def _most_lost(method: str, per_replication: Sequence[dict], where: str) -> Shown:
    r = representative_replication(per_replication)
    lost = next((float(x["lost_checkouts"]) for x in per_replication if int(x["replication"]) == r), 0.0)
    under = "" if method == "crude" else f" under method {method}"
    if lost > 0:
        return Shown(r, f"the replication with the most lost checkouts{under}{where}", method)
    outages = representative_replication(per_replication, "outage_count")
    has = any(int(x["replication"]) == outages and (x.get("outage_count") or 0) > 0 for x in per_replication)
    if has:
        return Shown(outages, f"no replication lost a checkout{under}{where}; the one with the most path "
                     "outages", method)
    return Shown(r, f"no replication lost a checkout or had a path outage{under}{where}", method, False)


def _search(scenario: Scenario, seed: int, method: str, where: str) -> tuple[Shown, dict]:
    """Full-model replications 0, 1, ... until one has a path outage (bounded): the shown one and its
    timeline."""
    of = where.replace(" in ", " of ", 1)
    lost_at: tuple[int, dict] | None = None
    first: dict | None = None
    tried = 0
    while tried < SEARCH_REPLICATIONS:
        rep = run_replication(scenario, seed, tried, timeline=True)
        assert rep.timeline is not None
        first = first or rep.timeline
        if rep.metrics["outage_count"] > 0:
            return Shown(tried, f"the first full-model replication{of} with a path outage (replications "
                         f"0–{tried} tried)", method), rep.timeline
        if lost_at is None and rep.metrics["lost_checkouts"] > 0:
            lost_at = (tried, rep.timeline)
        tried += 1
    assert first is not None
    tried_text = f"full-model replications 0–{tried - 1}" if tried > 1 else "full-model replication 0"
    plain = (f"no path outage in {tried_text}{of}: outages are rare; the table estimates them by method "
             f"{method}")
    if lost_at is not None:
        return Shown(lost_at[0], f"{plain}; replication {lost_at[0]} is the first with a lost checkout",
                     method), lost_at[1]
    return Shown(0, plain, method, False), first


def shown(method: str, scenario: Scenario, seed: int, per_replication: Sequence[dict],
          where: str = "") -> tuple[Shown, dict | None]:
    """The replication a timeline shows for a run by ``method`` whose replications' metrics are
    ``per_replication`` (module docstring), and its full-model timeline when finding it simulated it
    (rare). ``where``: e.g. " in the baseline", appended to the rule."""
    if method == "rare":
        return _search(scenario, seed, method, where)
    return _most_lost(method, per_replication, where), None


def measured_windows(windows: Sequence[Sequence[float]], warmup_s: float,
                     horizon_s: float) -> list[list[float]]:
    """Windows that start inside the measured window ``[warmup, horizon)`` (as ``outage_count``)."""
    return [[float(s), float(e)] for s, e in windows if warmup_s <= s < horizon_s]


def timeline_record(scenario: Scenario, timelines: Sequence[dict], representative: int,
                    chosen: Shown | None = None) -> dict:
    """The stored timeline file: the shown replication's full timeline and every replication's windows,
    with which replication it is, why, and the estimator behind the tables (``chosen``).

    ``timelines[i]`` is replication i's timeline (``RunResult.timelines``).
    """
    chosen = chosen or Shown(representative, "")
    return {
        **chosen.to_dict(),
        "replication": representative,
        "horizon_s": scenario.horizon_s,
        "warmup_s": scenario.warmup_s,
        "timeline": timelines[representative],
        "windows": [
            {"replication": i,
             "path_down": measured_windows(t["path_down"], scenario.warmup_s, scenario.horizon_s),
             "status_page": t["status_page"],
             "service_incidents": t.get("service_incidents", [])}
            for i, t in enumerate(timelines)
        ],
    }


MAX_LABEL = 60  # characters of a file-name label (room for "timeline-" and ".json" in any file system)


def unique_labels(names: Sequence[str]) -> list[str]:
    """File-safe, distinct labels for scenario names (``a``, ``a-2``, ...).

    Anything but letters, digits, ``_``, ``-`` and ``.`` becomes ``-`` (so ``/``, ``\\`` and
    ``..`` can never form a path), leading and trailing dots and dashes go, and labels are cut to
    :data:`MAX_LABEL` characters and kept distinct ignoring case.
    """
    labels: list[str] = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
        base = re.sub(r"\.{2,}", "-", base).strip("-.")[:MAX_LABEL].strip("-.") or "scenario"
        label, k = base, 2
        while label.lower() in {x.lower() for x in labels}:
            label, k = f"{base[:MAX_LABEL - len(str(k)) - 1]}-{k}", k + 1
        labels.append(label)
    return labels


def default_comparison_dir(scenarios: Sequence[Scenario], replications: int, seed: int,
                           root: Path = Path("results"), method: str = "crude",
                           precision: dict | None = None) -> Path:
    """``results/compare-<names>-<hash>``: the same comparison always gets the same folder (the
    estimator and a precision target are part of the hash unless crude and fixed-size)."""
    names = "-".join(unique_labels([s.name for s in scenarios]))[:60].rstrip("-")
    key = "|".join([*(scenario_hash(s) for s in scenarios), str(replications), str(seed)])
    if method != "crude" or precision:
        key += f"|{method}|{json.dumps(precision or {}, sort_keys=True, default=list)}"
    return root / f"compare-{names}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def store_comparison(scenarios: Sequence[Scenario], out: Path, replications: int, seed: int,
                     workers: int | None = None, command: str = "",
                     echo: Callable[[str], None] = lambda _: None,
                     progress: Callable[[str, int, int], None] | None = None,
                     headers: Sequence[str] | None = None, method: str = "crude",
                     precision: dict | None = None) -> Path:
    """Run every scenario on the same seed (common random numbers) and store what the report needs.

    Returns the manifest's path. Each scenario is run once with :func:`sim.experiment.run` (its
    JSON is exactly ``sim run --json``), every replication recording its timeline, for the
    representative timeline and the per-outage recovery times. ``progress(label, done, total)``
    is called as replications finish. ``headers``: each scenario's one-line description as the
    command printed it (stored in the manifest for the report).

    ``method``: the estimator (a resolved name, as for :func:`sim.experiment.run`). Paired differences
    stay paired with any of them: replication i of every scenario uses the same streams, and with
    incident windows the infrastructure path of replication i is the same for every scenario whose
    failure laws are the same. Without crude runs there are no per-replication timelines: the shown
    replication (:func:`shown`, chosen on the baseline) is simulated once more in full for each scenario.
    ``precision``: the keyword arguments of a precision-driven run (``precision``, ``max_time``,
    ``targets``) for the baseline; the other scenarios then run the baseline's final number of
    replications, so every difference is paired replication by replication.
    """
    out = Path(out)
    labels = unique_labels([s.name for s in scenarios])
    chosen = Shown(0, "")
    found: dict | None = None
    for index, (label, scenario) in enumerate(zip(labels, scenarios, strict=True)):
        echo(f"running {label}: {replications} replication{'s' if replications != 1 else ''}, seed {seed}")
        report = None if progress is None else (lambda done, total, x=label: progress(x, done, total))
        crude = method == "crude"
        wanted = precision if precision and index == 0 else {}
        result = run(scenario, replications=replications, seed=seed, workers=workers, progress=report,
                     timelines=crude, method=method, **wanted)
        if index == 0:
            chosen, found = shown(method, scenario, seed, result.per_replication,
                                  " in the baseline" if len(scenarios) > 1 else "")
            replications = result.replications
        write_json_atomic(out / "results" / f"{label}.json", result.to_dict())
        if crude:
            record = timeline_record(scenario, result.timelines, chosen.replication, chosen)
        else:
            record = _full_record(scenario, seed, chosen, found if index == 0 else None)
        write_json_atomic(out / "timelines" / f"{label}.json", record)
    manifest = {
        "kind": COMPARISON_KIND,
        "version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "seed": seed,
        "replications": replications,
        "method": method,
        "precision": None if not precision else {k: list(v) if isinstance(v, tuple) else v
                                                 for k, v in precision.items()},
        "representative_replication": chosen.replication,
        "representative_rule": chosen.rule,
        "scenarios": [
            {"label": label, "name": s.name, "source": s.source, "hash": scenario_hash(s),
             "result": f"results/{label}.json", "timeline": f"timelines/{label}.json",
             **({"header": headers[i]} if headers else {})}
            for i, (label, s) in enumerate(zip(labels, scenarios, strict=True))
        ],
    }
    return write_json_atomic(out / "manifest.json", manifest)


def _full_record(scenario: Scenario, seed: int, chosen: Shown, timeline: dict | None = None) -> dict:
    """The timeline record of the shown replication alone, simulated in full unless ``timeline`` is
    given (a method that keeps no timeline)."""
    if timeline is None:
        timeline = run_replication(scenario, seed, chosen.replication, timeline=True).timeline
    assert timeline is not None
    record = timeline_record(scenario, [timeline], 0, chosen)
    record["replication"] = record["windows"][0]["replication"] = chosen.replication
    return record


def store_run(result: RunResult, out: Path, command: str = "") -> Path:
    """Store one ``sim run`` result and one replication's timeline (for ``--plot``): the replication
    :func:`shown` picks (one with an incident), from ``result.timelines`` when recorded."""
    out = Path(out)
    write_json_atomic(out / "result.json", result.to_dict())
    chosen, found = shown(result.method, result.scenario, result.seed, result.per_replication)
    if result.timelines is not None and found is None:
        found = result.timelines[chosen.replication]
    record = _full_record(result.scenario, result.seed, chosen, found)
    write_json_atomic(out / "timeline.json", record)
    return write_json_atomic(out / "manifest.json", {
        "kind": RUN_KIND, "version": __version__, "command": command,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "result": "result.json", "timeline": "timeline.json",
    })
