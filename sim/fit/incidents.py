"""Incident logs: the CSV of what broke and when it was back, read into censored observations.

The file has a header and the columns ``tier,replica,start,end``: ISO 8601 timestamps (UTC when
they carry no offset; ``end`` may instead be a duration after the start, such as ``45m``), one row
per incident; an incident still open at the end of the window has an empty ``end``. A replica
that had no incident in the window is listed with an empty ``start`` and ``end`` (an inventory
row), so its exposure counts: a component that never failed still tells how long it ran without
failing.

Treatment of the window's open ends (the same for every family, so AICc compares like with like):

* **start**: the window start is taken as a renewal of every replica (as good as new), so the
  time from the window start to a replica's first failure is a full time between failures.
  This is exact for the exponential law (memoryless) and for a window that starts at a deploy
  or replacement; the default window starts at the first incident, whose replica then has no
  such first gap (a gap of length zero is no observation).
* **end**: the time from a replica's last repair to the window end is right-censored (the next
  failure came later), as is the repair time of an incident still open at the window end.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sim.scenario.durations import parse_duration
from sim.scenario.errors import NAME_PATTERN, quoted, shorten

COLUMNS = ("tier", "replica", "start", "end")
MAX_FILE_BYTES = 50_000_000
MAX_DURATION_S = 1e10  # an incident longer than three centuries is a typo


class FitInputError(ValueError):
    """An input file of ``sim fit`` that cannot be used; the message is one line naming file and row."""


@dataclass(frozen=True)
class Observations:
    """Durations of one kind (times between failures, or repair times) of one tier, in seconds.

    ``events`` were seen to end; ``censored`` were still running when the window closed (the true
    duration is longer). ``event_limits``/``censored_limits`` give, for every observation, how
    long it could have run before the window closed (used to redraw the data in a bootstrap).
    """

    events: tuple[float, ...]
    censored: tuple[float, ...]
    event_limits: tuple[float, ...]
    censored_limits: tuple[float, ...]

    @property
    def exposure_s(self) -> float:
        """Total time observed (events and censored alike): the exponential law's sufficient statistic."""
        return math.fsum(self.events) + math.fsum(self.censored)


@dataclass(frozen=True)
class Incident:
    """One incident of one replica: down from ``start_s`` to ``end_s`` (None: still open), seconds
    from the window start."""

    start_s: float
    end_s: float | None
    line: int


