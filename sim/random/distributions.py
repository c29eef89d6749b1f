"""Distributions of durations (service, failure, repair, backoff, patience, return times).

Each distribution is a small frozen object that draws vectors from a ``numpy.random.Generator``
(draws are taken in blocks, see :mod:`sim.random.streams`) and knows its analytic mean and variance,
so tests can compare draws with theory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class Exponential:
    """Memoryless durations with the given mean (seconds)."""

    mean: float

    @property
    def variance(self) -> float:
        return self.mean**2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean, size)

    def to_dict(self) -> dict:
        return {"dist": "exponential", "mean": self.mean}


@dataclass(frozen=True)
class Deterministic:
    """Always the same duration (seconds); ``inf`` means "never"."""

    value: float

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        # Consume the same amount of randomness as the other distributions would not: a
        # deterministic stream needs none, and drawing nothing keeps it cheap.
        return np.full(size, self.value)

    def to_dict(self) -> dict:
        return {"dist": "deterministic", "value": _json_float(self.value)}


@dataclass(frozen=True)
class LogNormal:
    """Right-skewed durations given by their mean and coefficient of variation (std/mean)."""

    mean: float
    cv: float

    @property
    def variance(self) -> float:
        return (self.cv * self.mean) ** 2

    def _params(self) -> tuple[float, float]:
        sigma2 = math.log1p(self.cv**2)
        return math.log(self.mean) - sigma2 / 2.0, math.sqrt(sigma2)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        mu, sigma = self._params()
        return rng.lognormal(mu, sigma, size)

    def to_dict(self) -> dict:
        return {"dist": "lognormal", "mean": self.mean, "cv": self.cv}


@dataclass(frozen=True)
class Weibull:
    """Weibull durations given by mean and shape k (k > 1: wear-out, k < 1: infant mortality)."""

    mean: float
    shape: float

    @property
    def scale(self) -> float:
        return self.mean / special.gamma(1.0 + 1.0 / self.shape)

    @property
    def variance(self) -> float:
        k = self.shape
        return self.scale**2 * (special.gamma(1.0 + 2.0 / k) - special.gamma(1.0 + 1.0 / k) ** 2)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, size)

    def to_dict(self) -> dict:
        return {"dist": "weibull", "mean": self.mean, "shape": self.shape}


@dataclass(frozen=True)
class Uniform:
    """Durations spread evenly between ``low`` and ``high`` seconds."""

    low: float
    high: float

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2.0

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    def to_dict(self) -> dict:
        return {"dist": "uniform", "low": self.low, "high": self.high}


Distribution = Exponential | Deterministic | LogNormal | Weibull | Uniform

#: Names accepted in scenario files, with the parameters each one takes.
DISTRIBUTION_PARAMETERS: dict[str, tuple[str, ...]] = {
    "exponential": ("mean",),
    "deterministic": ("value",),
    "lognormal": ("mean", "cv"),
    "weibull": ("mean", "shape"),
    "uniform": ("low", "high"),
}


def is_never(dist: Distribution | None) -> bool:
    """True for a duration that never elapses (an MTBF of ``inf``)."""
    return dist is None or math.isinf(dist.mean)


def _json_float(x: float) -> float | str:
    return "inf" if math.isinf(x) else x
