"""Overrides (``sim run --set KEY=VALUE``, ``--redundancy``): dotted keys set in the raw dict before
validation, so they are checked exactly like the file."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

from sim.scenario.errors import REDUNDANCY_SOURCE, SET_SOURCE, ScenarioError, show_value
from sim.scenario.schema import (
    SCHEMA,
    ArrayOf,
    Key,
    NamedTables,
    Table,
    unknown_key_message,
)

# ---------------------------------------------------------------------------------------------
# Overrides: dotted keys set in the raw dict, checked against the schema.


def parse_toml_value(text: str) -> object:
    """A TOML value if ``text`` is one (``3``, ``inf``, ``true``, ``[...]``, ``{...}``), else the string."""
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    return parsed["v"] if list(parsed) == ["v"] else text


def _set(raw: dict, key: str, value: object) -> list[str]:
    """Set dotted ``key`` in ``raw``; it must be a key the schema knows, of a defined tier or zone.

    Returns the tables this created on the way (errors in them are the override's).
    """
    created = []
    node: Table | NamedTables | ArrayOf = SCHEMA
    box: Any = raw
    parts = key.split(".")
    for i, part in enumerate(parts):
        here, where = ".".join(parts[: i + 1]), ".".join(parts[:i])
        slot: str | int = part
        if isinstance(node, Table):
            if part not in node.keys:
                label = f"[{where}]" if where else ""
                raise ScenarioError(SET_SOURCE, here, unknown_key_message(list(node.keys), part, label))
            child = node.keys[part]
        elif isinstance(node, NamedTables):
            if part not in box:
                defined = ", ".join(box) or "none"
                raise ScenarioError(SET_SOURCE, here, f"no {node.what} {part!r} in the scenario (defined: "
                                    f"{defined}); new {node.what}s can only be added in a file")
            child = node.item
        else:  # an ArrayOf (a Key is never descended into, see below)
            if not part.isdigit() or int(part) > len(box):
                raise ScenarioError(SET_SOURCE, here, f"expected an index from 0 to {len(box)} (to add one) "
                                    f"into [[{where}]], e.g. {where}.0.start")
            slot = int(part)
            if slot == len(box):
                box.append({})
                created.append(here)
            child = node.item
        if i == len(parts) - 1:
            box[slot] = value
            break
        if isinstance(child, Key):
            raise ScenarioError(SET_SOURCE, key, f"{here} is a single value, not a table")
        if isinstance(box, dict) and slot not in box:
            box[slot] = [] if isinstance(child, ArrayOf) else {}
            created.append(here)
        expected = list if isinstance(child, ArrayOf) else dict
        if not isinstance(box[slot], expected):
            raise ScenarioError(SET_SOURCE, here, f"is {show_value(box[slot])} in the scenario, not a table")
        node, box = child, box[slot]
    return created


def apply_overrides(raw: dict, overrides: Sequence[str] | Mapping[str, object],
                     redundancy: int | None) -> dict[str, str]:
    """Apply ``redundancy``, then ``overrides``, to ``raw`` in place; return {changed key: source}."""
    changed: dict[str, str] = {}
    path, tiers = raw.get("path"), raw.get("tiers")
    if redundancy is not None and isinstance(path, dict) and isinstance(tiers, dict):
        for name in path.get("tiers") or []:
            if isinstance(name, str) and isinstance(tiers.get(name), dict):
                tiers[name]["replicas"] = redundancy
                changed[f"tiers.{name}.replicas"] = REDUNDANCY_SOURCE
    if isinstance(overrides, Mapping):
        items = [(str(k), v) for k, v in overrides.items()]
    else:
        items = []
        for text in [overrides] if isinstance(overrides, str) else overrides:  # one string is one override
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise ScenarioError(SET_SOURCE, "", f"{text!r}: expected KEY=VALUE such as tiers.x.mttr=45m")
            items.append((key.strip(), parse_toml_value(value.strip())))
    for key, value in items:
        if not all(key.split(".")):
            raise ScenarioError(SET_SOURCE, key, "not a dotted key such as tiers.web.replicas")
        for made in _set(raw, key, value):
            changed.setdefault(made, SET_SOURCE)
        changed[key] = SET_SOURCE
    return changed


