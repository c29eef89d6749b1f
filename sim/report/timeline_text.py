"""The words beside an incident timeline: which estimator drew it (always the full model: only it
records a timeline), which replication it shows and why, and — when the tables come from another
estimator — that they do, so a timeline never sits unlabelled beside numbers it did not produce.

Read from a stored timeline record (:func:`sim.report.collect.timeline_record`): ``replication``,
``rule`` (why that one), ``method`` (the estimator behind the tables; absent in older folders: crude).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

TITLE_WIDTH = 100  # characters per title line (an 11-inch figure at the title's size)


def table_method(record: Mapping) -> str:
    """The estimator behind the tables the timeline stands beside."""
    return str(record.get("method") or "crude")


def shown_text(record: Mapping) -> str:
    """"full model (crude), replication 7: the replication with the most lost checkouts"."""
    rule = str(record.get("rule") or "").strip()
    return f"full model (crude), replication {record['replication']}" + (f": {rule}" if rule else "")


def other_method_text(record: Mapping) -> str:
    """Empty for crude; else that the tables are another estimator's and the timeline is not."""
    method = table_method(record)
    if method == "crude":
        return ""
    return (f"the tables' figures are from method {method}; the timeline is one full-model replication, "
            "simulated again in full for this figure")


def timeline_title(label: str, record: Mapping, horizon_text: str) -> str:
    """The figure's title: the scenario and horizon, what it shows and why, and which estimator the
    tables come from when it is not the full model (wrapped to :data:`TITLE_WIDTH`)."""
    head, _, rule = shown_text(record).partition(": ")
    lines = [f"{label}: incident timeline of {horizon_text}, {head}" + (":" if rule else ""), rule]
    other = other_method_text(record)
    if other:
        lines.append(f"({other})")
    return "\n".join(textwrap.fill(line, TITLE_WIDTH, break_on_hyphens=False) for line in lines if line)


def timeline_caption(record: Mapping) -> str:
    """The report's sentence beside the figure (the same words as its title)."""
    text = shown_text(record)
    other = other_method_text(record)
    return text[0].upper() + text[1:] + "." + (f" {other[0].upper()}{other[1:]}." if other else "")
