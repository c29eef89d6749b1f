"""Where replications run: in this process, in a pool of local processes, or on a Dask cluster.

Every executor takes tasks (a key, a scenario, a seed and a replication index) and yields
``(key, result)`` as each task finishes, in whatever order they finish. A result depends only
on (scenario, seed, replication), so it is the same whichever executor runs it and on any
number of workers; callers put results in order by key. A worker process that dies does not
lose a task: the process pool is rebuilt and the unfinished tasks resubmitted, and Dask
reschedules (and retries) them itself. A task can then be reported twice only if a worker died
after finishing it, so callers that store results dedupe by key.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType

from sim import __version__
from sim.experiment.methods import CRUDE, replicate
from sim.experiment.replication import ReplicationResult
from sim.scenario.spec import Scenario

DASK_LOCAL = "dask"  # make_executor name of a new Dask LocalCluster (`--dask local`)


class ExecutorError(Exception):
    """An executor that cannot run: an unreachable cluster, workers without outagesim, ..."""


@dataclass(frozen=True)
class Task:
    """One replication of one scenario by one estimator; ``key`` identifies it to the caller (e.g.
    (point, replication))."""

    key: Hashable
    scenario: Scenario
    seed: int
    replication: int
    timeline: bool = False  # also record the replication's incident timeline (for reports)
    method: str = CRUDE  # the estimator (:mod:`sim.experiment.methods`), resolved: not "auto"


def run_task(task: Task) -> tuple[Hashable, ReplicationResult]:
    """Run one task where the executor put it (a module-level function, so workers can import it)."""
    return task.key, replicate(task.method, task.scenario, task.seed, task.replication, task.timeline)


def available_cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Executor(ABC):
    """Runs tasks and yields their results as they complete; a context manager that frees its workers."""

    name: str = "executor"
    workers: int = 1

    @abstractmethod
    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Hashable, ReplicationResult]]:
        """Yield ``(task.key, result)`` for every task, in completion order."""

    def close(self) -> None:  # noqa: B027 - not abstract: an executor without workers has nothing to free
        """Release workers (a pool, a cluster); the executor cannot run afterwards."""

    def describe(self) -> str:
        """A few words for the user: what runs the tasks."""
        return self.name

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every task in this process, one after the other (no start-up cost; easy to debug)."""

    name = "serial"
    workers = 1

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Hashable, ReplicationResult]]:
        for task in tasks:
            yield run_task(task)

    def describe(self) -> str:
        return "1 process (serial)"


def process_context() -> multiprocessing.context.BaseContext:
    # fork is quick and safe here (workers only simulate); elsewhere the platform default
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _init_worker(parent: int) -> None:
    # Ctrl-C is the parent's to handle (it stops submitting and cancels); without this every
    # worker would print a KeyboardInterrupt traceback as well
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    # a pool worker whose parent was killed (SIGKILL) would otherwise wait for work forever
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


class ProcessExecutor(Executor):
    """A pool of local worker processes (default: one per core).

    At most a few tasks per worker are submitted ahead, so an interrupted run leaves little in
    flight and a huge sweep does not hold every pickled task in memory. If a worker process dies
    (killed, out of memory), the pool is rebuilt and the tasks not yet reported are resubmitted,
    up to ``max_restarts`` times.
    """

    name = "processes"

    def __init__(self, workers: int | None = None, max_restarts: int = 3) -> None:
        self.workers = max(1, available_cores() if workers is None else workers)
        self.max_restarts = max_restarts
        self._pool: ProcessPoolExecutor | None = None

    def describe(self) -> str:
        return f"{self.workers} local process{'es' if self.workers > 1 else ''}"

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=process_context(),
                                   initializer=_init_worker, initargs=(os.getpid(),))

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Hashable, ReplicationResult]]:
        source = iter(tasks)
        ahead = 4 * self.workers
        pending: dict[Future, Task] = {}
        restarts = 0
        finished = False
        if self._pool is None:
            self._pool = self._new_pool()
        try:
            while True:
                for task in itertools.islice(source, max(0, ahead - len(pending))):
                    pending[self._pool.submit(run_task, task)] = task
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    try:
                        key, result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    del pending[future]
                    yield key, result
                if broken:
                    restarts += 1
                    if restarts > self.max_restarts:
                        raise ExecutorError(f"worker processes died {restarts} times; giving up (out of "
                                            "memory? see the system log)")
                    # every unfinished future of a broken pool fails: resubmit them all on a new one
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
                    pending = {self._pool.submit(run_task, task): task for task in pending.values()}
            finished = True
        finally:
            if not finished:  # interrupted or failed: drop what is queued, keep nothing running for long
                _stop_pool(self._pool)
                self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the workers now: a replication in progress can take minutes,
    and Ctrl-C must not wait for it (nothing of an abandoned run is kept)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        if process.is_alive():
            process.terminate()


def run_tasks(tasks: list[Task]) -> list[tuple[Hashable, ReplicationResult]]:
    """Run a chunk of tasks where the executor put it."""
    return [run_task(task) for task in tasks]


def _worker_version() -> str:
    """Runs on each Dask worker: proves it can import outagesim and says which version."""
    return __version__


