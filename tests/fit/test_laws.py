"""Fitted laws: exact exponential estimates and intervals, scipy agreement for Weibull and
lognormal, AIC/AICc bookkeeping, the fit check, and draws from the sampling distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from sim.fit.incidents import Observations
from sim.fit.laws import fit_family, fit_law, log_likelihood
from sim.fit.uncertainty import uncertainty_from_dict
from sim.random.distributions import Exponential, LogNormal, Weibull

# chi-square quantiles from standard tables
CHI2_0975_DF2, CHI2_0975_DF10, CHI2_0025_DF8 = 7.3778, 20.4832, 2.1797


def obs(events, censored=()) -> Observations:
    return Observations(tuple(events), tuple(censored), tuple(events), tuple(censored))


def test_exponential_mean_is_exposure_over_failures_with_the_exact_chi_square_interval() -> None:
    data = obs([100.0, 250.0, 50.0, 300.0], [300.0])  # k = 4 failures in T = 1000 s
    law = fit_law(data, gof_resamples=0)
    fit = fit_family("exponential", data)
    assert fit.mean_s == pytest.approx(250.0, rel=1e-12)
    censored = stats.CensoredData(uncensored=[100.0, 250.0, 50.0, 300.0], right=[300.0])
    scipy_fit = stats.expon.fit(censored, floc=0)
    assert scipy_fit[1] == pytest.approx(250.0, rel=1e-4)
    assert law.mean_ci_s[0] == pytest.approx(2000 / CHI2_0975_DF10, rel=1e-4)
    assert law.mean_ci_s[1] == pytest.approx(2000 / CHI2_0025_DF8, rel=1e-4)
    assert (law.n_events, law.n_censored, law.exposure_s) == (4, 1, 1000.0)
    assert law.aic["exponential"] == pytest.approx(2 + 2 * (4 * math.log(250.0) + 1000 / 250.0))


def test_no_failure_gives_a_one_sided_interval_and_the_median_unbiased_mean() -> None:
    law = fit_law(obs([], [5000.0, 3000.0]), gof_resamples=0)
    assert law.dist == "exponential" and law.n_events == 0
    assert law.mean_s == pytest.approx(8000.0 / math.log(2.0))
    assert law.mean_ci_s[0] == pytest.approx(16000.0 / CHI2_0975_DF2, rel=1e-4)
    assert math.isinf(law.mean_ci_s[1])
    assert law.aic == {"exponential": None, "weibull": None, "lognormal": None}


def test_few_failures_give_only_the_exponential_law() -> None:
    law = fit_law(obs([10.0, 200.0, 35.0], [400.0]), gof_resamples=0)
    assert law.dist == "exponential" and law.aic["weibull"] is None and law.aicc["exponential"] is not None


def test_uncensored_weibull_and_lognormal_fits_agree_with_scipy() -> None:
    rng = np.random.default_rng(5)
    sample = Weibull(1000.0, 2.5).sample(rng, 400)
    fit = fit_family("weibull", obs(sample))
    c, _, scale = stats.weibull_min.fit(sample, floc=0)
    assert fit.shape == pytest.approx(c, rel=1e-3)
    assert fit.mean_s == pytest.approx(scale * special.gamma(1 + 1 / c), rel=1e-3)
    sample = LogNormal(60.0, 2.0).sample(rng, 400)
    fit = fit_family("lognormal", obs(sample))
    s, _, scale = stats.lognorm.fit(sample, floc=0)
    assert fit.shape == pytest.approx(s, rel=1e-3)
    assert fit.mean_s == pytest.approx(scale * math.exp(s * s / 2), rel=1e-3)


@pytest.mark.parametrize("family", ["weibull", "lognormal"])
def test_censored_fit_is_a_maximum_of_the_censored_likelihood(family: str) -> None:
    rng = np.random.default_rng(9)
    x = Weibull(100.0, 1.5).sample(rng, 200)
    data = obs(x[x <= 120.0], np.full((x > 120.0).sum(), 120.0))
    fit = fit_family(family, data)
    best = log_likelihood(family, fit.mean_s, fit.shape, data)
    assert best == pytest.approx(fit.log_likelihood)
    for dm, ds in [(1.01, 1), (0.99, 1), (1, 1.01), (1, 0.99)]:
        assert log_likelihood(family, fit.mean_s * dm, fit.shape * ds, data) < best


def test_law_choice_is_by_aicc_and_the_record_is_complete() -> None:
    rng = np.random.default_rng(3)
    law = fit_law(obs(Weibull(500.0, 3.0).sample(rng, 150)), gof_resamples=19, rng=np.random.default_rng(1))
    assert law.dist == "weibull"
    assert min(law.aicc, key=lambda f: law.aicc[f]) == "weibull"
    for family in ("exponential", "weibull", "lognormal"):
        p = 1 if family == "exponential" else 2
        assert law.aicc[family] == pytest.approx(law.aic[family] + 2 * p * (p + 1) / (150 - p - 1))
    assert law.mean_ci_s[0] < law.mean_s < law.mean_ci_s[1]
    assert law.parameter_ci["shape"][0] < law.parameters["shape"] < law.parameter_ci["shape"][1]
    assert law.gof["resamples"] == 19 and 1 / 20 <= law.gof["p_value"] <= 1
    again = fit_law(obs(Weibull(500.0, 3.0).sample(np.random.default_rng(3), 150)), gof_resamples=19,
                    rng=np.random.default_rng(1))
    assert again == law  # the bootstrap draws from the generator it is given


def test_fit_check_rejects_a_clearly_wrong_shape() -> None:
    # two clusters of repair times that no single family here describes: the check's p-value is minimal
    data = obs(np.concatenate([np.full(100, 10.0), np.full(100, 1000.0)]) * (1 + np.arange(200) * 1e-4))
    law = fit_law(data, gof_resamples=19, rng=np.random.default_rng(2))
    assert law.gof["p_value"] == pytest.approx(1 / 20)


def test_gamma_rate_draws_match_their_jeffreys_posterior() -> None:
    unc = uncertainty_from_dict({"tiers": {"web": {"mtbf": {"dist": "exponential", "sampling": {
        "kind": "gamma-rate", "events": 4, "exposure_s": 1000.0}}}}})
    (law,) = unc.laws
    rng = np.random.default_rng(0)
    rates = np.array([1 / law.draw(rng).mean for _ in range(20000)])
    expected, sd = 4.5 / 1000, math.sqrt(4.5) / 1000
    assert abs(rates.mean() - expected) < 4 * sd / math.sqrt(len(rates))
    assert isinstance(law.draw(rng), Exponential)


def test_log_normal_draws_center_on_the_fit() -> None:
    unc = uncertainty_from_dict({"tiers": {"web": {"mttr": {"dist": "weibull", "sampling": {
        "kind": "log-normal", "center": [math.log(600.0), math.log(2.0)],
        "covariance": [[0.04, 0.0], [0.0, 0.01]]}}}}})
    (law,) = unc.laws
    rng = np.random.default_rng(0)
    draws = [law.draw(rng) for _ in range(4000)]
    assert all(isinstance(d, Weibull) for d in draws)
    logs = np.log([d.mean for d in draws])
    assert abs(logs.mean() - math.log(600.0)) < 4 * 0.2 / math.sqrt(len(logs))
