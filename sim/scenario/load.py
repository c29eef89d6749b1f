"""Loading scenarios: a file or a built-in by name, overrides applied, validated."""

from __future__ import annotations

import copy
import importlib.resources
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from sim.scenario.errors import BUILTIN_SOURCE, NAME_PATTERN, ScenarioError
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
    if Path(given).is_file():
        return Path(given), str(given)
    name = str(given).removesuffix(".toml")
    candidate = builtin_scenarios_dir() / f"{name}.toml"
    if NAME_PATTERN.match(name) and candidate.is_file():
        return candidate, BUILTIN_SOURCE
    names = ", ".join(builtin_scenario_names()) or "none"
    raise ScenarioError(str(given), "", f"no such file or built-in scenario; built-ins: {names}")


def load_scenario(path_or_name: str | Path | None = None,
                  overrides: Sequence[str] | Mapping[str, object] = (),
                  redundancy: int | None = None) -> Scenario:
    """Read a scenario file (or a built-in by name; None: "baseline"), apply overrides, validate.

    ``overrides``: "KEY=VALUE" strings (VALUE read as a TOML value if it is one, else as a string)
    or a mapping {dotted key: value} (values used as given). ``redundancy`` sets ``replicas`` on
    every tier in ``path.tiers`` before the other overrides. Raises :class:`ScenarioError`.
    """
    path, source = _locate(path_or_name)
    raw = read_toml(path, source)
    changed = apply_overrides(raw, overrides, redundancy)
    return Validator(raw, source, path.stem, changed).scenario()


def read_toml(path: Path, source: str, error: type[ScenarioError] = ScenarioError,
              what: str = "the file") -> dict:
    """The TOML file at ``path`` as a dict; unreadable or invalid files raise ``error`` naming ``source``."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise error(source, "", f"invalid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or err
        raise error(source, "", f"cannot read {what}: {reason}") from None


def scenario_from_dict(raw: dict, source: str = "<dict>") -> Scenario:
    """Validate a TOML-shaped dict exactly like a file (``raw`` itself is not modified)."""
    if not isinstance(raw, dict):
        raise ScenarioError(source, "", "a scenario must be a table of sections")
    default_name = "scenario" if source.startswith("<") else Path(source).stem
    return Validator(copy.deepcopy(raw), source, default_name, {}).scenario()

