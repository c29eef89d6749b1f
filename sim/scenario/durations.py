"""Durations: numbers are seconds, strings carry a unit (``ms``, ``s``, ``m``, ``h``, ``d``)."""

from __future__ import annotations

import math
import re

from sim.scenario.errors import show_value

UNIT_SECONDS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|min|m|h|d)?\s*$")


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds; ``"inf"`` and ``math.inf`` mean "never".

    Raises ``ValueError`` with a message naming what is allowed.
    """
    if isinstance(value, bool):
        raise ValueError('expected a duration such as 30, "200ms", "20m" or "12h", not a boolean')
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an integer beyond any float
            raise ValueError("a duration too large to represent") from None
        if math.isnan(seconds):
            raise ValueError("a duration cannot be NaN")
        return seconds
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("inf", "infinity", "never"):
            return math.inf
        match = _DURATION.match(text)
        if match:
            return float(match.group(1)) * UNIT_SECONDS[match.group(2) or "s"]
    shown = show_value(value)
    raise ValueError(
        f"expected a duration: a number of seconds or a string with a unit (ms, s, m, h, d) "
        f'such as "200ms" or "45m", got {shown}'
    )


def format_duration(seconds: float) -> str:
    """Render seconds the way a person reads them (``"45m"``, ``"1.5h"``, ``"200ms"``)."""
    if math.isinf(seconds):
        return "inf"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if abs(seconds) >= size:
            return f"{seconds / size:g}{unit}"
    if seconds == 0:
        return "0s"
    return f"{seconds * 1e3:g}ms"
