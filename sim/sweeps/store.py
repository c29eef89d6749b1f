"""A sweep's output folder: a manifest, an append-only log of finished tasks, tidy tables.

Each finished task is appended to ``results.jsonl`` as it arrives (one write per line, fsynced in
the background), so an interrupted sweep loses at most the tasks in flight; the CSV (and Parquet)
tables are written atomically from what is stored.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from sim.scenario.errors import shorten
from sim.scenario.io import jsonable, write_json_atomic, write_text_atomic
from sim.stats.intervals import paired_difference
from sim.stats.metrics import METRICS, TRIGGER_METRICS, metric_bounds
from sim.stats.summaries import summarize_metric
from sim.sweeps.design import DesignError
from sim.sweeps.plan import Key, SweepPlan, display_value

MANIFEST, RESULTS_LOG = "manifest.json", "results.jsonl"
RESULTS_CSV, SUMMARY_CSV = "results.csv", "summary.csv"
RESULTS_PARQUET, SUMMARY_PARQUET = "results.parquet", "summary.parquet"
#: metrics a replication reports besides METRICS: per tier, and when a tier charges
PER_TIER_PREFIXES = ("availability_", "calls_per_checkout_")
CHARGE_METRICS = ("duplicate_charges", "duplicate_charge_value")


# ---------------------------------------------------------------------------------------------
# The output folder: a manifest, an append-only log, tables written atomically.


class ResultStore:
    """The folder of one sweep. Opening it checks that it holds this sweep (or nothing), locks it,
    writes the manifest and reads the stored results (a torn last line is cut off).

    Each result is one ``write`` of one line in append mode, so it survives the process being
    killed the moment the call returns; a background thread fsyncs after every write (several
    lines at once when they come quickly), so it survives a crash of the machine too, without
    a ~5 ms fsync holding up every task.
    """

    def __init__(self, folder: str | Path, plan: SweepPlan) -> None:
        self.folder, self.plan = Path(folder), plan
        check_folder(self.folder, plan)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.folder / RESULTS_LOG, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.skipped: list[str] = []  # lines of results.jsonl that were not taken, and why
        try:
            self._lock()
            write_json_atomic(self.folder / MANIFEST, plan.manifest())
            self.stored = self._read()
        except BaseException:
            os.close(self._fd)
            raise
        self._written = threading.Event()
        self._closing = False
        self._error: OSError | None = None
        self._flusher = threading.Thread(target=self._flush, name="sweep-fsync", daemon=True)
        self._flusher.start()

    def _flush(self) -> None:
        while True:
            self._written.wait()
            self._written.clear()
            try:
                os.fsync(self._fd)  # covers every line written before this call
            except OSError as err:
                self._error = err
            if self._closing:
                return

    def _lock(self) -> None:
        try:
            import fcntl  # POSIX only: elsewhere two writers are not detected
        except ImportError:  # pragma: no cover
            return
        try:  # a POSIX record lock belongs to this process: forked pool workers do not inherit it
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DesignError(str(self.folder), "", "another sweep is writing to this folder") from None

    def _read(self) -> dict[Key, dict[str, float]]:
        # read through the locked descriptor: closing any other one of this file would drop the lock
        os.lseek(self._fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(self._fd, 1 << 20):
            chunks.append(chunk)
        data = b"".join(chunks)
        complete = data.rfind(b"\n") + 1
        if complete < len(data):  # killed mid-write: drop the torn line before appending after it
            os.ftruncate(self._fd, complete)
        stored: dict[Key, dict[str, float]] = {}
        tag = self.plan.hash[:12]
        for number, line in enumerate(data[:complete].splitlines(), 1):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict) and "sweep" in record and record["sweep"] != tag:
                raise DesignError(str(self.folder / RESULTS_LOG), "", f"holds results of another sweep "
                                  f"({shorten(str(record['sweep']))}, not {tag}); use another folder")
            problem = self._check_record(record)
            if isinstance(problem, str):  # a damaged or edited line: skipped, its task runs again
                self.skipped.append(f"{RESULTS_LOG} line {number}: {problem}; skipped (the task runs again)")
                continue
            stored.setdefault(*problem)
        return stored

    def _check_record(self, record: object) -> str | tuple[Key, dict[str, float]]:
        """The line's (key, metrics), or what is wrong with it: every stored line is checked, so a
        line out of this sweep's range, or with a metric no replication reports, never reaches a table."""
        if not isinstance(record, dict):
            return "not a JSON object (a damaged line)"
        point, replication, metrics = record.get("point"), record.get("replication"), record.get("metrics")
        for name, value, count in (("point", point, len(self.plan.points)),
                                   ("replication", replication, self.plan.replications)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < count:
                return f"{name} {shorten(repr(value))} is not an integer from 0 to {count - 1}"
        if not isinstance(metrics, dict) or not metrics:
            return "no metrics"
        out: dict[str, float] = {}
        tiers = {t.name for s in self.plan.scenarios for t in s.tiers}
        for name, value in metrics.items():
            known = name in METRICS or name in TRIGGER_METRICS or name in CHARGE_METRICS or \
                any(name.startswith(prefix) and name[len(prefix):] in tiers for prefix in PER_TIER_PREFIXES)
            if not known:
                return f"unknown metric {shorten(repr(name))}"
            if value is None or value in ("inf", "-inf"):
                out[name] = math.nan if value is None else float(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                out[name] = float(value)
            else:
                return f"metric {name} is {shorten(repr(value))}, not a number"
            low, high = metric_bounds(name)
            if not (low <= out[name] <= high or math.isnan(out[name])):
                return f"metric {name} = {out[name]:g} is outside [{low:g}, {high:g}]"
        return (point, replication), out

    def append(self, key: Key, metrics: Mapping[str, float], extra: Mapping[str, object]) -> bool:
        """Store one task's result durably (one line, fsynced); False if it was stored already."""
        if key in self.stored:
            return False
        record = {"sweep": self.plan.hash[:12], "point": key[0], "replication": key[1],
                  "metrics": dict(metrics), **extra}
        if self._error is not None:
            raise self._error
        line = json.dumps(jsonable(record), separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode())  # one write in append mode: the line lands whole or torn at the end
        self._written.set()
        self.stored[key] = dict(metrics)
        return True

    def close(self) -> None:
        """Wait for the last fsync, then release the folder."""
        if self._fd < 0:
            return
        self._closing = True
        self._written.set()
        self._flusher.join()
        os.close(self._fd)  # also releases the lock
        self._fd = -1
        if self._error is not None:
            raise self._error


def check_folder(folder: str | Path, plan: SweepPlan) -> None:
    """Refuse a folder that holds something other than this sweep (nothing is written)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DesignError(str(folder), "", "exists and is not a folder")
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise DesignError(str(folder), "", f"exists and is not a sweep folder (no {MANIFEST}); choose a new "
                          "or empty folder")
    try:
        with manifest.open(encoding="utf-8") as f:
            stored = json.load(f)
        other = stored["hash"]
    except (OSError, ValueError, KeyError, TypeError):
        raise DesignError(str(manifest), "", "unreadable sweep manifest; choose another folder") from None
    if other != plan.hash:
        what = f"{stored.get('name', other[:12])}: {len(stored.get('points', []))} points × " \
               f"{stored.get('replications')} replications, seed {stored.get('seed')}"
        raise DesignError(str(folder), "", f"holds a different sweep ({what}); the design, scenario, "
                          "replications or seed changed: use another --out, or delete the folder to "
                          "start over")


def metric_names(records: Iterable[Mapping[str, float]]) -> list[str]:
    """Every metric seen, in the order of :data:`sim.stats.metrics.METRICS`, then the others sorted."""
    seen: set[str] = set()
    for r in records:
        seen.update(r)
    return [m for m in METRICS if m in seen] + sorted(seen - set(METRICS))


def tidy_rows(plan: SweepPlan, stored: Mapping[Key, Mapping[str, float]]) -> tuple[list[str], list[dict]]:
    """Columns and rows of the tidy table: one row per (point, replication), in that order."""
    metrics = metric_names(stored.values())
    columns = ["point", "replication", *plan.keys, *metrics]
    rows = []
    for (p, r) in sorted(stored):
        values = stored[(p, r)]
        rows.append({"point": p, "replication": r, **plan.points[p],
                     **{m: values.get(m, math.nan) for m in metrics}})
    return columns, rows


def summary_rows(plan: SweepPlan, stored: Mapping[Key, Mapping[str, float]],
                 reference: int | None = None) -> tuple[list[str], list[dict]]:
    """One row per point: mean and 95% CI per metric, and with ``reference`` the paired difference
    (point − reference, replication by replication: common random numbers) with its CI."""
    metrics = metric_names(stored.values())
    columns = ["point", *plan.keys, "replications"]
    for m in metrics:
        columns += [f"{m}_mean", f"{m}_ci_low", f"{m}_ci_high"]
        if reference is not None:
            columns += [f"{m}_diff_mean", f"{m}_diff_ci_low", f"{m}_diff_ci_high"]

    def series(p: int, m: str) -> list[float]:
        return [stored[(p, r)].get(m, math.nan) for r in range(plan.replications) if (p, r) in stored]

    rows = []
    for p, values in enumerate(plan.points):
        row: dict[str, object] = {"point": p, **values,
                                  "replications": sum((p, r) in stored for r in range(plan.replications))}
        for m in metrics:
            # each metric by its estimator, as `sim run` summarises it (pooled ratios, one-sided bounds)
            s = summarize_metric(m, [stored[(p, r)] for r in range(plan.replications) if (p, r) in stored])
            row.update({f"{m}_mean": s.mean, f"{m}_ci_low": s.ci_low, f"{m}_ci_high": s.ci_high})
            if reference is not None:
                both = [r for r in range(plan.replications) if (p, r) in stored and (reference, r) in stored]
                d = paired_difference([stored[(p, r)].get(m, math.nan) for r in both],
                                      [stored[(reference, r)].get(m, math.nan) for r in both])
                row.update({f"{m}_diff_mean": d.mean, f"{m}_diff_ci_low": d.ci_low,
                            f"{m}_diff_ci_high": d.ci_high})
        rows.append(row)
    return columns, rows


def _csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([display_value(row.get(c)) for c in columns])
    return buffer.getvalue()


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401 - optional dependency
    except ImportError:
        return False
    return True


def _write_parquet(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, object]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for c in columns:
        values = [row.get(c) for row in rows]
        numbers = [v for v in values if v is not None]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in numbers):
            arrays[c] = pa.array(values, type=pa.int64())
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
            arrays[c] = pa.array([math.nan if v is None else float(v) for v in values], type=pa.float64())
        else:  # mixed or structured values of a swept key: as in the CSV
            arrays[c] = pa.array([display_value(v) for v in values], type=pa.string())
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.table(arrays), tmp)
    os.replace(tmp, path)


def write_tables(folder: str | Path, plan: SweepPlan, stored: Mapping[Key, Mapping[str, float]],
                 parquet: bool | None = None) -> list[Path]:
    """Write results.csv and summary.csv (and Parquet copies) atomically; return the files written."""
    folder = Path(folder)
    columns, rows = tidy_rows(plan, stored)
    s_columns, s_rows = summary_rows(plan, stored, plan.reference)
    written = [write_text_atomic(folder / RESULTS_CSV, _csv(columns, rows)),
               write_text_atomic(folder / SUMMARY_CSV, _csv(s_columns, s_rows))]
    if parquet is None:
        parquet = parquet_available()
    if parquet:
        _write_parquet(folder / RESULTS_PARQUET, columns, rows)
        _write_parquet(folder / SUMMARY_PARQUET, s_columns, s_rows)
        written += [folder / RESULTS_PARQUET, folder / SUMMARY_PARQUET]
    return written
