"""A sweep's design as stated: command-line options, a sweep file (TOML) or Python arguments.

A design sets dotted scenario keys (the keys of ``sim run --set``) to values: a grid (listed
values and evenly spaced ranges, crossed), a space-filling sample (Latin hypercube or Sobol), or
a grid crossed with a sample. Sweep files let a sweep be versioned next to its scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.scenario import ScenarioError, parse_toml_value, read_toml
from sim.scenario.errors import quoted
from sim.scenario.spec import Scenario

SAMPLERS = ("lhs", "sobol")
# keys a sweep must not vary: the sweep's own settings say them
SWEEP_SETTINGS = {"scenario.seed": "--seed", "scenario.replications": "--replications"}


class DesignError(ScenarioError):
    """A sweep that cannot run (its design, sweep file or output folder): one line, like a scenario error."""


# ---------------------------------------------------------------------------------------------
# The design as stated: command-line options, a sweep file or Python arguments.


def split_list(text: str) -> list[str]:
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


def split_key_value(option: str, text: str, form: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not all(key.split(".")):
        raise DesignError(option, "", f"{quoted(text)}: expected {form}")
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
            key, values = split_key_value("--grid", text,
                                          "KEY=V1,V2,... such as tiers.payment.replicas=1,2,3")
            items = split_list(values)
            if not all(items):
                raise DesignError("--grid", key, f"{quoted(values)}: expected V1,V2,... (an empty value list "
                                  "or an empty value between commas)")
            parsed.append(("--grid", key, spec.grid, [parse_toml_value(v) for v in items]))
        for text in ranges:
            key, value = split_key_value("--range", text,
                                         "KEY=LO:HI:STEPS such as tiers.payment.mttr=5m:60m:12")
            parsed.append(("--range", key, spec.ranges, _split_bounds("--range", key, value, 3)))
        for text in lhs:
            key, value = split_key_value("--lhs", text, "KEY=LO:HI such as traffic.arrival_rate=1:5")
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
        raise DesignError(origin, key, f"{quoted(text)}: expected {form}")
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
    raw = read_toml(path, source, DesignError, "the sweep file")
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
