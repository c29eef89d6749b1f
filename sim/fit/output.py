"""What ``sim fit`` writes: FIT.json (every law with its evidence) and a scenario fragment in TOML.

The fragment uses the scenario file's own syntax: ``[tiers.NAME]`` with ``mtbf``/``mttr`` as a
plain duration (exponential) or a distribution table (Weibull, lognormal), and ``[traffic]`` with
``arrival_rate`` and ``daily_profile``. :func:`merge_into` writes the same keys into a complete
scenario file, keeping its other keys and comments, so the result runs as it is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from sim.fit.incidents import IncidentLog
from sim.fit.laws import KINDS, LawFit, fit_law
from sim.fit.traffic import TrafficFit
from sim.random.streams import name_key


@dataclass(frozen=True)
class FitResult:
    """Fitted laws per tier (``laws[tier][kind]``, None when nothing could be fitted) and traffic."""

    source: str
    window_start: datetime
    window_end: datetime
    replicas: dict[str, int]
    laws: dict[str, dict[str, LawFit | None]]
    traffic: TrafficFit | None = None
    traffic_source: str | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """The FIT.json form: ``{"tiers": {tier: {"mtbf": F, "mttr": F}}, ...}``."""
        out: dict = {
            "tiers": {t: {k: (None if law is None else law.to_dict()) for k, law in kinds.items()}
                      for t, kinds in self.laws.items()},
            "incidents": {"source": self.source, "window_start": self.window_start.isoformat(),
                          "window_end": self.window_end.isoformat(),
                          "window_s": (self.window_end - self.window_start).total_seconds(),
                          "replicas": dict(self.replicas),
                          "treatment": "window start taken as a renewal (as good as new); time from the last "
                                       "repair to the window end, and open repairs, right-censored"},
            "notes": list(self.notes),
        }
        if self.traffic is not None:
            out["traffic"] = {"source": self.traffic_source, **self.traffic.to_dict()}
        return out


def fit_incidents(log: IncidentLog, *, gof_resamples: int = 49,
                  seed: int = 0) -> dict[str, dict[str, LawFit | None]]:
    """MTBF and MTTR laws of every tier of ``log`` (the bootstrap of each law on its own named stream)."""
    laws: dict[str, dict[str, LawFit | None]] = {}
    for tier in log.tiers():
        observed = {"mtbf": log.time_between_failures(tier), "mttr": log.repair_times(tier)}
        laws[tier] = {}
        for kind in KINDS:
            key = name_key(f"gof/{tier}/{kind}")
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
            laws[tier][kind] = fit_law(observed[kind], gof_resamples=gof_resamples, rng=rng)
    return laws


def fit(log: IncidentLog, traffic: TrafficFit | None = None, traffic_source: str | None = None,
        *, gof_resamples: int = 49, seed: int = 0) -> FitResult:
    """Everything ``sim fit`` reports, from a checked incident log and (optionally) request counts."""
    laws = fit_incidents(log, gof_resamples=gof_resamples, seed=seed)
    notes = []
    for tier, kinds in laws.items():
        if kinds["mttr"] is None:
            notes.append(f"tiers.{tier}.mttr: no repair seen; the fragment leaves mttr to the scenario")
        mtbf = kinds["mtbf"]
        if mtbf is not None and mtbf.n_events == 0:
            notes.append(f"tiers.{tier}.mtbf: no failure in {mtbf.exposure_s / 86400:.4g} replica-days; "
                         f"mean {mtbf.mean_s:.4g} s is median-unbiased, 95% lower bound "
                         f"{mtbf.mean_ci_s[0]:.4g} s")
    replicas = {t: len(r) for t, r in log.replicas.items()}
    return FitResult(log.source, log.window_start, log.window_end, replicas, laws, traffic, traffic_source,
                     tuple(notes))


def toml_number(x: float) -> str:
    """A float as TOML writes it, to 6 significant digits (durations in seconds, multipliers)."""
    if math.isinf(x):
        return '"inf"'
    text = f"{x:.6g}"
    return text if any(c in text for c in ".e") else text + ".0"


def law_value(law: LawFit) -> str:
    """The scenario value of a fitted law: a plain duration for exponential, else a distribution table."""
    if law.dist == "exponential":
        return toml_number(law.mean_s)
    extra = ", ".join(f"{k} = {toml_number(v)}" for k, v in law.parameters.items())
    return f'{{ dist = "{law.dist}", mean = {toml_number(law.mean_s)}, {extra} }}'


def fragment_entries(result: FitResult) -> dict[str, dict[str, str]]:
    """Table name -> key -> TOML value text, in the order written."""
    tables: dict[str, dict[str, str]] = {}
    if result.traffic is not None:
        profile = ", ".join(f"{p:.4f}" for p in result.traffic.daily_profile)
        tables["traffic"] = {"arrival_rate": toml_number(result.traffic.arrival_rate_per_s),
                             "daily_profile": f"[{profile}]"}
    for tier, kinds in result.laws.items():
        entries = {k: law_value(law) for k, law in kinds.items() if law is not None}
        if entries:
            tables[f"tiers.{tier}"] = entries
    return tables


def fragment_text(result: FitResult) -> str:
    """The TOML fragment: the fitted keys under their scenario tables, with a comment per law."""
    lines = [f"# Fitted by `sim fit` from {result.source}: window {result.window_start.isoformat()} to "
             f"{result.window_end.isoformat()}."]
    if result.traffic is not None:
        lines.append(f"# Traffic from {result.traffic_source}: {result.traffic.intervals} intervals of "
                     f"{result.traffic.interval_s:g} s; {len(result.traffic.spikes)} spike(s) flagged, "
                     "not written.")
    for note in result.notes:
        lines.append(f"# {note}")
    for table, entries in fragment_entries(result).items():
        lines.append("")
        lines.append(f"[{table}]")
        for key, value in entries.items():
            lines.append(f"{key} = {value}{_comment(result, table, key)}")
    return "\n".join(lines) + "\n"


def _comment(result: FitResult, table: str, key: str) -> str:
    if not table.startswith("tiers."):
        return ""
    law = result.laws[table.removeprefix("tiers.")][key]
    if law is None:
        return ""
    low, high = law.mean_ci_s
    return (f"  # {law.n_events} seen, {law.n_censored} censored; mean 95% CI "
            f"{low:.4g} to {'inf' if math.isinf(high) else f'{high:.4g}'} s")


_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def merge_into(base_text: str, result: FitResult) -> str:
    """``base_text`` (a scenario file) with the fitted keys written into their tables.

    A key already in its table is replaced (a multi-line array too); a missing key is added at the
    table's end; a missing table is refused (KeyError naming it): the base defines the architecture.
    """
    lines = base_text.splitlines()
    for table, entries in fragment_entries(result).items():
        start = next((i for i, line in enumerate(lines)
                      if (m := _HEADER.match(line)) and m.group(1).strip() == table), None)
        if start is None:
            raise KeyError(table)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        for key, value in entries.items():
            text = f"{key} = {value}{_comment(result, table, key)}"
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            found = next((i for i in range(start + 1, end) if pattern.match(lines[i])), None)
            if found is None:
                lines.insert(end, text)
                end += 1
                continue
            last, depth = found, _depth(lines[found])
            while depth > 0 and last + 1 < end:  # a multi-line array: its brackets close on a later line
                last += 1
                depth += _depth(lines[last])
            lines[found:last + 1] = [text]
            end -= last - found
    return "\n".join(lines) + "\n"


def _depth(line: str) -> int:
    code = line.split("#")[0]
    return code.count("[") + code.count("{") - code.count("]") - code.count("}")
