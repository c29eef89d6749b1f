"""Failure and repair laws fitted to censored durations by maximum likelihood (scipy.stats).

Three families are fitted to the same observations, each with scipy's censored-data fit
(``scipy.stats.<family>.fit(scipy.stats.CensoredData(...), floc=0)``): exponential, Weibull and
lognormal. Each gets its AIC (2·parameters − 2·log-likelihood); the choice is by the small-sample
corrected AICc = AIC + 2p(p+1)/(n − p − 1) with n the failures seen (Hurvich & Tsai 1989), which
equals AIC for large samples but keeps a handful of failures from being read as a shape; a family
needs n > p + 1 to be compared (with fewer, the exponential law is the only candidate). On a tie
the simpler family wins. Intervals are 95%:

* exponential: the exact chi-square interval of the mean for a time-censored sample,
  [2T/χ²(0.975; 2k+2), 2T/χ²(0.025; 2k)] with k failures in exposure T (conservative; with no
  failure the upper end is unbounded and the point value is the median-unbiased T/ln 2);
* Weibull and lognormal: the delta method on the log scale, (log mean, log shape) for Weibull and
  (log mean, log σ) for lognormal, with the observed information (a numerical Hessian of the
  censored log-likelihood, built from scipy's ``logpdf`` and ``logsf``); the same normal
  approximation is the parameters' sampling distribution for ``--parameter-uncertainty``.

Goodness of fit: the largest distance between the Kaplan–Meier curve (``scipy.stats.ecdf`` on the
censored data) and the fitted CDF, with a parametric-bootstrap p-value: every observation redrawn
from the fitted law and censored where the window would have closed on it, the family refitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

from sim.fit.incidents import Observations

#: what a fit gives per tier: time between failures and time to repair
KINDS = ("mtbf", "mttr")

FAMILIES = ("exponential", "weibull", "lognormal")  # in order of simplicity (ties go to the first)
N_PARAMETERS = {"exponential": 1, "weibull": 2, "lognormal": 2}
MIN_EVENTS_TWO_PARAMETERS = 4  # AICc needs n > p + 1 seen durations
SHAPE_RANGE = (0.1, 100.0)  # what a scenario accepts for a Weibull shape
CV_MAX = 100.0  # and for a lognormal cv
Z95 = float(stats.norm.ppf(0.975))
HESSIAN_STEP = 1e-3  # on the log scale


@dataclass(frozen=True)
class FamilyFit:
    """One family's maximum-likelihood fit: the mean, the shape parameter (Weibull shape or
    lognormal σ; None for exponential) and the log-likelihood."""

    family: str
    mean_s: float
    shape: float | None
    log_likelihood: float

    @property
    def aic(self) -> float:
        return 2 * N_PARAMETERS[self.family] - 2 * self.log_likelihood

    def aicc(self, n_events: int) -> float:
        """AIC corrected for a small sample of ``n_events`` failures (inf when n ≤ p + 1)."""
        p = N_PARAMETERS[self.family]
        return self.aic + 2 * p * (p + 1) / (n_events - p - 1) if n_events > p + 1 else math.inf

    def frozen(self) -> stats.rv_continuous:
        return frozen_law(self.family, self.mean_s, self.shape)


@dataclass(frozen=True)
class LawFit:
    """The chosen law for one kind of duration of one tier, with its uncertainty and checks."""

    dist: str
    mean_s: float
    mean_ci_s: tuple[float, float]
    parameters: dict[str, float]  # the scenario's parameters: {} / {"shape": k} / {"cv": c}
    parameter_ci: dict[str, tuple[float, float]]
    interval: str  # how mean_ci_s was computed
    n_events: int
    n_censored: int
    exposure_s: float
    aic: dict[str, float | None]  # per family; None when the family could not be fitted
    aicc: dict[str, float | None]  # the same, corrected for small samples: the choice is by this
    gof: dict | None  # {"statistic", "distance", "p_value", "resamples"}; None with no event
    sampling: dict = field(default_factory=dict)  # the parameters' sampling distribution

    def to_dict(self) -> dict:
        """The FIT.json form of this law."""
        return {"dist": self.dist, **self.parameters, "mean_s": self.mean_s,
                "mean_ci_s": list(self.mean_ci_s),
                "n_events": self.n_events, "n_censored": self.n_censored, "exposure_s": self.exposure_s,
                "aic": dict(self.aic), "aicc": dict(self.aicc),
                "parameter_ci": {k: list(v) for k, v in self.parameter_ci.items()},
                "interval": self.interval, "gof": self.gof, "sampling": self.sampling}


def frozen_law(family: str, mean_s: float, shape: float | None) -> stats.rv_continuous:
    """scipy's frozen distribution of a family given by its mean and shape (Weibull k or lognormal σ)."""
    if family == "exponential":
        return stats.expon(scale=mean_s)
    if family == "weibull":
        return stats.weibull_min(shape, scale=mean_s / special.gamma(1.0 + 1.0 / shape))
    return stats.lognorm(shape, scale=mean_s * math.exp(-shape * shape / 2.0))


