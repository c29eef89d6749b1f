"""Simulate what a report is drawn from, and store it: the only module of ``sim.report`` that runs
the model. Everything else in the package reads the stored JSON, so a report can be re-drawn
from its folder without simulating again.

A comparison folder holds::

    manifest.json               kind, version, seed, replications, scenario labels and files
    results/<label>.json        exactly what `sim run --json` writes for that scenario
    timelines/<label>.json      the representative replication's timeline, and the outage and
                                status-page windows of every replication

The *representative replication* is the one whose lost checkouts, in the first (baseline)
scenario, are closest to the baseline's median (ties: the lowest index). The same replication
index is shown for every scenario: with common random numbers it is the same simulated day
(same customers, same failures of the replicas the architectures share) under each architecture.

Each scenario is simulated once: every replication records its timeline as it runs (tens of kB
each, and the outage windows of every replication are needed anyway), so the representative can
be chosen after the fact without running anything again.

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
from pathlib import Path

import numpy as np

from sim import __version__
from sim.experiment import RunResult, run, run_replication
from sim.scenario import scenario_hash
from sim.scenario.io import write_json_atomic
from sim.scenario.spec import Scenario

COMPARISON_KIND = "outagesim-comparison"
RUN_KIND = "outagesim-run"
REPRESENTATIVE_RULE = (
    "the replication whose lost checkouts in the baseline (first) scenario are closest to the "
    "baseline's median over replications (ties: lowest index); the same replication index is shown "
    "for every scenario"
)


def representative_replication(per_replication: Sequence[dict], metric: str = "lost_checkouts") -> int:
    """Index of the replication whose ``metric`` is closest to the median (ties: lowest index)."""
    pairs = [(int(r["replication"]), float(r[metric])) for r in per_replication
             if r.get(metric) is not None and not math.isnan(float(r[metric]))]
    if not pairs:
        return int(per_replication[0]["replication"]) if per_replication else 0
    median = float(np.median([v for _, v in pairs]))
    return min(pairs, key=lambda p: (abs(p[1] - median), p[0]))[0]


def measured_windows(windows: Sequence[Sequence[float]], warmup_s: float,
                     horizon_s: float) -> list[list[float]]:
    """Windows that start inside the measured window ``[warmup, horizon)`` (as ``outage_count``)."""
    return [[float(s), float(e)] for s, e in windows if warmup_s <= s < horizon_s]


def timeline_record(scenario: Scenario, timelines: Sequence[dict], representative: int,
                    rule: str = REPRESENTATIVE_RULE) -> dict:
    """The stored timeline file: the representative's full timeline and every replication's windows.

    ``timelines[i]`` is replication i's timeline (``RunResult.timelines``).
    """
    return {
        "replication": representative,
        "rule": rule,
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
    failure laws are the same. Without crude runs there are no per-replication timelines: the
    representative replication (of the baseline) is simulated once more in full for each scenario.
    ``precision``: the keyword arguments of a precision-driven run (``precision``, ``max_time``,
    ``targets``) for the baseline; the other scenarios then run the baseline's final number of
    replications, so every difference is paired replication by replication.
    """
    out = Path(out)
    labels = unique_labels([s.name for s in scenarios])
    representative = 0
    for index, (label, scenario) in enumerate(zip(labels, scenarios, strict=True)):
        echo(f"running {label}: {replications} replication{'s' if replications != 1 else ''}, seed {seed}")
        report = None if progress is None else (lambda done, total, x=label: progress(x, done, total))
        crude = method == "crude"
        wanted = precision if precision and index == 0 else {}
        result = run(scenario, replications=replications, seed=seed, workers=workers, progress=report,
                     timelines=crude, method=method, **wanted)
        if index == 0:
            representative = representative_replication(result.per_replication)
            replications = result.replications
        write_json_atomic(out / "results" / f"{label}.json", result.to_dict())
        if crude:
            record = timeline_record(scenario, result.timelines, representative)
        else:  # the representative alone, from a full run (the estimator keeps no timeline)
            full = run_replication(scenario, seed, representative, timeline=True).timeline
            record = timeline_record(scenario, [full], 0, REPRESENTATIVE_RULE + " (simulated in full)")
            record["replication"] = record["windows"][0]["replication"] = representative
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
        "representative_replication": representative,
        "representative_rule": REPRESENTATIVE_RULE,
        "scenarios": [
            {"label": label, "name": s.name, "source": s.source, "hash": scenario_hash(s),
             "result": f"results/{label}.json", "timeline": f"timelines/{label}.json",
             **({"header": headers[i]} if headers else {})}
            for i, (label, s) in enumerate(zip(labels, scenarios, strict=True))
        ],
    }
    return write_json_atomic(out / "manifest.json", manifest)


def store_run(result: RunResult, out: Path, command: str = "") -> Path:
    """Store one ``sim run`` result and its representative replication's timeline (for ``--plot``).

    The representative replication is the one whose lost checkouts are closest to the median.
    """
    out = Path(out)
    write_json_atomic(out / "result.json", result.to_dict())
    representative = representative_replication(result.per_replication)
    timelines = result.timelines
    if timelines is None:  # run without timelines: simulate the representative once more, with one
        timelines = {representative: run_replication(result.scenario, result.seed, representative,
                                                     timeline=True).timeline}
    rule = "the replication whose lost checkouts are closest to the median over replications"
    record = timeline_record(result.scenario, [timelines[representative]], 0, rule)
    record["replication"] = representative
    record["windows"][0]["replication"] = representative
    write_json_atomic(out / "timeline.json", record)
    return write_json_atomic(out / "manifest.json", {
        "kind": RUN_KIND, "version": __version__, "command": command,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "result": "result.json", "timeline": "timeline.json",
    })
