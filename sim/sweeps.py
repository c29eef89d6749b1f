"""Parameter sweeps: the points of a design × replications, on any executor, resumable.

A design sets dotted scenario keys (the keys of ``sim run --set``) to values: a grid (the
cartesian product of listed values and evenly spaced ranges), a space-filling sample (Latin
hypercube or Sobol, through :mod:`scipy.stats.qmc`), or a grid crossed with a sample. Every
(point, replication) is one task, and replication i of every point runs with the same seed and
streams (common random numbers), so differences between points are paired.

The whole design is checked before any work: every point's scenario is validated like a file.
With an output folder, each finished task is appended to ``results.jsonl`` (flushed and fsynced)
as it arrives, and running the same sweep again runs only what is missing. A folder belongs to
one sweep, named by a content hash of its points' resolved scenarios, the replications and the
seed, so a changed design or scenario never mixes with stored results.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import itertools
import json
import math
import os
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim import __version__
from sim.durations import parse_duration
from sim.executors import Executor, Task, make_executor
from sim.io import jsonable, write_json_atomic, write_text_atomic
from sim.metrics import METRICS, metric_bounds
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict, scenario_to_dict
from sim.spec import Scenario
from sim.stats import paired_difference, summarize
from sim.streams import name_key

FORMAT = 1  # of the folder's files; part of the content hash
SAMPLERS = ("lhs", "sobol")
MANIFEST, RESULTS_LOG = "manifest.json", "results.jsonl"
RESULTS_CSV, SUMMARY_CSV = "results.csv", "summary.csv"
RESULTS_PARQUET, SUMMARY_PARQUET = "results.parquet", "summary.parquet"
# keys a sweep must not vary: the sweep's own settings say them
_SWEEP_SETTINGS = {"scenario.seed": "--seed", "scenario.replications": "--replications"}

Key = tuple[int, int]  # (point, replication)


class DesignError(ScenarioError):
    """A sweep that cannot run (its design, sweep file or output folder): one line, like a scenario error."""


# ---------------------------------------------------------------------------------------------
# The design as stated: command-line options, a sweep file or Python arguments.


def parse_value(text: str) -> object:
    """A TOML value if ``text`` is one (``3``, ``2.5``, ``true``, ``[1, 2]``), else the text (``45m``)."""
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    return parsed["v"] if list(parsed) == ["v"] else text


def _split_top(text: str) -> list[str]:
    """Split at commas outside brackets, braces and quotes (values may be TOML arrays or tables)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _key_value(option: str, text: str, form: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not all(key.split(".")):
        raise DesignError(option, "", f"{text!r}: expected {form}")
    return key, value.strip()


@dataclass(frozen=True)
class SweepSpec:
    """A sweep as stated, before it is checked: what :func:`plan_sweep` turns into points.

    ``grid`` maps a dotted key to its values; ``ranges`` to (LO, HI, STEPS) and ``lhs`` to
    (LO, HI), where LO and HI are numbers or durations; ``origins`` says where each swept key
    was stated, for error messages.
    """

    scenario: Scenario | str | Path | None = None
    overrides: dict[str, object] = field(default_factory=dict)
    grid: dict[str, Sequence[object]] = field(default_factory=dict)
    ranges: dict[str, Sequence[object]] = field(default_factory=dict)
    lhs: dict[str, Sequence[object]] = field(default_factory=dict)
    samples: int | None = None
    sampler: str | None = None
    replications: int | None = None
    seed: int | None = None
    reference: object = None
    origins: dict[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [*self.grid, *self.ranges, *self.lhs]

    @classmethod
    def from_options(cls, grid: Iterable[str] = (), ranges: Iterable[str] = (), lhs: Iterable[str] = (),
                     **settings: Any) -> SweepSpec:
        """From ``--grid KEY=V1,V2``, ``--range KEY=LO:HI:STEPS`` and ``--lhs KEY=LO:HI`` texts."""
        spec = cls(**settings)
        parsed: list[tuple[str, str, dict, object]] = []
        for text in grid:
            key, values = _key_value("--grid", text, "KEY=V1,V2,... such as tiers.payment.replicas=1,2,3")
            items = _split_top(values)
            if not all(items):
                raise DesignError("--grid", key, f"{values!r}: expected V1,V2,... (an empty value list "
                                  "or an empty value between commas)")
            parsed.append(("--grid", key, spec.grid, [parse_value(v) for v in items]))
        for text in ranges:
            key, value = _key_value("--range", text, "KEY=LO:HI:STEPS such as tiers.payment.mttr=5m:60m:12")
            parsed.append(("--range", key, spec.ranges, _split_bounds("--range", key, value, 3)))
        for text in lhs:
            key, value = _key_value("--lhs", text, "KEY=LO:HI such as traffic.arrival_rate=1:5")
            parsed.append(("--lhs", key, spec.lhs, _split_bounds("--lhs", key, value, 2)))
        for origin, key, table, values in parsed:
            if key in spec.origins:
                raise DesignError(origin, key, f"swept twice (also by {spec.origins[key]})")
            table[key] = values
            spec.origins[key] = origin
        return spec

    def merged(self, other: SweepSpec) -> SweepSpec:
        """``other`` (e.g. the command line) over this (e.g. a sweep file): swept keys add up."""
        for key in other.keys:
            if key in self.origins:
                raise DesignError(other.origins.get(key, "sweep"), key,
                                  f"swept twice (also by {self.origins[key]})")
        settings = {name: getattr(other, name) if getattr(other, name) is not None else getattr(self, name)
                    for name in ("scenario", "samples", "sampler", "replications", "seed", "reference")}
        return SweepSpec(overrides={**self.overrides, **other.overrides}, grid={**self.grid, **other.grid},
                         ranges={**self.ranges, **other.ranges}, lhs={**self.lhs, **other.lhs},
                         origins={**self.origins, **other.origins}, **settings)


def _split_bounds(origin: str, key: str, text: str, n: int) -> list[str]:
    parts = [p.strip() for p in text.split(":")]
    if len(parts) != n or not all(parts):
        form = "LO:HI:STEPS such as 5m:60m:12" if n == 3 else "LO:HI such as 1:5 or 5m:60m"
        raise DesignError(origin, key, f"{text!r}: expected {form}")
    return parts


# ---------------------------------------------------------------------------------------------
# Sweep files (TOML), so a sweep can be versioned next to its scenario.

_FILE_SETTINGS = {"scenario": str, "replications": int, "seed": int, "samples": int, "sampler": str,
                  "reference": (int, str, dict)}
_FILE_SECTIONS = ("sweep", "set", "grid", "range", "lhs")


def _flatten(table: dict, prefix: str, is_leaf: Callable[[dict], bool]) -> dict[str, object]:
    """Dotted keys, whether the file quotes them ("tiers.web.mttr") or nests them (tiers.web.mttr)."""
    out: dict[str, object] = {}
    for k, v in table.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and not is_leaf(v):
            out.update(_flatten(v, key, is_leaf))
        else:
            out[key] = v
    return out


def _bounds_entry(source: str, where: str, value: object, n: int) -> list[object]:
    names = ("low", "high", "steps")[:n]
    if isinstance(value, str):
        return _split_bounds(source, where, value, n)  # type: ignore[return-value]  # list[str] is a list
    if isinstance(value, list) and len(value) == n:
        return value
    if isinstance(value, dict) and sorted(value) == sorted(names):
        return [value[k] for k in names]
    form = '"5m:60m:12" or { low = "5m", high = "60m", steps = 12 }' if n == 3 else \
        '"1:5" or { low = 1, high = 5 }'
    raise DesignError(source, where, f"expected {form}")


def read_sweep_file(path: str | Path) -> SweepSpec:
    """Read a sweep file::

        [sweep]
        scenario = "baseline.toml"   # relative to this file, or a built-in name
        replications = 10
        seed = 1
        samples = 16                 # points drawn for [lhs]; sampler = "lhs" (default) or "sobol"
        [set]                        # fixed overrides of the base scenario
        "scenario.horizon" = "6h"
        [grid]
        "tiers.payment.replicas" = [1, 2, 3]
        [range]
        "tiers.payment.mttr" = "5m:60m:12"
        [lhs]
        "traffic.arrival_rate" = "1:5"
    """
    path = Path(path)
    source = str(path)
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise DesignError(source, "", f"invalid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or err
        raise DesignError(source, "", f"cannot read the sweep file: {reason}") from None
    for section, value in raw.items():
        if section not in _FILE_SECTIONS:
            raise DesignError(source, section, f"unknown section; allowed: {', '.join(_FILE_SECTIONS)}")
        if not isinstance(value, dict):
            raise DesignError(source, section, f"must be a table [{section}]")
    settings: dict[str, Any] = {}
    for key, value in raw.get("sweep", {}).items():
        kind = _FILE_SETTINGS.get(key)
        if kind is None:
            raise DesignError(source, f"sweep.{key}", f"unknown key; allowed: {', '.join(_FILE_SETTINGS)}")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise DesignError(source, f"sweep.{key}", f"has the wrong type ({type(value).__name__})")
        settings[key] = value
    if "scenario" in settings:  # a file next to the sweep file, else a path from here or a built-in
        beside = path.parent / settings["scenario"]
        settings["scenario"] = str(beside) if beside.is_file() else settings["scenario"]
    grid = _flatten(raw.get("grid", {}), "", lambda v: False)
    for key, values in grid.items():
        if not isinstance(values, list):
            raise DesignError(source, f"grid.{key}", "must be an array of values such as [1, 2, 3]")
    ranges = {key: _bounds_entry(source, f"range.{key}", v, 3)
              for key, v in _flatten(raw.get("range", {}), "", lambda v: "low" in v).items()}
    lhs = {key: _bounds_entry(source, f"lhs.{key}", v, 2)
           for key, v in _flatten(raw.get("lhs", {}), "", lambda v: "low" in v).items()}
    overrides = _flatten(raw.get("set", {}), "", lambda v: "dist" in v)
    origins: dict[str, str] = {}
    for key in [*grid, *ranges, *lhs]:
        if key in origins:
            raise DesignError(source, key, "swept twice (in two of [grid], [range] and [lhs])")
        origins[key] = source
    return SweepSpec(overrides=overrides, grid=grid, ranges=ranges, lhs=lhs, origins=origins,  # type: ignore[arg-type]  # lists of values
                     **settings)


# ---------------------------------------------------------------------------------------------
# The plan: points, their validated scenarios, the content hash.


@dataclass(frozen=True)
class SweepPlan:
    """A checked sweep: every point's scenario is valid, the reference point exists."""

    base: Scenario  # the base scenario, with the sweep's replications and seed
    keys: tuple[str, ...]  # swept keys, in column order
    points: tuple[dict[str, object], ...]  # each point's values of the swept keys
    scenarios: tuple[Scenario, ...]  # each point's resolved scenario
    replications: int
    seed: int
    design: dict[str, Any]  # the design as stated, resolved to numbers (for the manifest)
    hash: str  # sha256 hex of the content
    reference: int | None = None

    @property
    def name(self) -> str:
        """``<scenario name>-<12 hex digits of the hash>``: the default folder name."""
        return f"{re.sub(r'[^A-Za-z0-9_-]+', '_', self.base.name)}-{self.hash[:12]}"

    @property
    def total(self) -> int:
        return len(self.points) * self.replications

    def tasks(self, skip: Mapping[Key, object] | frozenset = frozenset()) -> Iterator[Task]:
        """The tasks not in ``skip``, point by point (so points finish early, one after another)."""
        for p, scenario in enumerate(self.scenarios):
            for r in range(self.replications):
                if (p, r) not in skip:
                    yield Task((p, r), scenario, self.seed, r)

    def manifest(self) -> dict[str, Any]:
        """What ``manifest.json`` says: enough to reproduce every number in the folder."""
        return {
            "format": FORMAT, "hash": self.hash, "name": self.name, "version": __version__,
            "scenario": scenario_to_dict(self.base), "design": self.design,
            "replications": self.replications, "seed": self.seed, "reference": self.reference,
            "tasks": self.total, "points": [{"point": i, **p} for i, p in enumerate(self.points)],
        }


def _number(origin: str, key: str, value: object, what: str) -> float:
    """A bound: a number, or a duration such as "5m" (in seconds)."""
    v = parse_value(value) if isinstance(value, str) else value
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return v
    if isinstance(v, str):
        try:
            seconds = parse_duration(v)
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds):
            return seconds
    raise DesignError(origin, key, f"{what} {value!r}: expected a finite number or a duration such as 5m")


def _count(origin: str, key: str, value: object) -> int:
    v = parse_value(value) if isinstance(value, str) else value
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise DesignError(origin, key, f"STEPS {value!r}: expected an integer >= 2")


def _lookup(raw: object, key: str) -> object:
    for part in key.split("."):
        if isinstance(raw, dict) and part in raw:
            raw = raw[part]
        elif isinstance(raw, list) and part.isdigit() and int(part) < len(raw):
            raw = raw[int(part)]
        else:
            return None
    return raw


def _integer_key(base: dict, key: str) -> bool:
    """Whether the base scenario holds an integer at ``key`` (replicas, ...): its values get rounded."""
    value = _lookup(base, key)
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: object) -> str:
    """A value as a cell of the tables (and in messages)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | dict):
        return json.dumps(jsonable(value), separators=(",", ":"))
    return str(value)


def _range_values(origin: str, key: str, bounds: Sequence[object], integer: bool) -> list[object]:
    if len(bounds) != 3:
        raise DesignError(origin, key, "expected (LO, HI, STEPS)")
    lo, hi = _number(origin, key, bounds[0], "LO"), _number(origin, key, bounds[1], "HI")
    steps = _count(origin, key, bounds[2])
    if steps < 2:
        what = "an empty range" if steps < 1 else "a single value (use --grid KEY=VALUE)"
        raise DesignError(origin, key, f"STEPS = {steps} is {what}; STEPS must be an integer >= 2")
    if not lo < hi:
        raise DesignError(origin, key, f"empty range: LO ({lo:g}) must be below HI ({hi:g})")
    values: list[object] = [float(x) for x in np.linspace(lo, hi, steps)]
    if integer:
        values = [math.floor(x + 0.5) for x in values]  # type: ignore[operator]  # floats just above
        if len(set(values)) < len(values):
            raise DesignError(origin, key, f"integer key: {steps} steps from {lo:g} to {hi:g} repeat values "
                              f"after rounding ({', '.join(map(str, values))}); use fewer steps")
    return values


def _sample(spec: SweepSpec, base: dict, seed: int) -> tuple[list[dict[str, object]], dict[str, list]]:
    """The sampled part of the design: ``samples`` points of the ``lhs`` keys (none: one empty point)."""
    if not spec.lhs:
        if spec.samples is not None:
            raise DesignError("--samples", "", "needs --lhs KEY=LO:HI (the keys to sample)")
        return [{}], {}
    sampler = spec.sampler or "lhs"
    if sampler not in SAMPLERS:
        raise DesignError("--sampler", "", f"{sampler!r}: expected one of {', '.join(SAMPLERS)}")
    k = spec.samples
    if k is None or isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise DesignError("--samples", "", f"{k!r}: --lhs needs --samples K, an integer >= 1")
    if sampler == "sobol" and k & (k - 1):
        below, above = 2 ** math.floor(math.log2(k)), 2 ** math.ceil(math.log2(k))
        raise DesignError("--samples", "", f"{k}: a Sobol design needs a power of 2 (e.g. {below} or "
                          f"{above}) to keep its balance")
    keys, lows, highs, integer, stated = list(spec.lhs), [], [], [], {}
    for key, bounds in spec.lhs.items():
        origin = spec.origins.get(key, "lhs")
        if len(bounds) != 2:
            raise DesignError(origin, key, "expected (LO, HI)")
        lo, hi = _number(origin, key, bounds[0], "LO"), _number(origin, key, bounds[1], "HI")
        if not lo < hi:
            raise DesignError(origin, key, f"empty range: LO ({lo:g}) must be below HI ({hi:g})")
        is_int = _integer_key(base, key)
        if is_int and not (float(lo).is_integer() and float(hi).is_integer()):
            raise DesignError(origin, key, f"integer key: LO and HI must be integers, not {lo:g}:{hi:g}")
        # integers: sample [lo - 0.5, hi + 0.5) and round, so every integer is equally likely
        lows.append(lo - 0.5 if is_int else lo)
        highs.append(hi + 0.5 if is_int else hi)
        integer.append(is_int)
        stated[key] = [lo, hi]
    from scipy.stats import qmc  # only sampled designs need it

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=name_key("sweep-design")))
    engine_class = qmc.LatinHypercube if sampler == "lhs" else qmc.Sobol
    try:
        engine = engine_class(len(keys), rng=rng)
    except TypeError:  # scipy < 1.15 calls it seed
        engine = engine_class(len(keys), seed=rng)
    unit = engine.random_base2(int(math.log2(k))) if sampler == "sobol" else engine.random(k)
    scaled = qmc.scale(unit, lows, highs)
    samples = []
    for row in scaled:
        point: dict[str, object] = {}
        for j, key in enumerate(keys):
            x = float(row[j])
            point[key] = min(max(math.floor(x + 0.5), int(lows[j] + 0.5)), int(highs[j] - 0.5)) \
                if integer[j] else x
        samples.append(point)
    return samples, stated


def _set_dotted(raw: dict, key: str, value: object, origin: str) -> None:
    """Set dotted ``key`` in a TOML-shaped dict; the scenario validator then judges key and value."""
    parts = key.split(".")
    box: Any = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        slot: str | int = part
        if isinstance(box, list):
            if not part.isdigit() or int(part) >= len(box):
                where = ".".join(parts[:i])
                allowed = f"an index from 0 to {len(box) - 1}" if box else "none: the scenario has none"
                raise DesignError(origin, key, f"no such [[{where}]] entry; allowed: {allowed}")
            slot = int(part)
        elif isinstance(box, dict):
            if part not in box and not last:
                if i == 1 and parts[0] in ("tiers", "zones"):
                    what = parts[0][:-1]
                    raise DesignError(origin, key, f"no {what} {part!r} in the scenario (defined: "
                                      f"{', '.join(box) or 'none'})")
                box[part] = {}
        else:
            raise DesignError(origin, key, f"{'.'.join(parts[:i])} is a single value, not a table")
        if last:
            box[slot] = value
        else:
            box = box[slot]


def _point_scenario(base: dict, point: Mapping[str, object], index: int, spec: SweepSpec,
                    base_source: str) -> Scenario:
    raw = copy.deepcopy(base)
    for key, value in point.items():
        _set_dotted(raw, key, value, spec.origins.get(key, "sweep"))
    try:
        return scenario_from_dict(raw, source=base_source)
    except ScenarioError as err:
        swept = next((k for k in point if err.key == k or err.key.startswith(k + ".")), None)
        if swept is not None:  # the swept value itself: the message names it
            origin = spec.origins.get(swept, "sweep")
            raise DesignError(origin, err.key, err.message, err.value_text) from None
        where = ", ".join(f"{k}={_text(v)}" for k, v in point.items())
        raise DesignError(err.source, err.key, f"{err.message} (at sweep point {index}: {where})",
                          err.value_text) from None


def _same(a: object, b: object) -> bool:
    """Whether a point's value matches a value the user typed (300.0 matches "5m")."""
    if a == b:
        return True
    try:
        return math.isclose(parse_duration(a), parse_duration(b), rel_tol=1e-9)
    except ValueError:
        return False


def _resolve_reference(ref: object, keys: Sequence[str],
                       points: Sequence[Mapping[str, object]]) -> int | None:
    """A point id, or KEY=VALUE pairs (a mapping or "k=v,k=v") that match exactly one point."""
    if ref is None:
        return None
    if isinstance(ref, str) and ref.strip().isdigit():
        ref = int(ref.strip())
    if isinstance(ref, int) and not isinstance(ref, bool):
        if not 0 <= ref < len(points):
            raise DesignError("--reference", "", f"point {ref} does not exist: points are 0 to "
                              f"{len(points) - 1}")
        return ref
    if isinstance(ref, str):
        pairs = [_key_value("--reference", p, "POINT or KEY=VALUE,...") for p in _split_top(ref)]
        wanted = {k: parse_value(v) for k, v in pairs}
    elif isinstance(ref, Mapping):
        wanted = {str(k): v for k, v in ref.items()}
    else:
        raise DesignError("--reference", "", f"{ref!r}: expected a point id or KEY=VALUE,...")
    for key in wanted:
        if key not in keys:
            raise DesignError("--reference", key, f"not a swept key; swept: {', '.join(keys) or 'none'}")
    matches = [i for i, p in enumerate(points) if all(_same(p[k], v) for k, v in wanted.items())]
    if len(matches) != 1:
        raise DesignError("--reference", "", f"{ref!r} matches {len(matches)} points; give one point id "
                          "(the point column of results.csv) or KEY=VALUE pairs naming exactly one point")
    return matches[0]


def _base_scenario(spec: SweepSpec, overrides: Sequence[str] | Mapping[str, object],
                   redundancy: int | None) -> Scenario:
    if isinstance(overrides, Mapping):
        extra = dict(overrides)
    else:
        extra = {}
        for text in overrides:
            key, value = _key_value("--set", text, "KEY=VALUE such as tiers.payment.mttr=45m")
            extra[key] = parse_value(value)
    merged = {**spec.overrides, **extra}
    if not isinstance(spec.scenario, Scenario):
        return load_scenario(spec.scenario, merged, redundancy)
    raw = scenario_to_dict(spec.scenario)  # a Scenario object: overrides through its file form
    if redundancy is not None:
        for name in raw["path"]["tiers"]:
            raw["tiers"][name]["replicas"] = redundancy
    for key, value in merged.items():
        _set_dotted(raw, key, value, "--set")
    return scenario_from_dict(raw, source=spec.scenario.source)


def plan_sweep(spec: SweepSpec, overrides: Sequence[str] | Mapping[str, object] = (),
               redundancy: int | None = None) -> SweepPlan:
    """Check a sweep and resolve it into points and their scenarios; raises :class:`DesignError`
    (or :class:`ScenarioError` for the base scenario) before any work is done.

    ``overrides`` and ``redundancy`` change the base scenario, as for ``sim run``.
    """
    base = _base_scenario(spec, overrides, redundancy)
    replications = base.replications if spec.replications is None else spec.replications
    seed = base.seed if spec.seed is None else spec.seed
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 2:
        raise DesignError("--replications", "", f"{replications!r}: expected an integer >= 2")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DesignError("--seed", "", f"{seed!r}: expected an integer >= 0")
    base_dict = scenario_to_dict(base)
    base_dict["scenario"].update(replications=replications, seed=seed)  # the sweep's settings, not the file's
    base = scenario_from_dict(base_dict, source=base.source)
    for key in spec.keys:
        if key in _SWEEP_SETTINGS:
            raise DesignError(spec.origins.get(key, "sweep"), key,
                              f"not a sweep key: set it with {_SWEEP_SETTINGS[key]}")
    factors: list[tuple[str, list[object]]] = []
    design: dict[str, Any] = {}
    for key, values in spec.grid.items():
        origin, values = spec.origins.get(key, "grid"), list(values)
        if not values:
            raise DesignError(origin, key, "an empty list of values")
        for i, v in enumerate(values):
            if any(v == w and type(v) is type(w) for w in values[:i]):
                raise DesignError(origin, key, f"repeats the value {_text(v)}")
        factors.append((key, values))
        design.setdefault("grid", {})[key] = values
    for key, bounds in spec.ranges.items():
        values = _range_values(spec.origins.get(key, "ranges"), key, bounds, _integer_key(base_dict, key))
        factors.append((key, values))
        design.setdefault("range", {})[key] = values
    samples, stated = _sample(spec, base_dict, seed)
    if stated:
        design.update(lhs=stated, samples=spec.samples, sampler=spec.sampler or "lhs")
    keys = tuple(spec.keys)
    points = [{**dict(zip([k for k, _ in factors], combo, strict=True)), **sample}
              for combo in itertools.product(*(v for _, v in factors)) for sample in samples]
    points = [{k: p[k] for k in keys} for p in points]  # columns in the order stated
    scenarios = [_point_scenario(base_dict, p, i, spec, base.source) for i, p in enumerate(points)]
    reference = _resolve_reference(spec.reference, keys, points)
    digest = hashlib.sha256()
    head = {"format": FORMAT, "keys": keys, "replications": replications, "seed": seed}
    digest.update(json.dumps(head, sort_keys=True).encode())
    for s in scenarios:  # the resolved scenarios: "20m" and 1200 are the same point
        canonical = json.dumps(jsonable(scenario_to_dict(s)), sort_keys=True, separators=(",", ":"))
        digest.update(canonical.encode())
    return SweepPlan(base, keys, tuple(points), tuple(scenarios), replications, seed, design,
                     digest.hexdigest(), reference)


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
        for line in data[:complete].splitlines():
            try:
                record = json.loads(line)
                key = (int(record["point"]), int(record["replication"]))
                metrics = {k: math.nan if v is None else float(v) for k, v in record["metrics"].items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a damaged line: its task simply runs again
            if record.get("sweep") != tag:
                raise DesignError(str(self.folder / RESULTS_LOG), "", f"holds results of another sweep "
                                  f"({record.get('sweep')}, not {tag}); use another folder")
            if key[0] < len(self.plan.points) and key[1] < self.plan.replications:
                stored.setdefault(key, metrics)
        return stored

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
    """Every metric seen, in the order of :data:`sim.metrics.METRICS`, then the others sorted."""
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
            s = summarize(series(p, m), bounds=metric_bounds(m))
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
        writer.writerow([_text(row.get(c)) for c in columns])
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
            arrays[c] = pa.array([_text(v) for v in values], type=pa.string())
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


# ---------------------------------------------------------------------------------------------
# Running.


@dataclass(frozen=True)
class SweepProgress:
    """Where a running sweep is; ``resumed`` tasks were stored before this run started."""

    done: int
    total: int
    points_done: int
    points: int
    resumed: int
    elapsed_s: float

    @property
    def eta_s(self) -> float | None:
        ran = self.done - self.resumed
        return None if ran <= 0 else self.elapsed_s / ran * (self.total - self.done)


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its plan, every task's metrics, and where they were written."""

    plan: SweepPlan
    stored: dict[Key, dict[str, float]]
    resumed: int
    wall_s: float
    files: tuple[Path, ...] = ()
    executor: str = ""

    def table(self) -> tuple[list[str], list[dict]]:
        return tidy_rows(self.plan, self.stored)

    def summary(self) -> tuple[list[str], list[dict]]:
        return summary_rows(self.plan, self.stored, self.plan.reference)


def run_sweep(plan: SweepPlan, executor: Executor | str | None = None, workers: int | None = None,
              out: str | Path | None = None, progress: Callable[[SweepProgress], None] | None = None,
              log: Callable[[str], None] | None = None, parquet: bool | None = None) -> SweepResult:
    """Run the tasks not yet stored in ``out`` and write the tables there (without ``out``: in memory).

    ``executor``: an :class:`~sim.executors.Executor` (left open), or a name for
    :func:`~sim.executors.make_executor` (started only if there is work, closed at the end).
    """
    if isinstance(executor, Executor) and workers is not None:
        raise ValueError("workers= applies to an executor given by name; this one has its own workers")
    wall0 = time.perf_counter()
    store = ResultStore(out, plan) if out is not None else None
    stored: dict[Key, dict[str, float]] = store.stored if store is not None else {}
    resumed = len(stored)
    per_point = [0] * len(plan.points)
    for p, _ in stored:
        per_point[p] += 1
    points_done = sum(n == plan.replications for n in per_point)

    def report() -> None:
        if progress is not None:
            progress(SweepProgress(len(stored), plan.total, points_done, len(plan.points), resumed,
                                   time.perf_counter() - wall0))

    described = ""
    try:
        if resumed and log:
            log(f"resuming: {resumed} of {plan.total} tasks already stored in {out}")
        if resumed < plan.total:
            owned = not isinstance(executor, Executor)
            runner = make_executor(executor, workers) if owned else executor  # type: ignore[arg-type]
            try:
                described = runner.describe()
                if log:
                    log(f"running {plan.total - resumed} tasks on {described}")
                    link = getattr(runner, "dashboard_link", None)
                    if link:
                        log(f"Dask dashboard: {link}")
                report()
                for key, result in runner.run(plan.tasks(skip=stored)):
                    if store is not None:
                        fresh = store.append(key, result.metrics, {"customers": result.customers,
                                                                   "cpu_s": result.cpu_s})
                    else:  # dedupe here too: a task may be reported twice if its worker died
                        fresh = key not in stored
                        stored.setdefault(key, dict(result.metrics))
                    if fresh:
                        per_point[key[0]] += 1
                        points_done += per_point[key[0]] == plan.replications
                        report()
            finally:
                if owned:
                    runner.close()
        files: tuple[Path, ...] = ()
        if store is not None:
            files = (*write_tables(store.folder, plan, stored, parquet), store.folder / MANIFEST)
    finally:
        if store is not None:
            store.close()
    return SweepResult(plan, dict(stored), resumed, time.perf_counter() - wall0, files, described)


def sweep(scenario: Scenario | str | Path | None = None, grid: Mapping[str, Sequence[object]] | None = None,
          ranges: Mapping[str, Sequence[object]] | None = None,
          lhs: Mapping[str, Sequence[object]] | None = None, samples: int | None = None,
          replications: int | None = None, seed: int | None = None,
          executor: Executor | str | None = None, out: str | Path | None = None, reference: object = None,
          *, sampler: str = "lhs", workers: int | None = None,
          overrides: Sequence[str] | Mapping[str, object] = (), parquet: bool | None = None) -> Any:
    """Sweep ``scenario`` (a Scenario, a file, a built-in name; None: baseline) over a design.

    ``grid={"tiers.payment.replicas": [1, 2, 3]}``, ``ranges={"tiers.payment.mttr": ("5m", "60m", 12)}``
    (LO, HI, STEPS: evenly spaced, ends included) and ``lhs={"traffic.arrival_rate": (1, 5)}``
    with ``samples=K`` (``sampler="lhs"`` or ``"sobol"``) combine into points (the cartesian
    product, crossed with the K samples). ``executor``: None or "processes" (all cores, or
    ``workers``), "serial", "dask" (a new LocalCluster), a Dask scheduler address or an
    :class:`~sim.executors.Executor`. With ``out``, results are stored there and a re-run resumes.
    ``reference`` (a point id or {key: value}) adds paired differences to ``summary.csv``.

    Returns the tidy table, one row per (point, replication): a pandas DataFrame if pandas is
    installed, else a list of dicts.
    """
    spec = SweepSpec(scenario=scenario, grid=dict(grid or {}), ranges=dict(ranges or {}),
                     lhs=dict(lhs or {}), samples=samples, sampler=sampler, replications=replications,
                     seed=seed, reference=reference,
                     origins={**{k: "grid" for k in grid or {}}, **{k: "ranges" for k in ranges or {}},
                              **{k: "lhs" for k in lhs or {}}})
    duplicated = [k for k in spec.keys if spec.keys.count(k) > 1]
    if duplicated:
        raise DesignError("sweep", duplicated[0], "swept twice (in two of grid, ranges and lhs)")
    plan = plan_sweep(spec, overrides)
    result = run_sweep(plan, executor, workers, out, parquet=parquet)
    columns, rows = result.table()
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows, columns=columns)
