"""Experiments: one replication, independent replications summarised, and where they run."""

from sim.experiment.replication import ReplicationResult, run_replication
from sim.experiment.runs import RunResult, run, summarize_replications

__all__ = ["ReplicationResult", "RunResult", "run", "run_replication", "summarize_replications"]
