"""The state of one checkout in progress (kept only while it is in progress), and what a replica
tells about it."""

from __future__ import annotations

import math
from typing import Protocol


class Customer:
    """One checkout in progress (only while in progress: outcomes go to the recorder)."""

    __slots__ = (
        "arrived",
        "attempt",
        "attempt_started",
        "budget",
        "charges",
        "deadline",
        "first_service",
        "measured",
        "pending",
        "prev_backoff",

        "service_s",
        "slot",
        "stage",
        "via",
    )

    def __init__(self, arrived: float, measured: bool, budget: int, first_service: list[float]) -> None:
        self.arrived = arrived
        self.measured = measured
        self.budget = budget  # attempts left
        self.first_service = first_service  # this customer's service demand at each tier
        self.attempt = 0  # attempts made so far
        self.attempt_started = arrived
        self.deadline = math.inf
        self.stage = 0  # index of the tier the current attempt is at
        self.pending = None  # the timer/queue entry the customer is waiting on (None: nothing)
        self.service_s = 0.0
        self.slot = None  # service slot still held after the customer timed out in service
        self.prev_backoff = 0.0
        # ``via`` (the caller replica's held slot) and ``charges`` (completed calls at a charging
        # tier) are set only by called tiers (sim.model.hops): unset otherwise, so that scenarios
        # without them pay nothing per customer


class RequestListener(Protocol):
    """What a replica reports about the requests it holds (the customer logic implements it).

    Declared here, below both, so that replicas need not import the customer logic.
    """

    def served(self, customer: Customer) -> None: ...

    def timed_out(self, timer: object) -> None: ...

    def attempt_failed(self, customer: Customer, reason: str) -> None: ...
