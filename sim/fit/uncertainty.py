"""Parameter uncertainty: the fitted laws' sampling distributions, and draws of laws from them.

A FIT.json written by ``sim fit`` carries, for every fitted law, the distribution its parameters
could have come from given the data:

* exponential (``gamma-rate``): the failure rate from Gamma(k + 1/2, exposure T), the Jeffreys
  posterior of a Poisson rate (defined with no failure seen, and close to the chi-square interval);
* Weibull and lognormal (``log-normal``): (log mean, log shape) from the normal approximation of
  the maximum-likelihood estimate (the inverse observed information).

A draw is a law of the same family; parameters are kept inside what a scenario accepts (a mean up
to 1e12 s, a Weibull shape from 0.1 to 100, a lognormal cv up to 100).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.fit.incidents import FitInputError
from sim.fit.laws import CV_MAX, KINDS, SHAPE_RANGE, lognormal_cv
from sim.random.distributions import Distribution, Exponential, LogNormal, Weibull
from sim.scenario.errors import quoted, shorten

MAX_MEAN_S = 1e12  # the longest duration a scenario accepts


@dataclass(frozen=True)
class UncertainLaw:
    """One fitted law (``tier``'s ``kind``, "mtbf" or "mttr") and its parameters' sampling distribution."""

    tier: str
    kind: str
    family: str
    sampling: dict

    @property
    def stream(self) -> str:
        """Name of the random stream its draws come from (one per law)."""
        return f"parameters/{self.tier}/{self.kind}"

    def draw(self, rng: np.random.Generator) -> Distribution:
        """One law drawn from the sampling distribution."""
        if self.sampling["kind"] == "gamma-rate":
            rate = rng.gamma(self.sampling["events"] + 0.5, 1.0 / self.sampling["exposure_s"])
            return Exponential(min(MAX_MEAN_S, 1.0 / rate) if rate > 0 else MAX_MEAN_S)
        log_mean, log_shape = rng.multivariate_normal(self.sampling["center"], self.sampling["covariance"])
        mean = min(MAX_MEAN_S, math.exp(min(log_mean, 700.0)))
        shape = math.exp(min(log_shape, 700.0))
        if self.family == "weibull":
            return Weibull(mean, min(max(shape, SHAPE_RANGE[0]), SHAPE_RANGE[1]))
        return LogNormal(mean, min(max(lognormal_cv(min(shape, 4.0)), 1e-6), CV_MAX))  # σ 4: cv 2980


@dataclass(frozen=True)
class ParameterUncertainty:
    """Every fitted law whose parameters are drawn per replication, and the file they came from."""

    source: str
    laws: tuple[UncertainLaw, ...]

    def tiers(self) -> list[str]:
        return sorted({law.tier for law in self.laws})


def uncertainty_from_dict(data: object, source: str = "<fit>") -> ParameterUncertainty:
    """The sampling distributions in a FIT.json document; errors name ``source`` and the key."""
    where = shorten(source, 300)
    if not isinstance(data, dict) or not isinstance(data.get("tiers"), dict):
        raise FitInputError(f"{where}: tiers: missing; expected the FIT.json that `sim fit --json` writes")
    laws = []
    for tier in sorted(data["tiers"]):
        kinds = data["tiers"][tier]
        if not isinstance(kinds, dict):
            raise FitInputError(f"{where}: tiers.{shorten(str(tier))}: expected a table of mtbf and mttr")
        for kind in KINDS:
            law = kinds.get(kind)
            if law is None:
                continue
            laws.append(_law(tier, kind, law, where))
    if not laws:
        raise FitInputError(f"{where}: no fitted law to draw from")
    return ParameterUncertainty(where, tuple(laws))


def _law(tier: str, kind: str, law: object, where: str) -> UncertainLaw:
    key = f"tiers.{shorten(str(tier))}.{kind}"
    sampling = law.get("sampling") if isinstance(law, dict) else None
    family = law.get("dist") if isinstance(law, dict) else None
    if not isinstance(sampling, dict) or family not in ("exponential", "weibull", "lognormal"):
        raise FitInputError(f"{where}: {key}: expected a fitted law with dist and sampling")
    try:
        if sampling.get("kind") == "gamma-rate" and family == "exponential":
            events, exposure = int(sampling["events"]), float(sampling["exposure_s"])
            if events < 0 or not exposure > 0 or not math.isfinite(exposure):
                raise ValueError
            return UncertainLaw(tier, kind, family,
                                {"kind": "gamma-rate", "events": events, "exposure_s": exposure})
        if sampling.get("kind") == "log-normal" and family != "exponential":
            center = np.asarray(sampling["center"], dtype=float)
            cov = sampling.get("covariance")
            if cov is None:
                raise FitInputError(f"{where}: {key}.sampling.covariance: the fit's information matrix was "
                                    "not positive definite; its parameters cannot be drawn")
            cov = np.asarray(cov, dtype=float)
            if center.shape != (2,) or cov.shape != (2, 2) or not np.all(np.isfinite(cov)) \
                    or np.any(np.linalg.eigvalsh((cov + cov.T) / 2) < 0):
                raise ValueError
            return UncertainLaw(tier, kind, family, {"kind": "log-normal", "center": center.tolist(),
                                                     "covariance": cov.tolist()})
    except (KeyError, TypeError, ValueError):
        pass
    raise FitInputError(f"{where}: {key}.sampling = {quoted(sampling)}: not a sampling distribution "
                        "`sim fit` writes (gamma-rate for exponential, log-normal for weibull and lognormal)")


def read_uncertainty(path: str | Path) -> ParameterUncertainty:
    """The sampling distributions in the FIT.json at ``path``."""
    where = shorten(str(path), 300)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FitInputError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise FitInputError(f"{where}: not JSON ({shorten(str(exc))})") from None
    return uncertainty_from_dict(data, str(path))
