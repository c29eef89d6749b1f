"""Overrides (``sim run --set KEY=VALUE``, ``--redundancy``): dotted keys set in the raw dict before
validation, so they are checked exactly like the file."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

from sim.scenario.errors import REDUNDANCY_SOURCE, SET_SOURCE, ScenarioError, quoted, show_value
from sim.scenario.schema import (
    SCHEMA,
    ArrayOf,
    Invalid,
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
    except (tomllib.TOMLDecodeError, RecursionError):  # not a value (or nested too deeply to be one)
        return text
    return parsed["v"] if list(parsed) == ["v"] else text


class FlagOverride(str):
    """A ``KEY=VALUE`` override given by a shortcut option (``--horizon 6h``): errors blame the option."""

    source: str

    def __new__(cls, text: str, source: str) -> FlagOverride:
        override = super().__new__(cls, text)
        override.source = source
        return override


def _check_masked(parser: Key, value: object, key: str, file_source: str | None) -> None:
    """An override must not hide an invalid value of the file: it is still the file's error."""
    if file_source is None:
        return
    try:
        parser.parser(value)
    except Invalid as err:
        where = f"{key}.{err.subkey}" if err.subkey else key
        raise ScenarioError(file_source, where, err.message,
                            show_value(err.value if err.subkey else value)) from None


def _set(raw: dict, key: str, value: object, file_source: str | None = None,
         source: str = SET_SOURCE) -> list[str]:
    """Set dotted ``key`` in ``raw``; it must be a key the schema knows, of a defined tier or zone.

    Returns the tables this created on the way (errors in them are the override's; ``source``
    names it). With ``file_source``, the value this replaces must itself be valid (an error
    then names ``file_source``).
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
                raise ScenarioError(source, here, unknown_key_message(list(node.keys), part, label))
            child = node.keys[part]
        elif isinstance(node, NamedTables):
            if part not in box:
                defined = ", ".join(box) or "none"
                raise ScenarioError(source, here, f"no {node.what} {quoted(part)} in the scenario "
                                    f"(defined: {defined}); new {node.what}s can only be added in a file")
            child = node.item
        else:  # an ArrayOf (a Key is never descended into, see below)
            if not part.isdigit() or int(part) > len(box):
                raise ScenarioError(source, here, f"expected an index from 0 to {len(box)} (to add one) "
                                    f"into [[{where}]], e.g. {where}.0.start")
            slot = int(part)
            if slot == len(box):
                box.append({})
                created.append(here)
            child = node.item
        if i == len(parts) - 1:
            if isinstance(child, Key) and isinstance(box, dict) and slot in box:
                _check_masked(child, box[slot], key, file_source)
            box[slot] = value
            break
        if isinstance(child, Key):
            raise ScenarioError(source, key, f"{here} is a single value, not a table")
        if isinstance(box, dict) and slot not in box:
            box[slot] = [] if isinstance(child, ArrayOf) else {}
            created.append(here)
        expected = list if isinstance(child, ArrayOf) else dict
        if not isinstance(box[slot], expected):
            raise ScenarioError(source, here, f"is {show_value(box[slot])} in the scenario, not a table")
        node, box = child, box[slot]
    return created


def apply_overrides(raw: dict, overrides: Sequence[str] | Mapping[str, object],
                     redundancy: int | None, file_source: str | None = None) -> dict[str, str]:
    """Apply ``redundancy``, then ``overrides``, to ``raw`` in place; return {changed key: source}.

    ``file_source``: the file ``raw`` was read from; a value of it that an override replaces is
    still checked (an invalid file stays invalid whatever the options), and errors name the file.
    Errors in an override name ``--set``, or the shortcut option of a :class:`FlagOverride`.
    """
    changed: dict[str, str] = {}
    path, tiers = raw.get("path"), raw.get("tiers")
    replicas_key = SCHEMA.keys["tiers"].item.keys["replicas"]  # type: ignore[union-attr]  # a NamedTables
    if redundancy is not None and isinstance(path, dict) and isinstance(tiers, dict):
        for name in path.get("tiers") or []:
            if isinstance(name, str) and isinstance(tiers.get(name), dict):
                if "replicas" in tiers[name]:
                    _check_masked(replicas_key, tiers[name]["replicas"], f"tiers.{name}.replicas",
                                  file_source)
                tiers[name]["replicas"] = redundancy
                changed[f"tiers.{name}.replicas"] = REDUNDANCY_SOURCE
    if isinstance(overrides, Mapping):
        # a key may be a FlagOverride too (its source names the option that set it)
        items = [(str(k), v, getattr(k, "source", SET_SOURCE)) for k, v in overrides.items()]
    else:
        items = []
        for text in [overrides] if isinstance(overrides, str) else overrides:  # one string is one override
            source = getattr(text, "source", SET_SOURCE)
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise ScenarioError(source, "",
                                    f"{quoted(text)}: expected KEY=VALUE such as tiers.x.mttr=45m")
            items.append((key.strip(), parse_toml_value(value.strip()), source))
    for key, value, source in items:
        if not all(key.split(".")):
            raise ScenarioError(source, key, "not a dotted key such as tiers.web.replicas")
        # the value replaced must be valid too: the file's, or an earlier option's
        created = _set(raw, key, value, changed.get(key, file_source), source)
        for made in created:
            changed.setdefault(made, source)
        changed[key] = source
    return changed


