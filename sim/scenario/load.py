"""Loading scenarios: a file or a built-in by name, overrides applied, validated."""

from __future__ import annotations

import copy
import dataclasses
import importlib.resources
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from sim.scenario.errors import BUILTIN_SOURCE, NAME_PATTERN, ScenarioError, shorten
from sim.scenario.overrides import apply_overrides
from sim.scenario.spec import (
    Scenario,
)
from sim.scenario.validate import Validator

# ---------------------------------------------------------------------------------------------
# Public API.


def builtin_scenarios_dir() -> Path:
    """The built-in scenarios: ``sim/scenarios`` in an installed wheel, else the repo's ``scenarios/``."""
    try:
        packaged = importlib.resources.files("sim") / "scenarios"
    except (ModuleNotFoundError, TypeError):
        packaged = None
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "scenarios"


def builtin_scenario_names() -> list[str]:
    """Names of the built-in scenarios (their file stems), sorted."""
    folder = builtin_scenarios_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def _locate(path_or_name: str | Path | None) -> tuple[Path, str]:
    """The file to read and the source to name in errors: an existing file, else a built-in."""
    given = "baseline" if path_or_name is None else path_or_name
    shown = shorten(str(given), 300)  # a path, echoed in errors
    try:
        if Path(given).is_file():
            return Path(given), str(given)
    except (OSError, ValueError):  # a name too long for a path, or with a NUL byte: not a file
        pass
    if _is_dir(given):
        inside = sorted(p.name for p in Path(given).glob("*.toml"))[:3]
        hint = f" (it holds {', '.join(inside)}{', ...' if len(inside) == 3 else ''})" if inside else ""
        raise ScenarioError(shown, "", f"is a directory; give one scenario file{hint} or a "
                            "built-in name")
    name = str(given).removesuffix(".toml")
    candidate = builtin_scenarios_dir() / f"{name}.toml"
    if NAME_PATTERN.match(name) and len(name) <= 200 and candidate.is_file():
        return candidate, BUILTIN_SOURCE
    names = ", ".join(builtin_scenario_names()) or "none"
    raise ScenarioError(shown, "", f"no such file or built-in scenario; built-ins: {names}")


def _is_dir(given: str | Path) -> bool:
    try:
        return Path(given).is_dir()
    except (OSError, ValueError):
        return False


def load_scenario(path_or_name: str | Path | None = None,
                  overrides: Sequence[str] | Mapping[str, object] = (),
                  redundancy: int | None = None) -> Scenario:
    """Read a scenario file (or a built-in by name; None: "baseline"), apply overrides, validate.

    ``overrides``: "KEY=VALUE" strings (VALUE read as a TOML value if it is one, else as a string)
    or a mapping {dotted key: value} (values used as given). ``redundancy`` sets ``replicas`` on
    every tier in ``path.tiers`` before the other overrides. Raises :class:`ScenarioError`.
    """
    path, source = _locate(path_or_name)
    shown = f"{path.stem} (built-in)" if source == BUILTIN_SOURCE else source  # errors name the built-in
    raw = read_toml(path, shown)
    changed = apply_overrides(raw, overrides, redundancy, shown)
    scenario = Validator(raw, shown, path.stem, changed).scenario()
    return scenario if shown == source else dataclasses.replace(scenario, source=source)


MAX_FILE_BYTES = 1 << 20  # a scenario or sweep file is a few KB; refuse more than 1 MB unread
MAX_KEY_PARTS = 32  # dotted parts of one key (deeper nesting costs the TOML parser quadratic memory)
_KEY_LINE = re.compile(r"^[ \t]*\[{0,2}[ \t]*([A-Za-z0-9_\-.\"' \t]+?)[ \t]*(?:\]|=)")


def _check_shape(data: bytes, source: str, error: type[ScenarioError]) -> None:
    """Refuse, before parsing, a file whose size or key nesting would exhaust memory or the stack."""
    if len(data) > MAX_FILE_BYTES:
        raise error(source, "", f"larger than {MAX_FILE_BYTES:,} bytes, the limit of a scenario or sweep "
                    "file")
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        match = _KEY_LINE.match(line) if line.count(".") > MAX_KEY_PARTS else None
        if match and match.group(1).count(".") >= MAX_KEY_PARTS:
            raise error(source, "", f"line {number}: a key with more than {MAX_KEY_PARTS} dotted parts "
                        f"({shorten(match.group(1).strip())}); keys nest a few levels deep")


def read_toml(path: Path, source: str, error: type[ScenarioError] = ScenarioError,
              what: str = "the file") -> dict:
    """The TOML file at ``path`` as a dict; unreadable, invalid, too big or too deeply nested files raise
    ``error`` naming ``source``."""
    try:
        if path.is_dir():
            raise error(source, "", f"is a directory, not {what}")
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        _check_shape(data, source, error)
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise error(source, "", f"invalid TOML: {shorten(str(err), 200)}") from None
    except RecursionError:
        raise error(source, "", "invalid TOML: arrays or tables nested too deeply") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or err
        raise error(source, "", f"cannot read {what}: {shorten(str(reason), 200)}") from None


def scenario_from_dict(raw: dict, source: str = "<dict>") -> Scenario:
    """Validate a TOML-shaped dict exactly like a file (``raw`` itself is not modified)."""
    if not isinstance(raw, dict):
        raise ScenarioError(source, "", "a scenario must be a table of sections")
    default_name = "scenario" if source.startswith("<") else Path(source).stem
    try:
        copied = copy.deepcopy(raw)
    except RecursionError:
        raise ScenarioError(source, "", "values nested too deeply") from None
    return Validator(copied, source, default_name, {}).scenario()

