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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from sim import __version__
from sim.experiment import ReplicationResult, RunResult, run, run_replication
from sim.experiment.executors import available_cores, process_context
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


def _timeline_task(args: tuple[Scenario, int, int]) -> ReplicationResult:
    scenario, seed, replication = args
    return run_replication(scenario, seed, replication, timeline=True)


def timeline_replications(scenario: Scenario, seed: int, replications: Sequence[int],
                          workers: int | None = None) -> list[ReplicationResult]:
    """Replications with timelines, in parallel processes, in replication order."""
    indices = list(replications)
    workers = max(1, min(available_cores() if workers is None else workers, len(indices)))
    tasks = [(scenario, seed, i) for i in indices]
    if workers == 1:
        return [_timeline_task(t) for t in tasks]
    with ProcessPoolExecutor(max_workers=workers, mp_context=process_context()) as pool:
        return list(pool.map(_timeline_task, tasks))


def timeline_record(scenario: Scenario, results: Sequence[ReplicationResult], representative: int,
                    rule: str = REPRESENTATIVE_RULE) -> dict:
    """The stored timeline file: the representative's full timeline and every replication's windows."""
    by_index = {r.replication: r for r in results}
    return {
        "replication": representative,
        "rule": rule,
        "horizon_s": scenario.horizon_s,
        "warmup_s": scenario.warmup_s,
        "timeline": by_index[representative].timeline,
        "windows": [
            {"replication": r.replication,
             "path_down": measured_windows(r.timeline["path_down"], scenario.warmup_s, scenario.horizon_s),
             "status_page": r.timeline["status_page"],
             "service_incidents": r.timeline.get("service_incidents", [])}
            for r in results
        ],
    }


def unique_labels(names: Sequence[str]) -> list[str]:
    """File-safe, distinct labels for scenario names (``a``, ``a-2``, ...)."""
    labels: list[str] = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "scenario"
        label, k = base, 2
        while label in labels:
            label, k = f"{base}-{k}", k + 1
        labels.append(label)
    return labels


def default_comparison_dir(scenarios: Sequence[Scenario], replications: int, seed: int,
                           root: Path = Path("results")) -> Path:
    """``results/compare-<names>-<hash>``: the same comparison always gets the same folder."""
    names = "-".join(unique_labels([s.name for s in scenarios]))[:60].rstrip("-")
    key = "|".join([*(scenario_hash(s) for s in scenarios), str(replications), str(seed)])
    return root / f"compare-{names}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def store_comparison(scenarios: Sequence[Scenario], out: Path, replications: int, seed: int,
                     workers: int | None = None, command: str = "",
                     echo: Callable[[str], None] = lambda _: None) -> Path:
    """Run every scenario on the same seed (common random numbers) and store what the report needs.

    Returns the manifest's path. Each scenario is run with :func:`sim.experiment.run` (its JSON is
    exactly ``sim run --json``), then every replication again with a timeline, for the
    representative timeline and the per-outage recovery times.
    """
    out = Path(out)
    labels = unique_labels([s.name for s in scenarios])
    results: list[RunResult] = []
    for label, scenario in zip(labels, scenarios, strict=True):
        echo(f"running {label}: {replications} replications, seed {seed}")
        result = run(scenario, replications=replications, seed=seed, workers=workers)
        write_json_atomic(out / "results" / f"{label}.json", result.to_dict())
        results.append(result)
    representative = representative_replication(results[0].per_replication)
    for label, scenario in zip(labels, scenarios, strict=True):
        echo(f"timelines of {label}")
        with_timelines = timeline_replications(scenario, seed, range(replications), workers)
        write_json_atomic(out / "timelines" / f"{label}.json",
                          timeline_record(scenario, with_timelines, representative))
    manifest = {
        "kind": COMPARISON_KIND,
        "version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "seed": seed,
        "replications": replications,
        "representative_replication": representative,
        "representative_rule": REPRESENTATIVE_RULE,
        "scenarios": [
            {"label": label, "name": s.name, "source": s.source, "hash": scenario_hash(s),
             "result": f"results/{label}.json", "timeline": f"timelines/{label}.json"}
            for label, s in zip(labels, scenarios, strict=True)
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
    rep = timeline_replications(result.scenario, result.seed, [representative], workers=1)
    rule = "the replication whose lost checkouts are closest to the median over replications"
    write_json_atomic(out / "timeline.json", timeline_record(result.scenario, rep, representative, rule))
    return write_json_atomic(out / "manifest.json", {
        "kind": RUN_KIND, "version": __version__, "command": command,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "result": "result.json", "timeline": "timeline.json",
    })
