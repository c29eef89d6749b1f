"""Progress of long commands on standard error, one implementation for every command.

On a terminal: one self-erasing line (a bar, done/total, elapsed time and ETA), redrawn twice a second
once the work has taken more than a second, so quick work prints nothing. Anywhere else (a log file, a
pipe, CI) a redirected command must not look hung: plain lines, one when the work starts, one at least
every ``interval_s`` (10 s) while it runs and one when it ends — never more often. In both, once the first
unit of work is done and the rest looks long, one line says roughly how long, and from what.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable

import click

from sim.experiment.executors import available_cores

DEFAULT_INTERVAL_S = 10.0  # plain lines (not a terminal): at most one per interval between start and end
ANNOUNCE_S = 10.0  # the estimate after the first unit is printed when the rest looks at least this long
REDRAW_S = 0.5  # a terminal line is redrawn this often, so its clock moves during a long unit
DRAW_EVERY_S = 0.1  # ... and at most this often on updates
BAR = 20


def clock_text(seconds: float, up: bool = False) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour); whole seconds rounded down (elapsed) or ``up`` (to go)."""
    minutes, s = divmod((math.ceil if up else math.floor)(max(0.0, seconds)), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}" if hours else f"{m}:{s:02d}"


def about(seconds: float) -> str:
    """A rough duration: ``about 40 s``, ``about 3 min``, ``about 1.5 h``."""
    if seconds < 90:
        return f"about {max(1, round(seconds / 5) * 5 if seconds >= 10 else round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def _stderr(text: str) -> None:
    click.echo(text, err=True, nl=False)


