"""Timers: events that SimPy's scheduler runs like any other, with a plain callback.

A ``simpy.Timeout`` plus a callback costs about 1 µs per event; this slotted event, put on the
same ``Environment`` queue with ``env.schedule``, about half that. The model schedules three or
four of them per customer, so the saving is most of the simulator's speed. Processes
(generators) are still used where they read better and run rarely (failures, repairs, outages).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import NORMAL


class Timer:
    """A scheduled call of ``callback(timer)`` at a future simulated time.

    It quacks like a triggered ``simpy.Event`` for ``Environment.step`` (``callbacks``, ``_ok``,
    ``_value``). ``cancel()`` makes the callback a no-op; the entry stays in the heap.
    """

    __slots__ = ("_ok", "_value", "callbacks", "env")

    def __init__(
        self, env: simpy.Environment, delay: float, callback: Callable[[Timer], Any], value: Any = None
    ) -> None:
        self.env = env
        self.callbacks: list | None = [callback]
        self._ok = True
        self._value = value
        env.schedule(self, NORMAL, delay)  # type: ignore[arg-type]

    @property
    def value(self) -> Any:
        return self._value

    def cancel(self) -> None:
        if self.callbacks:
            self.callbacks.clear()
