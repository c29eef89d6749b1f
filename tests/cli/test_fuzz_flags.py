"""Fuzzing the command line: random flag sets for run, sweep, stress and validate through click's
CliRunner, with short horizons. Every command exits 0 or 2; on 2 the last line is one error that
names a flag, a file or the scenario; a run's metrics stay in their physical range. The quick loop
tries a few dozen flag sets; the slow suite several hundred (derandomized, so CI repeats them).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli import cli
from tests.scenario.test_fuzz_scenarios import SETTINGS, bounded, check_replication  # noqa: F401 (bounded: a fixture used by name)

KEYS = ["traffic.arrival_rate", "tiers.web.replicas", "tiers.payment.mttr", "tiers.web.mtbf",
        "tiers.web.service_time", "customer.max_attempts", "customer.backoff_multiplier",
        "customer.retry_backoff", "customer.patience", "scenario.warmup", "costs.order_value",
        "traffic.spikes", "traffic.daily_profile", "tiers.nope.replicas", "nope", "tiers.web", "a..b", ""]
VALUES = ["1", "0", "-1", "2.5", "1e308", "inf", "nan", "1e-310", "2**64", str(2**64), "5m", "1ms", "10x",
          '"3"', "true", "[1, 2]", "[" * 1500 + "]" * 1500, '{dist="weibull",mean="1s",shape=0.001}',
          '{dist="lognormal",mean="1s",cv=1e200}', '[{start="1m",duration="1m",multiplier=1e308}]',
          "[" + ", ".join(["1"] * 24) + "]", "x" * 5000, ""]
HORIZONS = ["30s", "1m", "2m", "0s", "-1m", "1e15s", "soon", "", "inf"]
SEEDS = ["0", "1", "7", str(2**53 + 1), str(2**64 + 5), "-1", "x"]
REPLICATIONS = ["2", "3", "1", "0", "-2", "100001", "two"]


def maybe(option: str, values: list[str]) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), st.sampled_from(values).map(lambda v: [option, v]))


def pick(draw: st.DrawFn, sane: bool, valid: list[str], invalid: list[str]) -> str:
    """A valid value, or (outside the sane flag sets) sometimes an invalid one."""
    return draw(st.sampled_from(valid if sane else valid + invalid))


SANE_SETS = ["traffic.arrival_rate=0.5", "tiers.web.replicas=3", "tiers.payment.mttr=5m", "tiers.web.mtbf=2m",
             "customer.max_attempts=4", 'customer.backoff_policy="decorrelated-jitter"',
             "costs.order_value=1e9",
             'tiers.web.service_time={dist="weibull",mean="200ms",shape=0.1}',
             'tiers.payment.service_time={dist="lognormal",mean="400ms",cv=100}', "scenario.warmup=10s",
             'traffic.spikes=[{start="10s",duration="10s",multiplier=50}]',
             "customer.backoff_multiplier=1e300"]


@st.composite
def sets(draw: st.DrawFn, sane: bool) -> list[str]:
    if sane:
        chosen = draw(st.lists(st.sampled_from(SANE_SETS), max_size=3, unique=True))
    else:
        pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES)), max_size=2))
        chosen = [f"{k}={v}" for k, v in pairs]
    return [a for c in chosen for a in ("--set", c)]


@st.composite
def run_flags(draw: st.DrawFn, out: str) -> list[str]:
    sane = draw(st.booleans())
    args = ["run", pick(draw, sane, ["baseline", "multi-zone", "active-passive", "single-instance"],
                        ["nope", "scenarios/", "", "retry-storm"])]
    args += [*draw(sets(sane)), "--horizon", pick(draw, sane, ["30s", "1m", "2m"], HORIZONS)]
    args += draw(maybe("--seed", SEEDS[:4] if sane else SEEDS))
    args += draw(maybe("--redundancy", ["1", "3"] if sane else ["1", "3", "0", "1001"]))
    args += ["--replications", pick(draw, sane, ["2", "3", "1"], REPLICATIONS)]
    args += ["--workers", pick(draw, sane, ["1", "1", "1", "64"], ["0"])]
    args += draw(maybe("--json", [f"{out}/r.json", f"{out}/new/dir/r.json"] if sane else
                       [f"{out}/r.json", "", out, f"{out}/plain/x.json"]))
    return args


@st.composite
def sweep_flags(draw: st.DrawFn, out: str) -> list[str]:
    sane = draw(st.booleans())
    args = ["sweep", "baseline", "--horizon", pick(draw, sane, ["30s", "1m"], HORIZONS), "--workers", "1"]
    args += ["--grid", pick(draw, sane, ["tiers.web.replicas=1,2", "traffic.arrival_rate=0.5,1",
                                         "tiers.payment.mttr=1m,5m"],
                            ["tiers.web.replicas=0,1", "nope=1,2", "tiers.web.replicas=", "=1",
                             "tiers.web.mttr=" + "[" * 1500 + "]" * 1500, "traffic.arrival_rate=1e308,1"])]
    if not sane:
        args += draw(maybe("--range", ["tiers.payment.mttr=5m:60m:2", "x=1:2:3", "tiers.web.mttr=1:2"]))
        args += draw(maybe("--lhs", ["traffic.arrival_rate=1:2"])) + draw(maybe("--samples", ["2", "0"]))
    args += ["--replications", pick(draw, sane, ["2"], ["0", "-2", "two", "100001"])]
    args += draw(maybe("--seed", SEEDS[:4] if sane else SEEDS)) + draw(sets(sane))
    args += ["--out", pick(draw, sane, [f"{out}/sweep"], [f"{out}/plain", f"{out}/plain/sub", ""])]
    return args


@st.composite
def stress_flags(draw: st.DrawFn, out: str) -> list[str]:
    # objectives that fail at once keep the bisection short (it only lowers the rate)
    sane = draw(st.booleans())
    args = ["stress", "baseline", "--horizon", pick(draw, sane, ["30s"], ["-1m", "x", "1e15s"]),
            "--replications", pick(draw, sane, ["2"], ["1", "0"]), "--workers", "1", "--healthy-only",
            "--precision", pick(draw, sane, ["0.5"], ["0.0001", "2"])]
    args += ["--objective", pick(draw, sane, ["latency_p95_s<0.001"], ["nope<1", "lost_fraction<", "<<"])]
    args += draw(maybe("--json", [f"{out}/s.json"] if sane else [f"{out}/s.json", "", f"{out}/plain/s.json",
                                                                 out]))
    return args + draw(sets(sane))


@st.composite
def validate_flags(draw: st.DrawFn) -> list[str]:
    # invalid selections only: a valid check simulates for a while
    args = ["validate", "--only", draw(st.sampled_from(["nope", "", "x" * 500]))]
    args += draw(maybe("--replications", ["1", "0", "x"])) + draw(maybe("--scale", ["0", "-1", "x", "0.5"]))
    return args


def flag_sets(out: str) -> st.SearchStrategy[list[str]]:
    return st.one_of(run_flags(out), run_flags(out), sweep_flags(out), stress_flags(out), validate_flags())


OUT = "{out}"  # replaced by each example's own folder


def check(args: list[str], tmp: Path) -> None:
    args = [a.replace(OUT, str(tmp)) for a in args]
    (tmp / "plain").write_text("")
    result = CliRunner().invoke(cli, args)
    shown = " ".join(a[:40] for a in args)
    assert result.exit_code in (0, 2), f"{shown}\n{result.output[-2000:]}\n{result.exception!r}"
    assert "Traceback" not in result.output, shown
    if result.exit_code == 2:
        line = result.output.strip().splitlines()[-1]
        assert line.startswith("Error: ") and len(line) <= 1100, f"{shown}: {line[:300]}"
        return
    if args[0] == "run" and "--json" in args and (tmp / "r.json").is_file():
        for replication in json.loads((tmp / "r.json").read_text())["per_replication"]:
            check_replication(replication, shown)
    for name in ("s.json",):
        if (tmp / name).is_file():
            data = json.loads((tmp / name).read_text())
            assert all(not isinstance(v, float) or math.isfinite(v) for v in _numbers(data)), shown


def _numbers(obj: object):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, int | float):
        yield obj


@pytest.mark.usefixtures("bounded")
@pytest.mark.timeout(120)
@settings(max_examples=50, **SETTINGS)
@given(args=flag_sets(OUT))
def test_fuzz_flags_quick(args: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    check(args, tmp_path_factory.mktemp("flags"))


@pytest.mark.slow
@pytest.mark.usefixtures("bounded")
@pytest.mark.timeout(300)
@settings(max_examples=320, **SETTINGS)
@given(args=flag_sets(OUT))
def test_fuzz_flags(args: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    check(args, tmp_path_factory.mktemp("flags"))
