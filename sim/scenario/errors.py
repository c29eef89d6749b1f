"""Scenario errors: one line that names the file, the key, the bad value and what is allowed."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence

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
        key = shorten(self.key)
        where = key if self.value_text is None else f"{key} = {self.value_text}"
        line = f"{self.source}: {where}: {self.message}" if where else f"{self.source}: {self.message}"
        return shorten(line, LINE_LIMIT)  # a net: every echo is shortened where it is made


ECHO_LIMIT = 80  # characters of a user's key or value echoed in a message
LINE_LIMIT = 1000  # characters of a whole error line


def quoted(text: object, limit: int = ECHO_LIMIT) -> str:
    """``repr`` of the user's text, shortened (for keys, names and option values in messages)."""
    return repr(shorten(str(text), limit))


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters (with "..."), so an echoed key or value stays one short line."""
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    # a line break of any kind (\n, \x85, \u2028, ...) or control character is shown escaped
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def show_value(value: object, limit: int = ECHO_LIMIT, _depth: int = 0) -> str:
    """``value`` written the way TOML writes it, shortened to fit in a one-line message.

    Only what fits is rendered (a huge or deeply nested value costs no more than a small one).
    """
    if _depth > 4:
        return "..."
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = shorten(json.dumps(value[: limit + 1], ensure_ascii=False), limit + 40)
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(show_value(v, limit, _depth + 1) for v in value[:limit // 2]) + "]"
    elif isinstance(value, dict):
        shown = list(value.items())[: limit // 4]
        items = ", ".join(f"{shorten(str(k), limit)} = {show_value(v, limit, _depth + 1)}" for k, v in shown)
        text = "{ " + items + " }" if items else "{}"
    elif isinstance(value, int) and abs(value) > 10**limit:
        text = f"{float(value):.3g}" if abs(value) < 10**308 else "(a huge integer)"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unknown_key_message(keys: Sequence[str], bad: str, label: str) -> str:
    """An unknown key (or, without ``label``, section), the allowed ones and the closest."""
    kind = "key" if label else "section"
    close = difflib.get_close_matches(bad, keys, n=1) if len(bad) <= 100 else []  # a typo is short
    hint = f"; did you mean {close[0]!r}?" if close else ""
    where = f" in {label}" if label else ""
    return f"unknown {kind}; allowed {kind}s{where}: {', '.join(sorted(keys))}{hint}"


def undefined_message(name: str, defined: Sequence[str], what: str) -> str:
    """A name used but not defined (a tier, a zone), the defined ones and the closest."""
    close = difflib.get_close_matches(name, defined, n=1) if len(name) <= 100 else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(defined) or "none"
    return f"{quoted(name)} is not defined under [{what}s]; defined {what}s: {listed}{hint}"