class Progress:
    """How far ``what`` is, in ``unit`` (plural: "replications", "tasks", ...), on standard error.

    ``update(done, total)`` is the callback of the work (``total`` None when unknown, as in a KN++
    selection); the first call starts it if :meth:`start` was not called; :meth:`finish` ends it (a
    context manager does both, and says "stopped" when the work raised). ``plan`` is the start line's
    text (default: the total), ``parallel`` how many units run at once (for the first estimate),
    ``bound`` what limits the whole (e.g. "at most 60 s in all"), added to the estimate. ``limit_s``
    caps the ETA once the first ``total`` seen is done (a precision-driven run's later looks stop at
    its time limit; its first look always completes).

    ``terminal`` (default: whether stderr is one), ``interval_s`` and ``announce_s`` (default: the
    module's constants, read when the progress is made), ``clock``, ``write`` and ``background`` (a
    thread that keeps the line and the plain lines coming between updates; without it :meth:`tick`
    does that) are parameters so that tests can drive everything.
    """

    def __init__(self, what: str, unit: str = "replications", *, plan: str | None = None, parallel: int = 1,
                 bound: str = "", limit_s: float | None = None, terminal: bool | None = None,
                 interval_s: float | None = None, clock: Callable[[], float] = time.monotonic,
                 write: Callable[[str], None] = _stderr, announce_s: float | None = None,
                 delay_s: float = 1.0, background: bool = True) -> None:
        self.what, self.unit, self.plan, self.bound = what, unit, plan, bound
        self.title = what  # the start and end lines' name; ``what`` may name stages in between
        self.parallel, self.limit_s = max(1, parallel), limit_s
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.interval_s = DEFAULT_INTERVAL_S if interval_s is None else interval_s
        self.announce_s = ANNOUNCE_S if announce_s is None else announce_s
        self.clock, self._write, self.delay_s, self.background = clock, write, delay_s, background
        self.done, self.total, self.detail, self.skipped = 0, None, "", 0
        self._first_total: int | None = None
        self._started: float | None = None
        self._since = 0.0  # when the current stage (``what``) started: the estimates time it alone
        self._finished = False
        self._announced = False
        self._last_line = self._last_draw = -math.inf
        self._width = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the work's side -------------------------------------------------------------------------

    def start(self, total: int | None = None) -> Progress:
        """Start the clock (once) and, when not on a terminal, say what is about to run."""
        with self._lock:
            if self._started is not None:
                return self
            self._started = self._since = self.clock()
            if total is not None:
                self.total = self._first_total = total
            if not self.terminal:
                plan = self.plan or (f"{total} {self.unit}" if total is not None else "")
                self._line(f"{self.title}: started" + (f", {plan}" if plan else ""))
        if self.background:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def update(self, done: int, total: int | None = None, *, detail: str = "", skipped: int = 0,
               what: str | None = None) -> None:
        """``done`` of ``total`` units; ``skipped`` of them were done before this run (resumed, not timed);
        ``detail`` adds what else the command shows (e.g. points finished)."""
        self.start(total)
        with self._lock:
            if what is not None and what != self.what:  # a new stage of the work, timed on its own
                self.what, self._announced, self._first_total = what, False, total
                self._since = self.clock()
            self.done, self.total, self.detail, self.skipped = done, total, detail, skipped
            if self._first_total is None:
                self._first_total = total
            if not self._announced and done - skipped >= 1:
                self._announced = True
                self._announce()
            self._show(self.clock(), force=False)

    def __call__(self, done: int, total: int | None = None) -> None:
        self.update(done, total)

    def tick(self) -> None:
        """Redraw the terminal line, or write a plain line when one is due (the thread calls this)."""
        with self._lock:
            if self._started is not None and not self._finished:
                self._show(self.clock(), force=True)

    def clear(self) -> None:
        """Erase the terminal line (before other output); the next update draws it again."""
        with self._lock:
            if self._width:
                self._write("\r" + " " * self._width + "\r")
                self._width = 0

    def echo(self, text: str) -> None:
        """A line of the command's own on stderr (the terminal line erased first)."""
        with self._lock:
            self.clear()
            self._write(text + "\n")

    def finish(self, stopped: bool = False) -> None:
        """Stop redrawing; erase the terminal line, or say how it ended (once)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        with self._lock:
            if self._finished or self._started is None:
                self._finished = True
                return
            self._finished = True
            self.clear()
            if not self.terminal:
                same = self.what == self.title  # staged work (validate): no count of the whole
                elapsed = clock_text(self.clock() - self._started)
                if stopped:
                    self._line(f"{self.title}: stopped" + (f" after {self._count()}" if same else "")
                               + f", {elapsed} elapsed")
                else:
                    self._line(f"{self.title}: done" + (f", {self._count()}" if same else "")
                               + f" in {elapsed}")

    def __enter__(self) -> Progress:
        return self.start()

    def __exit__(self, kind, *_) -> None:
        self.finish(stopped=kind is not None)

    # -- what is shown ---------------------------------------------------------------------------

    def eta_s(self, now: float) -> float | None:
        """Seconds to go at the rate so far (at first: ``parallel`` units at a time, each as long as the
        elapsed time); None before the first unit or without a total."""
        ran = self.done - self.skipped
        if self.total is None or ran <= 0 or self._started is None:
            return None
        elapsed = now - self._since
        # until ``parallel`` units are done, each took about the elapsed time and they ran side by side
        side_by_side = min(self.parallel, self.total - self.skipped)
        eta = elapsed * max(0, self.total - self.done) / max(ran, side_by_side)
        if self.limit_s is not None and self.total != self._first_total:
            eta = min(eta, max(0.0, self.limit_s - (now - self._started)))
        return eta

    def status(self, now: float) -> str:
        """``what: done/total unit, detail, elapsed, ETA`` (no bar)."""
        assert self._started is not None
        text = f"{self.what}: {self._count()}" + (f", {self.detail}" if self.detail else "")
        text += f", {clock_text(now - self._started)} elapsed"
        if self.total is not None:
            eta = self.eta_s(now)
            text += f", ETA {'--:--' if eta is None else clock_text(eta, up=True)}"
        return text

    def _count(self) -> str:
        of = "" if self.total is None else f"/{self.total}"
        return f"{self.done}{of} {self.unit}"

    def _announce(self) -> None:
        """After the first unit (or the first few, when they end together): roughly how long the rest
        takes, from their time."""
        now = self.clock()
        rest = self.eta_s(now)
        if rest is None or self.total is None or self.total <= self.done or rest < self.announce_s:
            return
        ran, left = self.done - self.skipped, self.total - self.done
        at_once = min(self.parallel, self.total - self.skipped)
        first = f"first {self.unit.removesuffix('s')}'s" if ran == 1 else f"first {ran} {self.unit}'"
        how = f"from the {first} time, {now - self._since:.1f} s" + (f", {at_once} at once" if at_once > 1
                                                                       else "")
        self.clear()
        self._line(f"{self.what}: {about(rest)} to go for the other {left} of {self.total} {self.unit} "
                   f"({how})" + (f"; {self.bound}" if self.bound else ""))

    def _show(self, now: float, force: bool) -> None:
        assert self._started is not None
        if self.terminal:
            due = now - self._last_draw >= (0.0 if force else DRAW_EVERY_S)
            if now - self._started >= self.delay_s and due:
                self._draw(now)
        elif now - self._last_line >= self.interval_s:
            self._line(self.status(now))

    def _draw(self, now: float) -> None:
        bar = ""
        if self.total:
            filled = min(BAR, int(BAR * self.done / self.total))
            bar = f"[{'#' * filled}{'.' * (BAR - filled)}] "
        text = bar + self.status(now)
        self._write("\r" + text.ljust(self._width))
        self._width, self._last_draw = len(text), now

    def _line(self, text: str) -> None:
        self._write(text + "\n")
        self._last_line = self.clock()
        if self.terminal:
            self._width = 0
            self._last_draw = -math.inf

    def _run(self) -> None:
        wait = REDRAW_S if self.terminal else min(0.25, self.interval_s / 4)  # lines 10.0-10.25 s apart
        while not self._stop.wait(wait):
            self.tick()


def run_progress(name: str, replications: int, workers: int | None, max_time_s: float | None = None,
                 driven: bool = False) -> Progress:
    """The progress of ``name``'s replications: a fixed-size run of ``replications``, or a
    precision-driven one (``driven``) whose first look is ``replications`` and whose time limit
    ``max_time_s`` ends it, unless the first look (which always completes) takes longer."""
    at_once = min(workers or available_cores(), replications)
    if not driven:
        return Progress(name, parallel=at_once, plan=f"{replications} replications, {at_once} at once")
    bound = "then more looks until the targets are met, " + (
        "with no time limit" if max_time_s is None else
        f"at most {max_time_s:g} s in all (or the first look, if that takes longer)")
    return Progress(name, parallel=at_once, bound=bound, limit_s=max_time_s,
                    plan=f"precision-driven, first look {replications} replications, {at_once} at once; "
                         + bound)


def scenarios_progress(count: int, replications: int, workers: int | None, max_time_s: float | None = None,
                       driven: bool = False, what: str = "compare", of: str = "scenarios",
                       ) -> tuple[Progress, Callable[[str, int, int], None]]:
    """The progress of ``count`` scenarios (or other ``of``) run in turn, and its callback
    ``progress(label, done, total)``: one count of all their replications when fixed-size; scenario by
    scenario when precision-driven (the first, the baseline, decides how many the others run)."""
    at_once = min(workers or available_cores(), replications)
    labels: list[str] = []

    def seen(label: str) -> int:
        if label not in labels:
            labels.append(label)
        return labels.index(label)

    if not driven:
        total = count * replications
        progress = Progress(what, parallel=at_once, plan=f"{count} {of} × {replications} replications = "
                                                         f"{total} replications, {at_once} at once")
        return progress, lambda label, done, _: progress.update(seen(label) * replications + done, total,
                                                                detail=label)
    limit = "with no time limit" if max_time_s is None else f"at most {max_time_s:g} s (or its first look)"
    progress = Progress(what, parallel=at_once, limit_s=max_time_s,
                        bound=f"then more looks until the targets are met, {limit}",
                        plan=f"{count} {of} in turn: the first precision-driven (first look "
                             f"{replications} replications, {limit}), the others on its replications; "
                             f"{at_once} at once")

    def show(label: str, done: int, total: int) -> None:
        index = seen(label)
        if index:  # the baseline is done: the others run its replications, no looks
            progress.bound, progress.limit_s = f"{count - 1 - index} more scenario(s) after this one", None
        progress.update(done, total, what=f"{label} ({index + 1}/{count})")

    return progress, show