def lognormal_cv(sigma: float) -> float:
    """The coefficient of variation of a lognormal with log-scale standard deviation σ."""
    return math.sqrt(math.expm1(sigma * sigma))


def log_likelihood(family: str, mean_s: float, shape: float | None, obs: Observations) -> float:
    """The censored log-likelihood: log densities of the events plus log survivals of the censored."""
    law = frozen_law(family, mean_s, shape)
    return float(np.sum(law.logpdf(np.asarray(obs.events))) + np.sum(law.logsf(np.asarray(obs.censored))))


def fit_family(family: str, obs: Observations) -> FamilyFit | None:
    """The maximum-likelihood fit of ``family`` (None when the data cannot determine it)."""
    k = len(obs.events)
    if k == 0 or (N_PARAMETERS[family] == 2 and k < MIN_EVENTS_TWO_PARAMETERS):
        return None
    unit = float(np.median(obs.events))  # fit in units of a typical duration: well-scaled optimisation
    data = stats.CensoredData(uncensored=np.asarray(obs.events) / unit, right=np.asarray(obs.censored) / unit)
    if family == "exponential":  # closed form T/k (scipy's numerical censored fit stops within ~1e-5 of it)
        mean, shape = obs.exposure_s / k, None
    elif family == "weibull":
        c, _, scale = stats.weibull_min.fit(data, floc=0)
        mean, shape = scale * unit * special.gamma(1.0 + 1.0 / c), float(c)
        if not SHAPE_RANGE[0] <= shape <= SHAPE_RANGE[1]:
            return None
    else:
        s, _, scale = stats.lognorm.fit(data, floc=0)
        mean, shape = scale * unit * math.exp(s * s / 2.0), float(s)
        if lognormal_cv(shape) > CV_MAX:
            return None
    ll = log_likelihood(family, float(mean), shape, obs)
    return FamilyFit(family, float(mean), shape, ll) if math.isfinite(ll) and math.isfinite(mean) else None


def fit_law(obs: Observations, *, gof_resamples: int = 49,
            rng: np.random.Generator | None = None) -> LawFit | None:
    """Fit every family, choose by AIC and attach intervals, the sampling distribution and a fit check.

    None when there is nothing to fit (no observation at all). With no event but some censored
    exposure, only the exponential law can be given (its mean's interval is then one-sided).
    """
    k, exposure = len(obs.events), obs.exposure_s
    if k + len(obs.censored) == 0 or exposure <= 0:
        return None
    fits = {f: fit_family(f, obs) for f in FAMILIES}
    aic = {f: (None if fit is None else fit.aic) for f, fit in fits.items()}
    aicc = {f: (None if fit is None or math.isinf(fit.aicc(k)) else fit.aicc(k)) for f, fit in fits.items()}
    fitted = [fit for fit in fits.values() if fit is not None]
    if not fitted:  # no failure seen: the exposure alone bounds the mean
        return _exponential(obs, None, aic, aicc, None)
    best = min(fitted, key=lambda fit: (fit.aicc(k), FAMILIES.index(fit.family)))
    gof = None
    if gof_resamples > 0:
        gof = goodness_of_fit(best, obs, gof_resamples, np.random.default_rng(0) if rng is None else rng)
    if best.family == "exponential":
        return _exponential(obs, best, aic, aicc, gof)
    return _two_parameter(best, obs, aic, aicc, gof)


def _exponential(obs: Observations, fit: FamilyFit | None, aic: dict, aicc: dict, gof: dict | None) -> LawFit:
    k, exposure = len(obs.events), obs.exposure_s
    low = 2 * exposure / stats.chi2.ppf(0.975, 2 * k + 2)
    high = 2 * exposure / stats.chi2.ppf(0.025, 2 * k) if k > 0 else math.inf
    mean = fit.mean_s if fit is not None else exposure / math.log(2.0)
    how = "exact chi-square (time-censored)" + ("" if k else "; no failure seen: median-unbiased T/ln 2")
    return LawFit("exponential", mean, (float(low), float(high)), {}, {}, how, k, len(obs.censored), exposure,
                  aic, aicc, gof, {"kind": "gamma-rate", "events": k, "exposure_s": exposure})


