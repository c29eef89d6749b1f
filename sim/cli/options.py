"""Options and error handling shared by the ``sim`` commands (defined once)."""

from __future__ import annotations

import functools
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from sim.scenario import ScenarioError
from sim.scenario.durations import parse_duration
from sim.scenario.errors import LINE_LIMIT, quoted, shorten
from sim.scenario.overrides import FlagOverride

PATH_LIMIT = 300  # characters of a path echoed in a message (paths are long; values are cut at 80)


class InputError(click.ClickException):
    """Bad input from the user: a one-line message, exit code 2, no traceback."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(shorten(message, LINE_LIMIT))  # one line, however long the user's text


def reports_input_errors(fn: Callable) -> Callable:
    """Turn the library's input errors into :class:`InputError`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ScenarioError as err:
            raise InputError(str(err)) from None
        except RecursionError:  # a value nested deeper than any check could look
            raise InputError("an option value is nested too deeply") from None
        except OSError as err:  # a file that could not be read or written, e.g. a full disk
            where = f"{shorten(str(err.filename), PATH_LIMIT)}: " if err.filename else ""
            raise InputError(f"{where}{err.strerror or err}") from None

    return wrapper


def scenario_overrides(fn: Callable) -> Callable:
    """--set KEY=VALUE (repeatable) and --redundancy N."""
    fn = click.option(
        "--set", "overrides", multiple=True, metavar="KEY=VALUE",
        help="Override any scenario key by its dotted path, e.g. --set tiers.payment.mttr=45m "
             "(repeatable; validated like the file).",
    )(fn)
    fn = click.option(
        "--redundancy", type=click.IntRange(min=1), default=None, metavar="N",
        help="Set the replicas of every tier on the path to N.",
    )(fn)
    return fn


def replication_options(fn: Callable) -> Callable:
    """--replications, --horizon, --seed, --workers."""
    fn = click.option("--workers", type=click.IntRange(min=1), default=None, metavar="W",
                      help="Worker processes (default: all cores). Results do not depend on it.")(fn)
    fn = click.option("--seed", type=click.IntRange(min=0), default=None, metavar="S",
                      help="Root seed (default: the scenario's).")(fn)
    fn = click.option("--horizon", default=None, metavar="H",
                      help="Simulated time per replication, e.g. 6h (default: the scenario's).")(fn)
    fn = click.option("--replications", type=click.IntRange(min=1), default=None, metavar="R",
                      help="A fixed-size run of R independent replications (1: a quick look, no "
                           "confidence intervals); with --precision, the first look. Default: a "
                           "precision-driven run whose first look is the scenario's replications.")(fn)
    return fn


def precision_options(fn: Callable) -> Callable:
    """--precision, --max-time, --target (a precision-driven run)."""
    fn = click.option("--target", "targets", multiple=True, metavar="METRIC",
                      help="A metric whose interval must reach the precision (repeatable; default: "
                           "lost_checkouts and unavailability, i.e. 1 - availability).")(fn)
    fn = click.option("--max-time", default=None, metavar="DURATION",
                      help="Wall-clock limit of a precision-driven run, e.g. 60s or 2m (default: 60s "
                           "with the default precision; none with --precision, which then stops after "
                           "11 looks).")(fn)
    fn = click.option("--precision", default=None, metavar="P|off",
                      help="Run until the 95% interval of every target metric is within ±P of its mean, "
                           "e.g. 5% or 0.05 (--replications: the first look). Default: 10% within 60 s "
                           "unless --replications is given; off: a fixed-size run of the scenario's "
                           "replications.")(fn)
    return fn


def parse_precision(text: str) -> float:
    """``"5%"`` or ``"0.05"`` → 0.05; a fraction in (0, 1], else :class:`InputError` naming --precision."""
    body = text.strip()
    percent = body.endswith("%")
    try:
        value = float(body[:-1] if percent else body) / (100.0 if percent else 1.0)
    except ValueError:
        value = math.nan
    if not 0.0 < value <= 1.0:  # NaN fails too
        raise InputError(f"--precision {quoted(text)}: expected a relative half-width above 0 and at most "
                         "100%, as a percentage (5%) or a fraction (0.05)")
    return value


def parse_max_time(text: str) -> float:
    """``"60s"``, ``"2m"``, ``"90"`` (seconds) → seconds; positive and finite, else :class:`InputError`."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        seconds = math.nan
    if not 0.0 < seconds < math.inf:
        raise InputError(f"--max-time {quoted(text)}: expected a positive wall-clock duration such as 60s, "
                         "2m or 1h (a number alone: seconds)")
    return seconds


def collect_overrides(overrides: tuple[str, ...], replications: int | None, horizon: str | None,
                      seed: int | None) -> list[str]:
    """Fold the shortcut options into --set overrides so they are validated like the file."""
    extra = []
    if replications is not None:
        extra.append(FlagOverride(f"scenario.replications={replications}", "--replications"))
    if horizon is not None:
        extra.append(FlagOverride(f"scenario.horizon={horizon}", "--horizon"))
    if seed is not None:
        extra.append(FlagOverride(f"scenario.seed={seed}", "--seed"))
    for item in overrides:
        if "=" not in item:
            raise InputError(f"--set {quoted(item)}: expected KEY=VALUE, e.g. --set tiers.payment.mttr=45m")
    return [*overrides, *extra]


def _nearest_folder(path: Path) -> Path:
    """``path`` if it exists, else its closest existing ancestor (the one a write would create in)."""
    here = path
    while not here.exists() and here != here.parent:
        here = here.parent
    return here


def _probe_folder(flag: str, shown: str, folder: Path) -> None:
    """Create and delete a file in ``folder``: the only test of writability that also holds for root,
    read-only file systems and full disks."""
    if not folder.is_dir():
        raise InputError(f"{flag} {shown}: {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise InputError(f"{flag} {shown}: cannot write in {folder}: {err.strerror or err}") from None


def check_output_file(flag: str, path: str | None) -> None:
    """Refuse, before anything is simulated, an output file that could not be written."""
    if path is None or path == "-":  # not asked, or standard output
        return
    if not path.strip():
        raise InputError(f"{flag}: an empty path; give a file name (or - for standard output)")
    shown = shorten(path, PATH_LIMIT)
    try:
        target = Path(path)
        if target.is_dir():
            raise InputError(f"{flag} {shown}: is a folder; give a file name")
        _probe_folder(flag, shown, _nearest_folder(target.absolute().parent))
    except OSError as err:  # a name too long for the file system, ...
        raise InputError(f"{flag} {shown}: cannot write: {err.strerror or err}") from None


def check_output_folder(flag: str, path: str | None) -> None:
    """Refuse, before anything is simulated, an output folder that could not be created or written."""
    if path is None:
        return
    if not path.strip():
        raise InputError(f"{flag}: an empty path; give a folder name")
    shown = shorten(path, PATH_LIMIT)
    try:
        target = Path(path)
        if target.exists() and not target.is_dir():
            raise InputError(f"{flag} {shown}: exists and is not a folder")
        _probe_folder(flag, shown, _nearest_folder(target.absolute()))
    except OSError as err:
        raise InputError(f"{flag} {shown}: cannot write: {err.strerror or err}") from None


def write_error(flag: str, path: object, err: OSError) -> InputError:
    """A write that failed after the work ran (disk full, folder removed): one line, exit 2."""
    return InputError(f"{flag} {shorten(str(path), PATH_LIMIT)}: cannot write: {err.strerror or err}")
