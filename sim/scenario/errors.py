"""Scenario errors: one line that names the file, the key, the bad value and what is allowed."""

from __future__ import annotations

import json
import re

BUILTIN_SOURCE = "<built-in>"  # ScenarioError.source / Scenario.source of a built-in scenario
SET_SOURCE = "--set"  # ScenarioError.source of an error in (or caused by) an override
REDUNDANCY_SOURCE = "--redundancy"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


class ScenarioError(Exception):
    """A scenario that cannot be used.

    ``source`` is the file (or ``"<built-in>"``, ``"--set"``), ``key`` the dotted key ("" for the
    whole file), ``message`` what is wrong and what is allowed, ``value_text`` the bad value as
    TOML writes it (None when there is no value, e.g. an unknown or missing key).
    """

    def __init__(self, source: str, key: str, message: str, value_text: str | None = None) -> None:
        super().__init__(source, key, message, value_text)  # everything in args: picklable
        self.source, self.key, self.message, self.value_text = source, key, message, value_text

    def __str__(self) -> str:
        where = self.key if self.value_text is None else f"{self.key} = {self.value_text}"
        return f"{self.source}: {where}: {self.message}" if where else f"{self.source}: {self.message}"


def show_value(value: object, limit: int = 80) -> str:
    """``value`` written the way TOML writes it, shortened to fit in a one-line message."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(show_value(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        items = ", ".join(f"{k} = {show_value(v, limit)}" for k, v in value.items())
        text = "{ " + items + " }" if items else "{}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

