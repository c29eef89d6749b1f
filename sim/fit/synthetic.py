"""Synthetic incident logs and request counts drawn from known laws, to check the fit and to make examples.

Every replica starts as good as new at the window start (the renewal the fit assumes), then
alternates up times drawn from its tier's MTBF law and repairs drawn from its MTTR law; an incident
still running at the window end is written with an empty ``end``, a replica with no incident as an
inventory row. Each replica draws from its own named stream, so adding a replica changes no other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sim.random.distributions import Distribution
from sim.random.streams import Streams


def incident_rows(laws: Mapping[str, tuple[int, Distribution, Distribution]], window_s: float,
                  seed: int, origin: datetime, log: int = 0) -> list[tuple[str, str, str, str]]:
    """Rows ``(tier, replica, start, end)`` of one synthetic log: ``laws[tier] = (replicas, mtbf, mttr)``.

    ``log`` numbers independent logs from one seed.
    """
    streams = Streams(seed, log)
    rows = []
    for tier in sorted(laws):
        replicas, mtbf, mttr = laws[tier]
        for replica in range(1, replicas + 1):
            rng = streams.generator(f"incidents/{tier}/{replica}")
            t, seen = 0.0, False
            while True:
                t += float(mtbf.sample(rng, 1)[0])
                if t >= window_s:
                    break
                repair = float(mttr.sample(rng, 1)[0])
                end = t + repair
                seen = True
                closed = "" if end >= window_s else _stamp(origin, end)
                rows.append((tier, str(replica), _stamp(origin, t), closed))
                if end >= window_s:
                    break
                t = end
            if not seen:
                rows.append((tier, str(replica), "", ""))
    return rows


def incidents_csv(rows: Sequence[tuple[str, str, str, str]]) -> str:
    """The incident CSV text of ``rows``."""
    return "tier,replica,start,end\n" + "".join(",".join(r) + "\n" for r in rows)


def hourly_counts(arrival_rate_per_s: float, daily_profile: Sequence[float], days: int, seed: int,
                  origin: datetime, spikes: Mapping[int, float] | None = None) -> list[tuple[str, int]]:
    """Poisson request counts per hour, ``(timestamp, count)``; ``spikes[hour_index]`` multiplies one hour."""
    rng = Streams(seed, 0).generator("traffic/counts")
    spikes = dict(spikes or {})
    rows = []
    for hour in range(days * 24):
        mean = arrival_rate_per_s * 3600.0 * daily_profile[hour % 24] * spikes.get(hour, 1.0)
        rows.append((_stamp(origin, hour * 3600.0), int(rng.poisson(mean))))
    return rows


def _stamp(origin: datetime, seconds: float) -> str:
    # whole microseconds: exact in ISO 8601
    return (origin + timedelta(microseconds=math.floor(seconds * 1e6))).isoformat().replace("+00:00", "Z")
