"""The input boundary holds against hostile or absurd files and values: one-line errors naming the
file and key, no traceback, no unbounded memory, and echoed text kept short."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.random.distributions import LogNormal, Weibull
from sim.scenario import ScenarioError, load_scenario, parse_toml_value, scenario_from_dict
from sim.scenario.errors import ECHO_LIMIT, LINE_LIMIT, show_value
from sim.scenario.load import MAX_FILE_BYTES, MAX_KEY_PARTS
from sim.scenario.overrides import FlagOverride

BASE = """
[traffic]
arrival_rate = 1.0
[path]
tiers = ["web"]
[tiers.web]
service_time = "100ms"
"""


def _file(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(path_or_name: object, overrides: object = ()) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path_or_name, overrides)  # type: ignore[arg-type]
    text = str(info.value)
    assert "\n" not in text and len(text) <= LINE_LIMIT
    return text


# --- nesting, size and echoes ---------------------------------------------------------------

def test_deeply_nested_arrays_in_a_file(tmp_path: Path) -> None:
    path = _file(tmp_path, BASE + "[scenario]\ndescription = " + "[" * 5000 + "]" * 5000 + "\n")
    assert _error(path) == f"{path}: invalid TOML: arrays or tables nested too deeply"


def test_deeply_nested_override_value_is_a_string_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    assert parse_toml_value(deep) == deep
    text = _error(_file(tmp_path, BASE), [f"traffic.arrival_rate={deep}"])
    assert text.startswith('--set: traffic.arrival_rate = "[[[[') and "must be a number > 0" in text


def test_nested_but_parseable_value_is_echoed_short(tmp_path: Path) -> None:
    nested = "[" * 300 + "]" * 300
    text = _error(_file(tmp_path, BASE), [f"traffic.arrival_rate={nested}"])
    assert "must be a number > 0" in text and len(text) < 300


def test_a_key_with_many_dotted_parts_is_refused_before_parsing(tmp_path: Path) -> None:
    # the TOML parser needs memory quadratic in the parts: 100,000 parts would take ~20 GB
    path = _file(tmp_path, BASE + "a." * 100_000 + "b = 1\n")
    text = _error(path)
    assert text.startswith(f"{path}: line 8: a key with more than {MAX_KEY_PARTS} dotted parts (a.a.a.")
    assert text.endswith("...); keys nest a few levels deep")


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = _file(tmp_path, BASE + "# " + "x" * MAX_FILE_BYTES + "\n")
    assert _error(path) == f"{path}: larger than {MAX_FILE_BYTES:,} bytes, the limit of a scenario or " \
        "sweep file"


@pytest.mark.parametrize("where", ["[traffic]\n{key} = 1", "[tiers.{key}]\nreplicas = 1"])
def test_a_huge_unknown_key_is_echoed_short(tmp_path: Path, where: str) -> None:
    key = "k" * 500_000
    text = BASE.replace("[traffic]\n", "") + where.format(key=key) + "\narrival_rate = 1.0\n"
    assert len(_error(_file(tmp_path, text))) < 600


def test_a_huge_value_is_echoed_short(tmp_path: Path) -> None:
    text = _error(_file(tmp_path, BASE), {"traffic.arrival_rate": "x" * 10_000_000})
    assert text.startswith('--set: traffic.arrival_rate = "xxx') and len(text) < 300


def test_a_huge_name_for_a_scenario_is_echoed_short() -> None:
    assert len(_error("n" * 100_000)) < 700  # the name cut to 300 characters, then the built-ins


def test_show_value_renders_only_what_fits() -> None:
    assert show_value("y" * 10**6) == '"' + "y" * (ECHO_LIMIT - 4) + "..."
    assert show_value(10**5000) == "(a huge integer)"
    assert show_value([[[[[[[[1]]]]]]]]) == "[[[[[...]]]]]"


# --- bounds in the schema -------------------------------------------------------------------

@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("tiers.web.replicas", 10**9, "must be an integer >= 1, at most 1,000"),
    ("scenario.replications", 10**12, "must be an integer >= 2, at most 100,000"),
    ("customer.max_attempts", 10**6, "must be an integer >= 1, at most 1,000"),
    ("scenario.seed", 2**64, "must be an integer >= 0, at most 18,446,744,073,709,551,615"),
    ("costs.order_value", 1e300, "must be a number from 0 to 1e+12"),
    ("tiers.web.replica_cost_per_hour", 1e300, "must be a number from 0 to 1e+12"),
    ("tiers.web.service_time", {"dist": "weibull", "mean": "200ms", "shape": 0.001},
     "must be a number from 0.1 to 100"),
    ("tiers.web.mtbf", {"dist": "weibull", "mean": "8h", "shape": 1e-6}, "must be a number from 0.1 to 100"),
    ("tiers.web.service_time", {"dist": "lognormal", "mean": "200ms", "cv": 1e200},
     "must be a number from 0 to 100, excluding 0"),
    ("tiers.web.mttr", 1e300, "must be a positive duration"),
    ("scenario.warmup", 1e300, "at most 1e+12 s"),
    ("scenario.horizon", "1e30d", "at most 1e+12 s"),
    ("traffic.arrival_rate", 10**400, "must be a number > 0"),
    ("tiers.web.mttr", 10**400, "positive duration"),
])
def test_bounds(tmp_path: Path, key: str, value: object, allowed: str) -> None:
    text = _error(_file(tmp_path, BASE), {key: value})
    assert text.startswith(f"--set: {key}") and allowed in text


def test_distributions_at_the_bounds_draw_finite_values() -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    for dist in (Weibull(0.2, 0.1), Weibull(0.2, 100.0), LogNormal(0.2, 100.0), LogNormal(1e12, 100.0)):
        draws = dist.sample(rng, 10_000)
        assert np.isfinite(draws).all() and (draws >= 0).all()
        assert math.isfinite(dist.variance)


def test_a_seed_above_2_to_the_53_is_kept_exact(tmp_path: Path) -> None:
    seed = 2**60 + 1  # a float would round it to 2**60
    path = _file(tmp_path, BASE + f"[scenario]\nseed = {seed}\n")
    assert load_scenario(path).seed == seed
    assert load_scenario(_file(tmp_path, BASE, "b.toml"), [f"scenario.seed={seed}"]).seed == seed


def test_deep_python_values_are_refused() -> None:
    value: list = []
    for _ in range(5000):
        value = [value]
    raw = {"traffic": {"arrival_rate": value}, "path": {"tiers": ["web"]},
           "tiers": {"web": {"service_time": "1s"}}}
    with pytest.raises(ScenarioError, match="nested too deeply"):
        scenario_from_dict(raw)


# --- overrides and shortcut options ---------------------------------------------------------

def test_a_shortcut_option_is_blamed_by_its_name(tmp_path: Path) -> None:
    path = _file(tmp_path, BASE)
    assert _error(path, [FlagOverride("scenario.horizon=soon", "--horizon")]).startswith(
        '--horizon: scenario.horizon = "soon": must be a positive duration')
    assert _error(path, [FlagOverride("scenario.seed=-1", "--seed")]).startswith("--seed: scenario.seed = -1")


def test_an_override_does_not_hide_an_invalid_file_value(tmp_path: Path) -> None:
    path = _file(tmp_path, BASE + "[scenario]\nreplications = -1\n")
    for override in (FlagOverride("scenario.replications=5", "--replications"), "scenario.replications=5"):
        assert _error(path, [override]) == \
            f"{path}: scenario.replications = -1: must be an integer >= 2, at most 100,000"


def test_redundancy_does_not_hide_an_invalid_file_value(tmp_path: Path) -> None:
    path = _file(tmp_path, BASE.replace("[tiers.web]\n", "[tiers.web]\nreplicas = 0\n"))
    with pytest.raises(ScenarioError, match=r"s\.toml: tiers\.web\.replicas = 0: must be an integer >= 1"):
        load_scenario(path, redundancy=2)


def test_a_later_option_does_not_hide_an_invalid_earlier_one(tmp_path: Path) -> None:
    path = _file(tmp_path, BASE)
    assert _error(path, ["scenario.seed=-1", FlagOverride("scenario.seed=3", "--seed")]).startswith(
        "--set: scenario.seed = -1")
    assert load_scenario(path, ["scenario.seed=2", FlagOverride("scenario.seed=3", "--seed")]).seed == 3


def test_line_breaks_of_any_kind_are_escaped_in_errors(tmp_path: Path) -> None:
    # found by the fuzzer: U+0085 (NEL) is a line break to str.splitlines and to terminals
    for text in ("\x85", "a\u2028b", "x\ny", "\r"):
        line = _error(_file(tmp_path, BASE), {"costs.order_value": text})
        assert len(line.splitlines()) == 1 and line.endswith("must be a number from 0 to 1e+12")
