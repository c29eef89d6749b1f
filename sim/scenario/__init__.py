"""Scenario files: TOML in, a validated and fully resolved :class:`~sim.scenario.spec.Scenario` out.

The public names are re-exported here; each lives in the module that has its one job.
"""

from sim.scenario.convert import describe, scenario_hash, scenario_to_dict
from sim.scenario.errors import BUILTIN_SOURCE, REDUNDANCY_SOURCE, SET_SOURCE, ScenarioError
from sim.scenario.load import (
    builtin_scenario_names,
    builtin_scenarios_dir,
    load_scenario,
    read_toml,
    scenario_from_dict,
)
from sim.scenario.overrides import parse_toml_value

__all__ = [
    "BUILTIN_SOURCE",
    "REDUNDANCY_SOURCE",
    "SET_SOURCE",
    "ScenarioError",
    "builtin_scenario_names",
    "builtin_scenarios_dir",
    "describe",
    "load_scenario",
    "parse_toml_value",
    "read_toml",
    "scenario_from_dict",
    "scenario_hash",
    "scenario_to_dict",
]
