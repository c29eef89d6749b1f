"""Unit tests of sim.theory.analytic against textbook values, limiting cases and independent computations."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import integrate, stats

from sim.theory import analytic as an

# --------------------------------------------------------------------------- helpers


def _generator(n: int, mtbf_s: float, mttr_s: float, crews: float) -> np.ndarray:
    """Generator matrix Q of the failed-replica chain, built entry by entry (no detailed balance)."""
    q = np.zeros((n + 1, n + 1))
    for j in range(n + 1):
        if j < n:
            q[j, j + 1] = (n - j) / mtbf_s
        if j > 0:
            q[j, j - 1] = min(j, crews) / mttr_s
        q[j, j] = -q[j].sum()
    return q


def _stationary(q: np.ndarray) -> np.ndarray:
    """Solve πQ = 0, Σπ = 1 by least squares on the stacked system."""
    a = np.vstack([q.T, np.ones(len(q))])
    b = np.zeros(len(q) + 1)
    b[-1] = 1.0
    return np.linalg.lstsq(a, b, rcond=None)[0]


def _assert_same(a: an.TierAvailability, b: an.TierAvailability, rel: float = 1e-9) -> None:
    assert a.availability == pytest.approx(b.availability, rel=rel)
    assert a.outage_rate_per_s == pytest.approx(b.outage_rate_per_s, rel=rel)
    assert a.mean_outage_s == pytest.approx(b.mean_outage_s, rel=rel)
    assert a.mean_uptime_s == pytest.approx(b.mean_uptime_s, rel=rel)


# --------------------------------------------------------------------------- k-out-of-n


def test_single_replica_is_alternating_renewal() -> None:
    tier = an.k_out_of_n(1, 1, mtbf_s=1000.0, mttr_s=50.0)
    assert tier.availability == pytest.approx(1000.0 / 1050.0)
    assert tier.mean_outage_s == pytest.approx(50.0)
    assert tier.mean_uptime_s == pytest.approx(1000.0)
    assert tier.outage_rate_per_s == pytest.approx(1.0 / 1050.0)
    assert tier.state_probabilities == pytest.approx((1000.0 / 1050.0, 50.0 / 1050.0))


@pytest.mark.parametrize("crews", [2, math.inf])
def test_one_of_two_with_a_crew_each_is_two_independent_replicas(crews: float) -> None:
    mtbf, mttr = 900.0, 100.0
    tier = an.k_out_of_n(2, 1, mtbf, mttr, repair_crews=crews)
    q = mttr / (mtbf + mttr)
    assert tier.unavailability == pytest.approx(q**2)
    # Both down: the first of two exponential repairs ends the outage.
    assert tier.mean_outage_s == pytest.approx(mttr / 2)


def test_one_of_two_with_one_crew_matches_hand_derivation() -> None:
    m, r = 900.0, 100.0
    tier = an.k_out_of_n(2, 1, m, r, repair_crews=1)
    # π1 = π0·2r/m, π2 = π1·r/m  =>  U = 2r²/(m² + 2rm + 2r²).
    assert tier.unavailability == pytest.approx(2 * r**2 / (m**2 + 2 * r * m + 2 * r**2))
    # The single crew repairs one replica; the outage ends when that repair completes.
    assert tier.mean_outage_s == pytest.approx(r)
    assert tier.unavailability > an.k_out_of_n(2, 1, m, r).unavailability


@pytest.mark.parametrize(("n", "k"), [(3, 2), (4, 1), (5, 3)])
def test_unlimited_crews_give_binomial_states(n: int, k: int) -> None:
    mtbf, mttr = 500.0, 40.0
    tier = an.k_out_of_n(n, k, mtbf, mttr)
    q = mttr / (mtbf + mttr)
    assert tier.state_probabilities == pytest.approx(tuple(stats.binom.pmf(range(n + 1), n, q)))
    assert tier.availability == pytest.approx(stats.binom.cdf(n - k, n, q))


@pytest.mark.parametrize(("n", "k", "crews"), [(5, 3, 2), (4, 2, 1), (3, 1, math.inf), (6, 6, 3)])
def test_k_out_of_n_matches_generator_matrix(n: int, k: int, crews: float) -> None:
    mtbf, mttr = 300.0, 60.0
    tier = an.k_out_of_n(n, k, mtbf, mttr, repair_crews=crews)
    q = _generator(n, mtbf, mttr, crews)
    pi = _stationary(q)
    assert tier.state_probabilities == pytest.approx(tuple(pi), rel=1e-9, abs=1e-15)
    # Mean outage: expected time to leave the down set {n-k+1..n} entered at n-k+1, from the
    # fundamental matrix of the sub-generator on the down states.
    down = slice(n - k + 1, n + 1)
    sojourn = np.linalg.solve(-q[down, down], np.ones(k))
    assert tier.mean_outage_s == pytest.approx(sojourn[0], rel=1e-9)
    # Mean uptime: expected time to hit the down set from the entry state n-k of the up set.
    up = slice(0, n - k + 1)
    hitting = np.linalg.solve(-q[up, up], np.ones(n - k + 1))
    assert tier.mean_uptime_s == pytest.approx(hitting[n - k], rel=1e-9)


def test_k_out_of_n_cycle_identity_and_normalisation() -> None:
    tier = an.k_out_of_n(7, 4, 2000.0, 300.0, repair_crews=2)
    assert sum(tier.state_probabilities) == pytest.approx(1.0)
    assert len(tier.state_probabilities) == 8
    cycle = tier.mean_uptime_s + tier.mean_outage_s
    assert tier.outage_rate_per_s * cycle == pytest.approx(1.0)
    assert tier.mean_uptime_s / cycle == pytest.approx(tier.availability)


def test_k_out_of_n_tiny_unavailability_keeps_its_digits() -> None:
    tier = an.k_out_of_n(4, 1, mtbf_s=1e7, mttr_s=1.0)
    q = 1.0 / (1e7 + 1.0)
    assert tier.unavailability == pytest.approx(q**4, rel=1e-6)
    assert tier.mean_outage_s == pytest.approx(1.0 / 4, rel=1e-9)


def test_never_failing_replicas() -> None:
    tier = an.k_out_of_n(3, 2, mtbf_s=math.inf, mttr_s=10.0)
    assert tier.availability == 1.0
    assert tier.outage_rate_per_s == 0.0
    assert math.isnan(tier.mean_outage_s)
    assert tier.mean_uptime_s == math.inf
    assert tier.state_probabilities == (1.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 2, "k": 3, "mtbf_s": 1.0, "mttr_s": 1.0},
        {"n": 2, "k": 0, "mtbf_s": 1.0, "mttr_s": 1.0},
        {"n": 2, "k": 1, "mtbf_s": 0.0, "mttr_s": 1.0},
        {"n": 2, "k": 1, "mtbf_s": 1.0, "mttr_s": 0.0},
        {"n": 2, "k": 1, "mtbf_s": 1.0, "mttr_s": math.inf},
        {"n": 2, "k": 1, "mtbf_s": 1.0, "mttr_s": 1.0, "repair_crews": 0},
        {"n": 2, "k": 1, "mtbf_s": 1.0, "mttr_s": 1.0, "repair_crews": 1.5},
    ],
)
def test_k_out_of_n_rejects_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        an.k_out_of_n(**kwargs)


# --------------------------------------------------------------------------- series / parallel


def test_n_out_of_n_is_series_of_singles() -> None:
    single = an.k_out_of_n(1, 1, 800.0, 20.0)
    _assert_same(an.k_out_of_n(2, 2, 800.0, 20.0), an.series(single, single))
    _assert_same(an.k_out_of_n(4, 4, 800.0, 20.0), an.series(single, single, single, single))


def test_one_out_of_n_is_parallel_of_singles() -> None:
    single = an.k_out_of_n(1, 1, 800.0, 20.0)
    _assert_same(an.k_out_of_n(3, 1, 800.0, 20.0), an.parallel(single, single, single))


def test_series_identities() -> None:
    a = an.k_out_of_n(3, 2, 1000.0, 30.0)
    b = an.k_out_of_n(1, 1, 5000.0, 120.0)
    c = an.k_out_of_n(2, 1, 400.0, 60.0, repair_crews=1)
    _assert_same(an.series(a), a)
    _assert_same(an.series(a, b), an.series(b, a))
    _assert_same(an.series(a, an.series(b, c)), an.series(a, b, c))
    _assert_same(an.series(an.series(a, b), c), an.series(a, b, c))
    abc = an.series(a, b, c)
    assert abc.availability == pytest.approx(a.availability * b.availability * c.availability)
    assert abc.outage_rate_per_s * (abc.mean_outage_s + abc.mean_uptime_s) == pytest.approx(1.0)
    assert abc.state_probabilities == ()


def test_series_with_a_perfect_component_changes_nothing() -> None:
    a = an.k_out_of_n(3, 2, 1000.0, 30.0)
    perfect = an.k_out_of_n(2, 2, math.inf, 30.0)
    _assert_same(an.series(a, perfect), a)
    never = an.series(perfect, perfect)
    assert never.availability == 1.0 and never.outage_rate_per_s == 0.0 and math.isnan(never.mean_outage_s)


def test_composition_needs_components() -> None:
    with pytest.raises(ValueError):
        an.series()
    with pytest.raises(ValueError):
        an.parallel()


# --------------------------------------------------------------------------- queues


@pytest.mark.parametrize("a", [0.1, 1.0, 7.5])
def test_erlang_b_single_server(a: float) -> None:
    assert an.erlang_b(1, a) == pytest.approx(a / (1 + a))


def test_erlang_b_known_values() -> None:
    assert an.erlang_b(10, 5.0) == pytest.approx(0.018385, abs=5e-6)
    assert an.erlang_b(0, 3.0) == 1.0
    assert an.erlang_b(5, 0.0) == 0.0


@pytest.mark.parametrize(("c", "a"), [(3, 2.0), (50, 40.0), (2000, 1900.0)])
def test_erlang_b_matches_truncated_poisson(c: int, a: float) -> None:
    # B(c, a) = P(N = c | N <= c) for N ~ Poisson(a).
    assert an.erlang_b(c, a) == pytest.approx(stats.poisson.pmf(c, a) / stats.poisson.cdf(c, a), rel=1e-9)


def test_erlang_c_known_values() -> None:
    assert an.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert an.erlang_c(1, 0.7) == pytest.approx(0.7)
    assert an.erlang_c(4, 0.0) == 0.0


@pytest.mark.parametrize(("c", "a"), [(2, 1.5), (5, 3.0), (10, 9.5)])
def test_erlang_c_matches_textbook_sum(c: int, a: float) -> None:
    tail = a**c / math.factorial(c) * c / (c - a)
    expected = tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)
    assert an.erlang_c(c, a) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("a", [2.0, 2.5])
def test_erlang_c_rejects_unstable_load(a: float) -> None:
    with pytest.raises(ValueError):
        an.erlang_c(2, a)
    with pytest.raises(ValueError):
        an.mmc(a, 1.0, 2)


def test_mm1() -> None:
    lam, mu = 3.0, 5.0
    res = an.mmc(lam, mu, 1)
    rho = lam / mu
    assert res.utilisation == pytest.approx(rho)
    assert res.p_wait == pytest.approx(rho)
    assert res.mean_response_s == pytest.approx(1 / (mu - lam))
    assert res.mean_wait_s == pytest.approx(rho / (mu - lam))
    assert res.mean_in_system == pytest.approx(rho / (1 - rho))
    assert res.mean_in_queue == pytest.approx(rho**2 / (1 - rho))
    assert res.wait_exceeds(0.7) == pytest.approx(rho * math.exp(-(mu - lam) * 0.7))


def test_mm2_known_values() -> None:
    res = an.mmc(1.0, 1.0, 2)
    assert res.p_wait == pytest.approx(1 / 3)
    assert res.mean_wait_s == pytest.approx(1 / 3)
    assert res.mean_response_s == pytest.approx(4 / 3)
    assert res.mean_in_system == pytest.approx(an.littles_law_l(1.0, 4 / 3))


def test_mmc_wait_tail_integrates_to_mean_wait() -> None:
    res = an.mmc(7.0, 1.0, 9)
    assert res.wait_exceeds(-1.0) == 1.0
    assert res.wait_exceeds(0.0) == pytest.approx(res.p_wait)
    # E[Wq] = ∫_0^∞ P(Wq > t) dt.
    integral, _ = integrate.quad(res.wait_exceeds, 0.0, math.inf)
    assert integral == pytest.approx(res.mean_wait_s, rel=1e-8)
    assert res.mean_in_queue == pytest.approx(res.mean_in_system - 7.0 / 1.0)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (4, 3.0), (10, 12.0)])
def test_mmck_with_no_waiting_room_is_erlang_b(c: int, a: float) -> None:
    assert an.mmck_blocking(a, 1.0, c, c) == pytest.approx(an.erlang_b(c, a), rel=1e-12)


@pytest.mark.parametrize(("lam", "k"), [(0.5, 3), (1.0, 4), (2.0, 5), (0.999, 50)])
def test_mm1k_closed_form_matches_chain(lam: float, k: int) -> None:
    assert an.mm1k_blocking(lam, 1.0, k) == pytest.approx(an.mmck_blocking(lam, 1.0, 1, k), rel=1e-9)


def test_mm1k_limits() -> None:
    assert an.mm1k_blocking(1.0, 1.0, 4) == pytest.approx(1 / 5)
    assert an.mm1k_blocking(0.0, 1.0, 4) == 0.0
    assert an.mm1k_blocking(0.5, 1.0, 1) == pytest.approx(an.erlang_b(1, 0.5))
    # Heavily overloaded with a huge buffer: the fraction blocked tends to 1 - 1/ρ, without overflow.
    assert an.mm1k_blocking(2.0, 1.0, 5000) == pytest.approx(0.5)


# --------------------------------------------------------------------------- lost customers


def test_lost_without_retries() -> None:
    assert an.lost_in_outage(2.0, 30.0) == 60.0
    assert an.lost_with_retries(2.0, 30.0, retries=0, backoff_mean_s=5.0) == 60.0
    assert an.deferred_with_retries(2.0, 30.0, retries=0, backoff_mean_s=5.0) == 0.0
    assert an.lost_fraction_unavailable(0.999) == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("retries", "outage_s", "backoff_s"), [(1, 30.0, 5.0), (3, 60.0, 10.0), (5, 10.0, 20.0), (2, 200.0, 1.0)]
)
def test_lost_with_retries_matches_numerical_integration(
    retries: int, outage_s: float, backoff_s: float
) -> None:
    lam = 0.8
    erlang = stats.gamma(a=retries, scale=backoff_s)
    # A customer arriving at t is lost iff its K backoffs sum to less than D - t.
    integral, _ = integrate.quad(lambda t: erlang.cdf(outage_s - t), 0.0, outage_s)
    lost = an.lost_with_retries(lam, outage_s, retries, backoff_s)
    assert lost == pytest.approx(lam * integral, rel=1e-8)
    assert lost + an.deferred_with_retries(lam, outage_s, retries, backoff_s) == pytest.approx(lam * outage_s)


def test_lost_with_retries_matches_monte_carlo() -> None:
    """Attempt-by-attempt simulation of many outage windows; theory must lie within 4 standard errors."""
    rng = np.random.default_rng(20240601)
    lam, outage_s, retries, backoff_s, windows = 0.5, 60.0, 3, 10.0, 20_000
    counts = rng.poisson(lam * outage_s, windows)
    window_of = np.repeat(np.arange(windows), counts)
    arrivals = rng.uniform(0.0, outage_s, counts.sum())
    backoffs = rng.exponential(backoff_s, (counts.sum(), retries))
    attempts = np.column_stack([arrivals, arrivals[:, None] + np.cumsum(backoffs, axis=1)])
    lost = (attempts < outage_s).all(axis=1)  # every attempt fell in the window
    lost_per_window = np.bincount(window_of, weights=lost, minlength=windows)
    mean = lost_per_window.mean()
    se = lost_per_window.std(ddof=1) / math.sqrt(windows)
    assert abs(mean - an.lost_with_retries(lam, outage_s, retries, backoff_s)) < 4 * se


def test_lost_with_retries_limits() -> None:
    lam, outage_s = 1.5, 40.0
    # Instant retries all land in the window; very slow ones all land after it.
    assert an.lost_with_retries(lam, outage_s, 3, 0.0) == pytest.approx(lam * outage_s)
    assert an.lost_with_retries(lam, outage_s, 3, 1e-9) == pytest.approx(lam * outage_s)
    assert an.lost_with_retries(lam, outage_s, 3, 1e9) == pytest.approx(0.0, abs=1e-12)
    # A window much longer than the retry budget: only the last K·(1/β) seconds' arrivals survive.
    assert an.lost_with_retries(lam, 1e5, 3, 2.0) == pytest.approx(lam * (1e5 - 3 * 2.0))
    assert an.deferred_with_retries(lam, 1e5, 3, 2.0) == pytest.approx(lam * 3 * 2.0)
    # More retries never lose more customers.
    losses = [an.lost_with_retries(lam, outage_s, k, 8.0) for k in range(8)]
    assert all(a > b for a, b in itertools.pairwise(losses))


@pytest.mark.parametrize(
    "args",
    [
        (-1.0, 10.0, 1, 1.0),
        (1.0, -1.0, 1, 1.0),
        (1.0, math.inf, 1, 1.0),
        (1.0, 10.0, -1, 1.0),
        (1.0, 10.0, 1, math.inf),
    ],
)
def test_lost_with_retries_rejects_bad_parameters(args: tuple) -> None:
    with pytest.raises(ValueError):
        an.lost_with_retries(*args)
    with pytest.raises(ValueError):
        an.deferred_with_retries(*args)


def test_lost_fraction_rejects_bad_availability() -> None:
    with pytest.raises(ValueError):
        an.lost_fraction_unavailable(1.5)


# --------------------------------------------------------------------------- rare regime


def _exact_k_out_of_n(n: int, k: int, mtbf_s: int, mttr_s: int, crews: int) -> tuple[Fraction, Fraction]:
    """Unavailability and outage rate of a k-of-n tier in exact rational arithmetic (detailed balance)."""
    weights = [Fraction(1)]
    for j in range(n):
        weights.append(weights[-1] * Fraction(n - j, mtbf_s) / Fraction(min(j + 1, crews), mttr_s))
    total = sum(weights)
    probs = [w / total for w in weights]
    return sum(probs[n - k + 1 :]), probs[n - k] * Fraction(k, mtbf_s)


@pytest.mark.parametrize(
    ("n", "k", "mtbf_s", "mttr_s", "crews"),
    [
        (2, 1, 28_800, 1_200, 1),
        (3, 1, 360_000, 3_600, 1),
        (4, 1, 3_600_000, 3_600, 1),
        (4, 2, 36_000_000, 600, 2),
    ],
)
def test_series_of_k_out_of_n_keeps_full_precision_in_the_rare_regime(
    n: int, k: int, mtbf_s: int, mttr_s: int, crews: int
) -> None:
    """Unavailability from 1e-4 down to 1e-14 against an exact rational solve: 1e-12 relative error."""
    u1, f1 = _exact_k_out_of_n(n, k, mtbf_s, mttr_s, crews)
    u2, f2 = _exact_k_out_of_n(n, k, 2 * mtbf_s, mttr_s, crews)
    tier = an.k_out_of_n(n, k, mtbf_s, mttr_s, crews)
    assert tier.unavailability == pytest.approx(float(u1), rel=1e-12)
    assert tier.outage_rate_per_s == pytest.approx(float(f1), rel=1e-12)
    path = an.series(tier, an.k_out_of_n(n, k, 2 * mtbf_s, mttr_s, crews))
    exact_u = 1 - (1 - u1) * (1 - u2)
    exact_f = f1 * (1 - u2) + f2 * (1 - u1)
    assert path.unavailability == pytest.approx(float(exact_u), rel=1e-12)
    assert path.outage_rate_per_s == pytest.approx(float(exact_f), rel=1e-12)
    assert path.mean_outage_s == pytest.approx(float(exact_u / exact_f), rel=1e-12)
