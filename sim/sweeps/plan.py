"""A sweep's plan: its points, each point's validated scenario, and the content hash.

The whole design is checked before any work: every point's scenario is validated like a file.
The hash covers the points' resolved scenarios, the replications and the seed, so a changed
design or scenario never mixes with stored results.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim import __version__
from sim.experiment.executors import Task
from sim.experiment.methods import CRUDE, resolve_method
from sim.random.streams import name_key
from sim.scenario import ScenarioError, load_scenario, parse_toml_value, scenario_from_dict, scenario_to_dict
from sim.scenario.durations import parse_duration
from sim.scenario.io import jsonable
from sim.scenario.overrides import FlagOverride
from sim.scenario.spec import Scenario
from sim.sweeps.design import SAMPLERS, SWEEP_SETTINGS, DesignError, SweepSpec, split_key_value, split_list

FORMAT = 1  # of the folder's files; part of the content hash

Key = tuple[int, int]  # (point, replication)


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
    #: each point's estimator (:mod:`sim.experiment.methods`, resolved: never "auto")
    methods: tuple[str, ...] = ()
    method: str = CRUDE  # as asked ("auto" included); part of the content hash unless crude
    #: a precision-driven sweep's target (``precision``, ``targets``, ``max_looks``; part of the content
    #: hash): ``replications`` is then the first look; None for a fixed-size sweep
    precision: dict[str, Any] | None = None

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
                    yield Task((p, r), scenario, self.seed, r, method=self.point_method(p))

    def point_method(self, point: int) -> str:
        """The estimator of ``point``'s replications."""
        return self.methods[point] if self.methods else CRUDE

    def manifest(self) -> dict[str, Any]:
        """What ``manifest.json`` says: enough to reproduce every number in the folder."""
        return {
            "format": FORMAT, "hash": self.hash, "name": self.name, "version": __version__,
            "scenario": scenario_to_dict(self.base), "design": self.design,
            "replications": self.replications, "seed": self.seed, "reference": self.reference,
            "method": self.method, "methods": [self.point_method(p) for p in range(len(self.points))],
            **({"precision_target": self.precision} if self.precision else {}),
            "tasks": self.total, "points": [{"point": i, **p} for i, p in enumerate(self.points)],
        }


def _number(origin: str, key: str, value: object, what: str) -> float:
    """A bound: a number, or a duration such as "5m" (in seconds)."""
    v = parse_toml_value(value) if isinstance(value, str) else value
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
    v = parse_toml_value(value) if isinstance(value, str) else value
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


def display_value(value: object) -> str:
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
        where = ", ".join(f"{k}={display_value(v)}" for k, v in point.items())
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
        pairs = [split_key_value("--reference", p, "POINT or KEY=VALUE,...") for p in split_list(ref)]
        wanted = {k: parse_toml_value(v) for k, v in pairs}
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
            key, value = split_key_value("--set", text, "KEY=VALUE such as tiers.payment.mttr=45m")
            source = getattr(text, "source", None)  # a shortcut option (--horizon): errors name it
            extra[FlagOverride(key, source) if source else key] = parse_toml_value(value)
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
               redundancy: int | None = None, method: str = CRUDE,
               precision: Mapping[str, Any] | None = None) -> SweepPlan:
    """Check a sweep and resolve it into points and their scenarios; raises :class:`DesignError`
    (or :class:`ScenarioError` for the base scenario) before any work is done.

    ``overrides`` and ``redundancy`` change the base scenario, as for ``sim run``. ``method`` is the
    estimator of every replication (resolved per point for "auto"; an unavailable one raises
    :class:`~sim.experiment.methods.MethodError`); the content hash includes it unless it is crude
    (so crude folders keep their names and crude and windows results never share a folder).
    ``precision`` (``precision``, ``targets``, ``max_looks``) makes the sweep precision-driven
    (:func:`sim.sweeps.runner.run_sweep`), its ``replications`` the first look; it is part of the hash.
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
        if key in SWEEP_SETTINGS:
            raise DesignError(spec.origins.get(key, "sweep"), key,
                              f"not a sweep key: set it with {SWEEP_SETTINGS[key]}")
    factors: list[tuple[str, list[object]]] = []
    design: dict[str, Any] = {}
    for key, values in spec.grid.items():
        origin, values = spec.origins.get(key, "grid"), list(values)
        if not values:
            raise DesignError(origin, key, "an empty list of values")
        for i, v in enumerate(values):
            if any(v == w and type(v) is type(w) for w in values[:i]):
                raise DesignError(origin, key, f"repeats the value {display_value(v)}")
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
    methods = tuple(resolve_method(method, s) for s in scenarios)
    head: dict[str, object] = {"format": FORMAT, "keys": keys, "replications": replications, "seed": seed}
    if method != CRUDE:
        head.update(method=method, methods=methods)
    target = None if not precision else {"precision": float(precision["precision"]),
                                         "targets": list(precision["targets"]),
                                         "max_looks": int(precision["max_looks"])}
    if target:
        head.update(precision=target)
    digest.update(json.dumps(head, sort_keys=True).encode())
    for s in scenarios:  # the resolved scenarios: "20m" and 1200 are the same point
        canonical = json.dumps(jsonable(scenario_to_dict(s)), sort_keys=True, separators=(",", ":"))
        digest.update(canonical.encode())
    return SweepPlan(base, keys, tuple(points), tuple(scenarios), replications, seed, design,
                     digest.hexdigest(), reference, methods, method, target)
