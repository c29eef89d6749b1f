"""Where replications run: in this process or in a pool of worker processes.

Each replication depends only on (scenario, seed, replication index), so the result is the
same whichever executor runs it and in whatever order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor

from sim.experiment import ReplicationResult, run_replication
from sim.spec import Scenario


def available_cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _context() -> multiprocessing.context.BaseContext:
    # fork is quick and safe here (workers only simulate); elsewhere the platform default
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def map_replications(scenario: Scenario, seed: int, replications: Iterable[int],
                     workers: int | None = None) -> tuple[list[ReplicationResult], int]:
    """Run the replications, return their results in replication order and the workers used."""
    indices = list(replications)
    workers = available_cores() if workers is None else workers
    workers = max(1, min(workers, len(indices)))
    if workers == 1:
        return [run_replication(scenario, seed, i) for i in indices], 1
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        futures = [pool.submit(run_replication, scenario, seed, i) for i in indices]
        return [f.result() for f in futures], workers