def _two_parameter(fit: FamilyFit, obs: Observations, aic: dict, aicc: dict, gof: dict | None) -> LawFit:
    center = np.array([math.log(fit.mean_s), math.log(fit.shape)])
    cov = _covariance(fit.family, center, obs)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0)) if cov is not None else np.array([math.inf, math.inf])
    mean_ci = (math.exp(center[0] - Z95 * se[0]), _exp(center[0] + Z95 * se[0]))
    shape_ci = (math.exp(center[1] - Z95 * se[1]), _exp(center[1] + Z95 * se[1]))
    if fit.family == "weibull":
        parameters, parameter_ci = {"shape": fit.shape}, {"shape": shape_ci}
    else:
        parameters = {"cv": lognormal_cv(fit.shape)}
        parameter_ci = {"cv": (lognormal_cv(shape_ci[0]), _cv_or_inf(shape_ci[1])), "sigma": shape_ci}
    sampling = {"kind": "log-normal", "parameters": ["log_mean_s", "log_shape" if fit.family == "weibull"
                                                     else "log_sigma"],
                "center": center.tolist(), "covariance": None if cov is None else cov.tolist()}
    return LawFit(fit.family, fit.mean_s, mean_ci, parameters, parameter_ci,
                  "delta method on the log scale, observed information", len(obs.events), len(obs.censored),
                  obs.exposure_s, aic, aicc, gof, sampling)


def _exp(x: float) -> float:
    return math.exp(x) if x < 700 else math.inf


def _cv_or_inf(sigma: float) -> float:
    return lognormal_cv(sigma) if sigma < 26 else math.inf


def _covariance(family: str, center: np.ndarray, obs: Observations) -> np.ndarray | None:
    """Inverse of the observed information in (log mean, log shape); None when it is not positive definite."""
    def ll(theta: np.ndarray) -> float:
        return log_likelihood(family, math.exp(theta[0]), math.exp(theta[1]), obs)

    h = HESSIAN_STEP
    hessian = np.empty((2, 2))
    f0 = ll(center)
    for i in range(2):
        e_i = np.eye(2)[i] * h
        hessian[i, i] = (ll(center + e_i) - 2 * f0 + ll(center - e_i)) / h**2
    e0, e1 = np.eye(2)[0] * h, np.eye(2)[1] * h
    hessian[0, 1] = hessian[1, 0] = (ll(center + e0 + e1) - ll(center + e0 - e1) - ll(center - e0 + e1)
                                     + ll(center - e0 - e1)) / (4 * h * h)
    information = -hessian
    if not np.all(np.isfinite(information)) or np.any(np.linalg.eigvalsh(information) <= 0):
        return None
    return np.linalg.inv(information)


def km_distance(fit: FamilyFit, obs: Observations) -> float:
    """Largest gap between the Kaplan–Meier estimate of the CDF and the fitted CDF, at the event times."""
    data = stats.CensoredData(uncensored=np.asarray(obs.events), right=np.asarray(obs.censored))
    km = stats.ecdf(data).cdf
    times = np.unique(np.asarray(obs.events))
    after = km.evaluate(times)
    before = np.concatenate([[0.0], after[:-1]])
    fitted = fit.frozen().cdf(times)
    return float(max(np.max(np.abs(after - fitted)), np.max(np.abs(before - fitted))))


def goodness_of_fit(fit: FamilyFit, obs: Observations, resamples: int, rng: np.random.Generator) -> dict:
    """Kaplan–Meier distance and its parametric-bootstrap p-value (censoring kept where the window closes)."""
    observed = km_distance(fit, obs)
    limits = np.asarray(obs.event_limits + obs.censored_limits)
    law = fit.frozen()
    exceed, used = 0, 0
    for _ in range(resamples):
        draws = law.rvs(size=len(limits), random_state=rng)
        seen = draws <= limits
        resample = Observations(tuple(draws[seen]), tuple(limits[~seen]), (), ())
        refit = fit_family(fit.family, resample)
        if refit is None:
            continue
        used += 1
        exceed += km_distance(refit, resample) >= observed
    p_value = (1 + exceed) / (1 + used) if used else math.nan
    return {"statistic": "Kaplan-Meier distance (parametric bootstrap)", "distance": observed,
            "p_value": p_value, "resamples": used}
