"""The progress of long commands (sim/cli/progress.py), driven by a fake clock: plain lines at a bounded
cadence when stderr is not a terminal, one self-erasing line when it is, and the first estimate."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from sim.cli.progress import Progress, about, clock_text, run_progress, scenarios_progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _progress(clock: Clock, out: list[str], terminal: bool, **kwargs) -> Progress:
    return Progress("probing", "bisections", terminal=terminal, clock=clock, write=out.append,
                    background=False, **kwargs)


def _lines(out: list[str]) -> list[str]:
    return "".join(out).splitlines()


def test_not_a_terminal_writes_a_start_line_a_line_every_interval_and_an_end_line() -> None:
    clock, out = Clock(), []
    p = _progress(clock, out, terminal=False, parallel=2, plan="15 bisections, 2 at once")
    p.start(15)
    assert _lines(out) == ["probing: started, 15 bisections, 2 at once"]
    written = []  # (time, line) as the work goes: the thread ticks every second, updates come when they come
    for second in range(1, 95):
        clock.now = 100.0 + second
        if second in (31, 32, 60):
            p.update({31: 1, 32: 2, 60: 6}[second], 15)
        p.tick()
        written += [(second, line) for line in _lines(out)[len(written) + 1:]]
    p.update(15, 15)
    p.finish()
    lines = _lines(out)
    assert lines[-1] == "probing: done, 15/15 bisections in 1:34"
    periodic = [(t, line) for t, line in written if "elapsed" in line]
    assert [t for t, _ in periodic] == [10, 20, 30, 41, 51, 61, 71, 81, 91]  # 10 s after the last line
    assert periodic[0][1] == "probing: 0/15 bisections, 0:10 elapsed, ETA --:--"
    assert periodic[4][1] == "probing: 2/15 bisections, 0:51 elapsed, ETA 5:32"
    estimate = [line for _, line in written if "to go" in line]
    assert estimate == ["probing: about 4 min to go for the other 14 of 15 bisections (from the first "
                        "bisection's time, 31.0 s, 2 at once)"]
    assert all("\r" not in line for line in lines)


def test_never_more_than_one_line_per_interval_between_start_and_end() -> None:
    clock, out = Clock(), []
    p = _progress(clock, out, terminal=False, interval_s=10.0, announce_s=1e9)
    p.start(1000)
    times = []
    for step in range(1, 2001):  # an update every 0.05 s and a tick every 0.5 s, for 100 s
        clock.now = 100.0 + step * 0.05
        p.update(step // 2, 1000)
        if step % 10 == 0:
            p.tick()
        if len(_lines(out)) > len(times) + 1:
            times.append(clock.now)
    assert len(times) == 10
    assert all(b - a >= 10.0 - 1e-9 for a, b in itertools.pairwise(times))


def test_on_a_terminal_one_line_is_redrawn_and_erased() -> None:
    clock, out = Clock(), []
    p = _progress(clock, out, terminal=True, delay_s=1.0)
    p.update(0, 4)
    clock.now += 0.5
    p.tick()
    assert out == []  # nothing before the delay: quick work prints nothing
    clock.now += 1.0
    p.tick()
    assert out[-1].startswith("\r[....................] probing: 0/4 bisections, 0:01 elapsed, ETA --:--")
    clock.now += 2.0
    p.update(2, 4)
    assert out[-1].startswith("\r[##########..........] probing: 2/4 bisections, 0:03 elapsed, ETA 0:04")
    p.finish()
    assert out[-1].replace(" ", "") == "\r\r" and "\n" not in "".join(out)  # erased; no start or end line


def test_the_estimate_says_what_it_rests_on_and_only_when_the_rest_is_long() -> None:
    clock, out = Clock(), []
    p = _progress(clock, out, terminal=True, announce_s=10.0, bound="at most 60 s in all")
    p.update(0, 10)
    clock.now += 3.0
    p.update(1, 10)
    assert "about 25 s to go for the other 9 of 10 bisections (from the first bisection's time, 3.0 s); " \
           "at most 60 s in all\n" in "".join(out)
    quick, shown = Clock(), []
    q = _progress(quick, shown, terminal=False, announce_s=10.0)
    q.update(0, 3)
    quick.now += 1.0
    q.update(1, 3)
    q.finish()
    assert not any("to go" in line for line in _lines(shown))  # 2 s to go: not worth a line


def test_resumed_units_are_not_timed() -> None:
    clock, out = Clock(), []
    p = _progress(clock, out, terminal=False, announce_s=0.0)
    p.start(100)
    clock.now += 5.0
    p.update(60, 100, skipped=60, detail="12/20 points")
    assert not any("to go" in line for line in _lines(out))
    clock.now += 2.0
    p.update(61, 100, skipped=60, detail="12/20 points")
    assert "about 5 min to go for the other 39 of 100 bisections (from the first bisection's time, 7.0 s)" \
        in _lines(out)[-1]
    assert p.eta_s(clock.now) == pytest.approx(7.0 * 39)


def test_an_exception_ends_with_a_stopped_line() -> None:
    clock, out = Clock(), []
    with pytest.raises(KeyboardInterrupt), _progress(clock, out, terminal=False) as p:
        p.update(3, 15)
        clock.now += 45.0
        raise KeyboardInterrupt
    assert _lines(out)[-1] == "probing: stopped after 3/15 bisections, 0:45 elapsed"


def test_work_without_a_total_shows_its_detail_and_no_eta() -> None:
    clock, out = Clock(), []
    p = Progress("selecting", "replications run", terminal=False, clock=clock, write=out.append,
                 background=False)
    p.start()
    clock.now += 12.0
    p.update(45, None, detail="stage 12: 3 points in contention")
    assert _lines(out)[-1] == "selecting: 45 replications run, stage 12: 3 points in contention, 0:12 elapsed"


def test_stages_are_timed_on_their_own_and_the_end_line_has_no_count() -> None:
    clock, out = Clock(), []
    p = Progress("validate", terminal=False, clock=clock, write=out.append, background=False, announce_s=0.0)
    p.start()
    clock.now += 30.0
    p.update(0, 10, what="check 2/3 erlang-b")
    clock.now += 2.0
    p.update(1, 10, what="check 2/3 erlang-b")
    assert "check 2/3 erlang-b: about 20 s to go for the other 9 of 10 replications (from the first " \
           "replication's time, 2.0 s)" in _lines(out)
    p.finish()
    assert _lines(out)[-1] == "validate: done in 0:32"


def test_a_precision_driven_run_is_bounded_by_its_time_limit() -> None:
    out: list[str] = []
    p = run_progress("baseline", 10, workers=2, max_time_s=60.0, driven=True)
    p.terminal, p.background, p._write = False, False, out.append
    p.update(0, 10)
    assert _lines(out)[0] == ("baseline: started, precision-driven, first look 10 replications, 2 at once; "
                              "then more looks until the targets are met, at most 60 s in all (or the first "
                              "look, if that takes longer)")
    p.finish()
    clock = Clock()
    q = Progress("baseline", parallel=1, limit_s=60.0, clock=clock, write=out.append, terminal=False,
                 background=False)
    q.update(10, 10)
    clock.now += 40.0
    q.update(11, 20)  # the second look: the ETA cannot pass the time limit
    assert q.eta_s(clock.now) == pytest.approx(20.0)


def test_scenarios_in_turn_count_every_replication_when_fixed_size() -> None:
    progress, show = scenarios_progress(3, 10, workers=1)
    out: list[str] = []
    progress.terminal, progress.background, progress._write = False, False, out.append
    show("a", 0, 10)
    show("a", 10, 10)
    show("b", 4, 10)
    assert (progress.done, progress.total, progress.detail) == (14, 30, "b")
    assert _lines(out)[0] == "compare: started, 3 scenarios × 10 replications = 30 replications, 1 at once"
    progress.finish()


def test_the_thread_keeps_lines_coming_between_updates() -> None:
    out: list[str] = []
    lock = threading.Lock()

    def write(text: str) -> None:
        with lock:
            out.append(text)

    with Progress("map", "tasks", terminal=False, interval_s=0.1, write=write).start(5):
        time.sleep(0.6)  # no update: the lines still come
    lines = _lines(out)
    assert lines[0] == "map: started, 5 tasks" and lines[-1].startswith("map: done, 0/5 tasks in ")
    assert sum("elapsed" in line for line in lines) >= 2


@pytest.mark.parametrize(("seconds", "text"), [(3.2, "about 3 s"), (42, "about 40 s"), (200, "about 3 min"),
                                               (7200, "about 2.0 h")])
def test_about(seconds: float, text: str) -> None:
    assert about(seconds) == text


def test_clock_text() -> None:
    assert (clock_text(0), clock_text(61.2), clock_text(3725)) == ("0:00", "1:01", "1:02:05")
    assert clock_text(61.2, up=True) == "1:02"