class DaskExecutor(Executor):
    """Tasks on a Dask distributed cluster: an existing one (``tcp://host:8786``) or a new LocalCluster.

    The workers need outagesim installed (the same version: results must not depend on where a
    task ran). Short replications are sent in chunks of up to ``max_chunk``, sized from measured
    run times to take about CHUNK_S each, so scheduling costs little; results come back chunk by
    chunk. A chunk whose worker dies is rescheduled by the scheduler; one that raises is retried
    ``retries`` times.
    """

    name = "dask"
    CHUNK_S = 0.2  # target run time of one Dask task (a chunk of replications)

    def __init__(self, address: str = DASK_LOCAL, workers: int | None = None, retries: int = 2,
                 client: object | None = None, max_chunk: int = 64) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError("Dask is not installed: pip install 'outagesim[dask]'") from None
        self.retries, self.max_chunk = retries, max(1, max_chunk)
        self._cluster = None
        self._owns_client = client is None
        self.address = address
        if client is not None:
            self.client = client
        elif address == DASK_LOCAL:
            n = max(1, available_cores() if workers is None else workers)
            # ":0": a free port for the cluster's web server, so two sweeps never fight over 8787
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = Client(self._cluster)
        else:
            if workers is not None:
                raise ExecutorError("--workers applies to a new local cluster only; an existing Dask "
                                    "cluster has its own workers")
            try:
                self.client = Client(address, timeout="20s")
            except (OSError, TimeoutError, ValueError) as err:
                raise ExecutorError(f"cannot connect to the Dask scheduler at {address}: {err}") from None
        try:
            self._check_workers()
        except BaseException:
            self.close()
            raise

    def _check_workers(self) -> None:
        try:
            self.client.wait_for_workers(1, timeout=60)
            versions = self.client.run(_worker_version)
        except (OSError, TimeoutError) as err:
            raise ExecutorError(f"no Dask worker is available at {self.address}: {err}") from None
        except ImportError as err:
            raise ExecutorError(f"the Dask workers cannot import outagesim (install it on every worker): "
                                f"{err}") from None
        other = sorted({v for v in versions.values() if v != __version__})
        if other:
            raise ExecutorError(f"the Dask workers run outagesim {', '.join(other)}, this process "
                                f"{__version__}: install the same version everywhere")

    @property
    def workers(self) -> int:  # type: ignore[override]  # read from the cluster, which may grow
        return max(1, sum(self.client.nthreads().values()))

    def describe(self) -> str:
        where = "a local Dask cluster" if self._cluster is not None else f"Dask at {self.address}"
        return f"{where} ({self.workers} worker{'s' if self.workers > 1 else ''})"

    @property
    def dashboard_link(self) -> str | None:
        """The cluster's dashboard, if it serves one (a local cluster needs bokeh for that)."""
        if self._cluster is not None and not _has_bokeh():
            return None
        return getattr(self.client, "dashboard_link", None)

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Hashable, ReplicationResult]]:
        from distributed import as_completed

        source = iter(tasks)
        # Short tasks go in chunks: a Dask task costs a few milliseconds of scheduling, so each
        # chunk is sized to take about CHUNK_S from the tasks' measured run times
        chunk, ran, ran_s = 1, 0, 0.0
        ahead = 2 * self.workers + 2  # chunks queued: every worker busy, little in flight

        def submit(batch: list[Task]):
            return self.client.submit(run_tasks, batch, retries=self.retries, pure=False)

        futures = as_completed()
        for _ in range(ahead):
            batch = list(itertools.islice(source, chunk))
            if batch:
                futures.add(submit(batch))
        finished = False
        try:
            for future in futures:
                pairs = future.result()
                future.release()
                for key, result in pairs:
                    ran, ran_s = ran + 1, ran_s + result.wall_s
                    yield key, result
                chunk = max(1, min(self.max_chunk, int(self.CHUNK_S * ran / ran_s) if ran_s > 0 else 1))
                batch = list(itertools.islice(source, chunk))
                if batch:
                    futures.add(submit(batch))
            finished = True
        finally:
            if not finished:
                futures.clear()  # dropping the last references lets the scheduler cancel queued tasks

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _has_bokeh() -> bool:
    try:
        import bokeh  # noqa: F401 - only to know whether Dask can serve a dashboard
    except ImportError:
        return False
    return True




def make_executor(name: str | None = None, workers: int | None = None) -> Executor:
    """An executor by name: None or "processes" (a local process pool, default), "serial",
    "dask" (a new Dask LocalCluster of ``workers`` processes), or a Dask scheduler address
    such as "tcp://host:8786". ``workers`` defaults to all cores; 1 local worker runs serially.
    """
    if name in (None, "processes"):
        n = available_cores() if workers is None else workers
        return SerialExecutor() if n == 1 else ProcessExecutor(n)
    if name == "serial":
        return SerialExecutor()
    if name == DASK_LOCAL or "://" in name:
        return DaskExecutor(name, workers)
    raise ExecutorError(f"unknown executor {name!r}: use serial, processes, dask or a Dask scheduler "
                        "address such as tcp://host:8786")


def map_replications(scenario: Scenario, seed: int, replications: Iterable[int],
                     workers: int | None = None) -> tuple[list[ReplicationResult], int]:
    """Run the replications, return their results in replication order and the workers used."""
    indices = list(replications)
    workers = available_cores() if workers is None else workers
    workers = max(1, min(workers, len(indices)))
    with SerialExecutor() if workers == 1 else ProcessExecutor(workers) as executor:
        results = dict(executor.run(Task(i, scenario, seed, i) for i in indices))
    return [results[i] for i in indices], workers
