"""Calibration: failure, repair and traffic laws fitted to an incident log and request counts.

Layered above measurement (it uses scenario durations and random streams) and below the model:
it never simulates. :func:`fit` gives a :class:`FitResult` (FIT.json and a scenario fragment);
:func:`read_uncertainty` reads a FIT.json's sampling distributions for runs that draw the
parameters per replication.
"""

from sim.fit.incidents import FitInputError, IncidentLog, read_incidents
from sim.fit.output import FitResult, fit, fragment_text, merge_into
from sim.fit.traffic import TrafficFit, read_counts
from sim.fit.uncertainty import ParameterUncertainty, read_uncertainty, uncertainty_from_dict

__all__ = [
    "FitInputError",
    "FitResult",
    "IncidentLog",
    "ParameterUncertainty",
    "TrafficFit",
    "fit",
    "fragment_text",
    "merge_into",
    "read_counts",
    "read_incidents",
    "read_uncertainty",
    "uncertainty_from_dict",
]