@dataclass(frozen=True)
class IncidentLog:
    """Every replica's incidents inside the observation window, in time order."""

    source: str
    window_start: datetime
    window_end: datetime
    #: tier -> replica id -> incidents in time order (sorted keys, so iteration order is fixed)
    replicas: dict[str, dict[str, tuple[Incident, ...]]]

    @property
    def window_s(self) -> float:
        return (self.window_end - self.window_start).total_seconds()

    def tiers(self) -> list[str]:
        return sorted(self.replicas)

    def time_between_failures(self, tier: str) -> Observations:
        """Up times of every replica of ``tier``: window start or repair to the next failure."""
        events, censored, event_limits, censored_limits = [], [], [], []
        window = self.window_s
        for replica in sorted(self.replicas[tier]):
            up_since: float | None = 0.0
            for incident in self.replicas[tier][replica]:
                gap = incident.start_s - up_since
                if gap > 0:
                    events.append(gap)
                    event_limits.append(window - up_since)
                up_since = incident.end_s
                if up_since is None:
                    break
            if up_since is not None and window - up_since > 0:
                censored.append(window - up_since)
                censored_limits.append(window - up_since)
        return Observations(tuple(events), tuple(censored), tuple(event_limits), tuple(censored_limits))

    def repair_times(self, tier: str) -> Observations:
        """Repair times of every incident of ``tier``; open incidents are right-censored at the window end."""
        events, censored, event_limits, censored_limits = [], [], [], []
        window = self.window_s
        for replica in sorted(self.replicas[tier]):
            for incident in self.replicas[tier][replica]:
                if incident.end_s is not None:
                    events.append(incident.end_s - incident.start_s)
                    event_limits.append(window - incident.start_s)
                elif window - incident.start_s > 0:
                    censored.append(window - incident.start_s)
                    censored_limits.append(window - incident.start_s)
        return Observations(tuple(events), tuple(censored), tuple(event_limits), tuple(censored_limits))


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp; one without an offset is UTC. Raises ValueError."""
    value = datetime.fromisoformat(text.strip())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_incidents(path: str | Path, window_start: datetime | None = None,
                   window_end: datetime | None = None) -> IncidentLog:
    """Read and check an incident CSV; the window defaults to the first start and the last timestamp."""
    return incidents_from_text(read_text(path), str(path), window_start, window_end)


def read_text(path: str | Path) -> str:
    """A CSV file's text (UTF-8, a byte-order mark dropped), refused in one line when it cannot be
    read, is larger than :data:`MAX_FILE_BYTES` or is not UTF-8."""
    source = shorten(str(path), 300)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise FitInputError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise FitInputError(f"{source}: larger than {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FitInputError(f"{source}: not UTF-8 text") from None


def incidents_from_text(text: str, source: str = "<incidents>", window_start: datetime | None = None,
                        window_end: datetime | None = None) -> IncidentLog:
    """The checked incident log in ``text`` (CSV); errors name ``source`` and the line."""
    where = shorten(source, 300)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise FitInputError(f"{where}: empty file; expected the header {','.join(COLUMNS)}")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise FitInputError(f"{where}: line 1: missing column(s) {', '.join(missing)}; "
                            f"the header must be {','.join(COLUMNS)}")
    extra = [h for h in header if h not in COLUMNS]
    if extra or len(header) != len(COLUMNS):
        raise FitInputError(f"{where}: line 1: unknown or repeated column(s) "
                            f"{quoted(','.join(extra or header))}; the header must be {','.join(COLUMNS)}")
    at = {c: header.index(c) for c in COLUMNS}
    parsed: list[tuple[int, str, str, datetime | None, datetime | None]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) != len(COLUMNS):
            raise FitInputError(f"{where}: line {line}: {len(row)} fields; expected {len(COLUMNS)} "
                                f"({','.join(COLUMNS)})")
        tier, replica = row[at["tier"]].strip(), row[at["replica"]].strip()
        if not NAME_PATTERN.match(tier):
            raise FitInputError(f"{where}: line {line}: tier {quoted(tier)}: must be a name "
                                "(letters, digits, - and _)")
        if not replica:
            raise FitInputError(f"{where}: line {line}: replica is empty; give the replica's id")
        start = _timestamp(row[at["start"]], "start", where, line)
        end = _end(row[at["end"]], start, where, line)
        if start is None and end is not None:
            raise FitInputError(f"{where}: line {line}: end without a start; an inventory row (a replica "
                                "with no incident) leaves both empty")
        if start is not None and end is not None and end <= start:
            raise FitInputError(f"{where}: line {line}: end {row[at['end']].strip()} is not after start "
                                f"{row[at['start']].strip()}")
        parsed.append((line, tier, replica, start, end))
    return _build(parsed, where, window_start, window_end)


def _end(cell: str, start: datetime | None, where: str, line: int) -> datetime | None:
    """An end timestamp, or a duration after the start ("45m", "2h", 1800 seconds)."""
    text = cell.strip()
    if text and start is not None:
        try:
            seconds = parse_duration(text)
        except ValueError:
            seconds = None
        if seconds is not None:
            if not seconds < MAX_DURATION_S:
                raise FitInputError(f"{where}: line {line}: end {quoted(text)}: a duration must be finite "
                                    "(leave end empty for an incident still open)")
            return start + timedelta(seconds=seconds)
    return _timestamp(cell, "end", where, line)


def _timestamp(cell: str, column: str, where: str, line: int) -> datetime | None:
    if not cell.strip():
        return None
    try:
        return parse_timestamp(cell)
    except ValueError:
        also = " or a duration after start such as 45m" if column == "end" else ""
        raise FitInputError(f"{where}: line {line}: {column} {quoted(cell.strip())}: not an ISO 8601 "
                            f"timestamp such as 2026-03-01T14:05:00Z{also}") from None


def _build(parsed: Iterable[tuple[int, str, str, datetime | None, datetime | None]], where: str,
           window_start: datetime | None, window_end: datetime | None) -> IncidentLog:
    parsed = list(parsed)
    starts = [p[3] for p in parsed if p[3] is not None]
    if not starts:
        raise FitInputError(f"{where}: no incident: at least one row needs a start")
    seen = starts + [p[4] for p in parsed if p[4] is not None]
    ws = min(starts) if window_start is None else window_start
    we = max(seen) if window_end is None else window_end
    if we <= ws:
        raise FitInputError(f"{where}: the window end {we.isoformat()} is not after its start "
                            f"{ws.isoformat()}")
    by_replica: dict[str, dict[str, list[Incident]]] = {}
    for line, tier, replica, start, end in parsed:
        incidents = by_replica.setdefault(tier, {}).setdefault(replica, [])
        if start is None:
            continue
        if start < ws or start > we or (end is not None and end > we):
            raise FitInputError(f"{where}: line {line}: incident {start.isoformat()} to "
                                f"{end.isoformat() if end else '(open)'} lies outside the window "
                                f"{ws.isoformat()} to {we.isoformat()}")
        incidents.append(Incident((start - ws).total_seconds(),
                                  None if end is None else (end - ws).total_seconds(), line))
    replicas: dict[str, dict[str, tuple[Incident, ...]]] = {}
    for tier in sorted(by_replica):
        replicas[tier] = {}
        for replica in sorted(by_replica[tier]):
            ordered = sorted(by_replica[tier][replica], key=lambda i: (i.start_s, i.line))
            for before, after in itertools.pairwise(ordered):
                if before.end_s is None or after.start_s <= before.end_s:
                    raise FitInputError(f"{where}: line {after.line}: incident of {tier} replica "
                                        f"{quoted(replica)} overlaps the one on line {before.line}; one "
                                        "replica has one incident at a time")
            replicas[tier][replica] = tuple(ordered)
    return IncidentLog(where, ws, we, replicas)
