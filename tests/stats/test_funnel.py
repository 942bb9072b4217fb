"""kadindicators.stats.funnel: Spiegelhalter's exact limits, over-dispersion, flags."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats as sps  # type: ignore[import-untyped]

from kadindicators.stats import outlier_flags, overdispersion_factor, poisson_limits, proportion_limits

# ============================================================================ the published method


def _interpolated_cdf(x: np.ndarray, dist: object) -> np.ndarray:
    """The step CDF linearly interpolated between consecutive integers."""
    r = np.ceil(x)
    frac = x - (r - 1)
    return dist.cdf(r - 1) + frac * dist.pmf(r)  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("target", [0.02, 0.2, 0.5, 0.93])
def test_binomial_limits_solve_spiegelhalter_interpolation(target: float) -> None:
    # Spiegelhalter, Stat Med 2005;24:1185-1202, Appendix A.1: r_p is the smallest r
    # with P(R <= r) >= p, alpha = (P(R <= r_p) - p) / (P(R <= r_p) - P(R <= r_p - 1)),
    # limit = (r_p - alpha) / n -- the point where the CDF, interpolated linearly
    # between integers, equals p. The same formula is in Stata's funnelcompar (exact
    # option), ssc/funnelcompar/funnelcompar.ado.
    n = np.array([5, 17, 60, 250, 1000, 20_000], dtype=float)
    dist = sps.binom(n, target)
    for level, (lower, upper) in proportion_limits(target, n).items():
        p_lo = (1 - level) / 2
        inside = lower > 0  # limits clipped at 0 are checked separately
        np.testing.assert_allclose(_interpolated_cdf(n * lower, dist)[inside], p_lo, atol=1e-9)
        np.testing.assert_allclose(_interpolated_cdf(n * upper, dist), 1 - p_lo, atol=1e-9)


def test_binomial_limits_hand_example() -> None:
    # n = 10, target 0.2, upper 97.5% limit: P(R <= 4) = 0.967207, P(R <= 5) = 0.993631,
    # so r_p = 5, alpha = (0.993631 - 0.975) / 0.026424 = 0.705, limit = 0.42949.
    # Lower 2.5% limit: P(R <= 0) = 0.107374 >= 0.025 so r_p = 0,
    # alpha = (0.107374 - 0.025) / 0.107374 = 0.767, limit < 0 -> clipped to 0.
    lower, upper = proportion_limits(0.2, [10])[0.95]
    f4, f5 = sps.binom.cdf([4, 5], 10, 0.2)
    assert upper[0] == pytest.approx((5 - (f5 - 0.975) / (f5 - f4)) / 10, rel=1e-12)
    assert round(float(upper[0]), 5) == 0.42949
    assert lower[0] == 0.0


@pytest.mark.parametrize("rate", [0.0005, 0.01, 0.3])
def test_poisson_limits_solve_spiegelhalter_interpolation(rate: float) -> None:
    exposure = np.array([50, 900, 12_000, 400_000], dtype=float)
    dist = sps.poisson(rate * exposure)
    for level, (lower, upper) in poisson_limits(rate, exposure).items():
        p_lo = (1 - level) / 2
        # Limits clipped at 0 (a tiny expected count) are not solutions; skip them.
        lo_in, hi_in = lower > 0, upper > 0
        np.testing.assert_allclose(_interpolated_cdf(exposure * lower, dist)[lo_in], p_lo, atol=1e-9)
        np.testing.assert_allclose(_interpolated_cdf(exposure * upper, dist)[hi_in], 1 - p_lo, atol=1e-9)


def test_poisson_upper_limit_can_be_zero_for_tiny_expected_counts() -> None:
    # Expected count 0.025: P(R = 0) = exp(-0.025) = 0.9753 >= 0.975, so r_p = 0 and
    # (r_p - alpha) / E < 0, clipped to 0 -- any event at all is then above the 95%
    # limit (and one event, 0.02, is above the 99.8% limit 0.0194 too).
    lower, upper = poisson_limits(0.0005, [50.0])[0.95]
    assert lower[0] == upper[0] == 0.0
    assert outlier_flags([0, 1], [50.0, 50.0], 0.0005, family="poisson").tolist() == ["within", "high_998"]


# PHEindicatormethods, tests/testthat/testdata_funnel_prop_outputs.csv (commit 63894a9):
# 95% ("2s", 0.025) and 99.8% ("3s", 0.001) limits in per cent around the baseline
# 80.642448% of the package's funnel test data. PHE's proportion limits invert the
# Wilson score interval rather than the exact binomial, so the two methods agree to
# first order: the difference is O(1/n) (about 0.8/n at 95% and 1.4/n at 99.8%).
# https://github.com/ukhsa-collaboration/PHEindicatormethods/blob/master/tests/testthat/testdata_funnel_prop_outputs.csv
PHE_FUNNEL = np.array(
    [
        # n,     lower95,   upper95,   lower998,  upper998
        [50, 69.691035, 91.593861, 63.375595, 97.909301],
        [102, 72.974925, 88.309971, 68.553233, 92.731663],
        [539, 77.306949, 83.977947, 75.38344, 85.901456],
        [1008, 78.203374, 83.081521, 76.796814, 84.488082],
        [9998, 79.867989, 81.416907, 79.421375, 81.863521],
        [110000, 80.408963, 80.875933, 80.274317, 81.010578],
    ]
)
PHE_BASELINE = 0.80642448


def test_proportion_limits_agree_with_phe_funnel_output_to_first_order() -> None:
    n = PHE_FUNNEL[:, 0]
    limits = proportion_limits(PHE_BASELINE, n)
    for col, (level, side) in enumerate([(0.95, 0), (0.95, 1), (0.998, 0), (0.998, 1)], start=1):
        phe = PHE_FUNNEL[:, col] / 100
        assert np.all(np.abs(limits[level][side] - phe) * n < 1.6), (level, side)
    # At n = 110 000 the two agree to 1e-5 on the proportion scale.
    assert np.all(np.abs(limits[0.95][0][-1] - PHE_FUNNEL[-1, 1] / 100) < 1e-5)


# PHEindicatormethods, tests/testthat/testdata_funnel_prop_inputs.csv (commit 3352ce5):
# PCT numerators, denominators and PHE's published significance against the same
# baseline (a subset; "0.001" means outside the 99.8% limits, "0.025" outside the 95%).
# https://github.com/ukhsa-collaboration/PHEindicatormethods/blob/master/tests/testthat/testdata_funnel_prop_inputs.csv
PHE_SIGNIFICANCE = [
    (35078.4880, 41980, "High (0.001)"),
    (24803.6256, 31824, "Low (0.001)"),
    (50050.7443, 61921, "Not significant"),
    (48686.4364, 59804, "High (0.001)"),
    (35795.6324, 45449, "Low (0.001)"),
    (24648.7596, 30521, "Not significant"),
    (31759.3850, 39350, "Not significant"),
    (26789.2380, 33012, "High (0.025)"),
    (36850.0492, 45449, "High (0.025)"),
    (34502.0685, 42485, "High (0.025)"),
    (23910.2469, 29457, "High (0.025)"),
    (30277.5312, 37828, "Low (0.025)"),
    (21139.2936, 25992, "High (0.025)"),
    (20759.6500, 25750, "Not significant"),
    (24866.9160, 30929, "Not significant"),
    (14493.3552, 17964, "Not significant"),
    (17321.4088, 21587, "Not significant"),
    (31573.5024, 39212, "Not significant"),
    (38045.3716, 46958, "High (0.025)"),
    (16924.1296, 20776, "High (0.025)"),
    (18504.9982, 22739, "High (0.025)"),
    (29709.0543, 36583, "High (0.025)"),
    (28537.4507, 35201, "High (0.025)"),
    (26882.4969, 32573, "High (0.001)"),
    (18365.4621, 29277, "Low (0.001)"),
    (15524.9934, 19257, "Not significant"),
    (13240.9172, 16477, "Not significant"),
    (18746.7077, 23233, "Not significant"),
    (20781.4840, 25672, "Not significant"),
    (21306.0303, 26333, "Not significant"),
]
PHE_CODE = {
    "High (0.001)": "high_998",
    "High (0.025)": "high_95",
    "Not significant": "within",
    "Low (0.025)": "low_95",
    "Low (0.001)": "low_998",
}


def test_outlier_flags_agree_with_phe_significance() -> None:
    x = np.array([r[0] for r in PHE_SIGNIFICANCE])
    n = np.array([r[1] for r in PHE_SIGNIFICANCE], dtype=float)
    expected = [PHE_CODE[r[2]] for r in PHE_SIGNIFICANCE]
    flags = outlier_flags(x, n, PHE_BASELINE)
    # Where a unit lies within 2/n of one of our limits the two methods may legitimately
    # disagree (see above); none of these units does.
    limits = proportion_limits(PHE_BASELINE, n)
    gap = np.min([np.abs(x / n - lim) for pair in limits.values() for lim in pair], axis=0)
    assert np.all(gap * n > 2)
    assert flags.tolist() == expected


# ============================================================================ over-dispersion


def test_overdispersion_limits_use_inflated_normal_approximation() -> None:
    # Spiegelhalter 2005, section 6: target +/- z_p sqrt(phi * target (1 - target) / n).
    n = np.array([20.0, 200.0, 2000.0])
    z = sps.norm.ppf(0.975)
    lower, upper = proportion_limits(0.3, n, overdispersion=2.5)[0.95]
    half = z * np.sqrt(2.5 * 0.3 * 0.7 / n)
    np.testing.assert_allclose(lower, np.clip(0.3 - half, 0, 1), rtol=1e-12)
    np.testing.assert_allclose(upper, np.clip(0.3 + half, 0, 1), rtol=1e-12)
    lower, upper = poisson_limits(0.004, [1e4], overdispersion=3.0)[0.998]
    half = sps.norm.ppf(0.999) * np.sqrt(3.0 * 0.004 / 1e4)
    assert (lower[0], upper[0]) == pytest.approx((0.004 - half, 0.004 + half), rel=1e-12)
    # phi <= 1 (and None) means the exact limits.
    exact = proportion_limits(0.3, n)
    for phi in (None, 0.4, 1.0):
        for level, pair in proportion_limits(0.3, n, overdispersion=phi).items():
            np.testing.assert_array_equal(pair[0], exact[level][0])


def test_overdispersion_factor_hand_worked() -> None:
    # Ten units of 100 around the pooled target 0.207: z_i = (y_i - t) / sqrt(t(1-t)/100);
    # the 10% / 90% quantiles (linear interpolation) Winsorise one unit in each tail;
    # phi = mean(z^2).
    num = np.array([5, 30, 12, 45, 8, 22, 15, 40, 3, 27], dtype=float)
    den = np.full(10, 100.0)
    t = num.sum() / den.sum()
    z = sorted((num / den - t) / np.sqrt(t * (1 - t) / den))
    q10 = z[0] + 0.9 * (z[1] - z[0])  # R type 7: position 0.1 * (10 - 1) = 0.9
    q90 = z[8] + 0.1 * (z[9] - z[8])  # position 0.9 * 9 = 8.1
    zw = np.clip(z, q10, q90)
    expected = float(np.mean(zw**2))
    assert overdispersion_factor(num, den, t) == pytest.approx(expected, rel=1e-12)
    # Without Winsorising phi is Pearson's chi-square over I.
    chi2 = np.sum((num - den * t) ** 2 / (den * t * (1 - t)))
    assert overdispersion_factor(num, den, t, winsor=0.0) == pytest.approx(chi2 / 10, rel=1e-12)


def test_overdispersion_factor_rules() -> None:
    den = np.full(12, 1000.0)
    binomial_draws = np.array([98, 103, 101, 99, 100, 97, 102, 100, 104, 96, 100, 101], dtype=float)
    assert overdispersion_factor(binomial_draws, den, 0.1) == 1.0  # under-dispersed -> 1
    wild = np.array([10, 300, 50, 250, 90, 200, 20, 280, 60, 150, 5, 120], dtype=float)
    assert overdispersion_factor(wild, den, 0.128) > 10
    assert overdispersion_factor(wild[:9], den[:9], 0.128) == 1.0  # fewer than 10 units
    assert overdispersion_factor(wild[:9], den[:9], 0.128, winsor=0.2) > 10  # 5 needed
    assert overdispersion_factor(wild[:2], den[:2], 0.128, winsor=0.0) > 10  # 2 needed
    assert overdispersion_factor(wild, den, 0.0) == 1.0  # no variance at the target
    # Ineligible units (zero denominators) do not count.
    den0 = den.copy()
    den0[:3] = 0
    assert overdispersion_factor(wild, den0, 0.128) == 1.0
    # Rates: counts over exposures.
    counts = np.array([1, 30, 4, 25, 9, 2, 40, 6, 18, 11], dtype=float)
    exposure = np.full(10, 5000.0)
    rate = counts.sum() / exposure.sum()
    z = (counts / exposure - rate) / np.sqrt(rate / exposure)
    assert overdispersion_factor(counts, exposure, rate, family="poisson", winsor=0.0) == pytest.approx(
        float(np.mean(z**2)), rel=1e-12
    )


def test_outlier_flags_with_overdispersion_flag_fewer_units() -> None:
    num = np.array([10, 300, 50, 250, 90, 200, 20, 280, 60, 150, 5, 120], dtype=float)
    den = np.full(12, 1000.0)
    t = num.sum() / den.sum()
    phi = overdispersion_factor(num, den, t)
    plain = outlier_flags(num, den, t)
    adjusted = outlier_flags(num, den, t, overdispersion=phi)
    assert (adjusted != "within").sum() < (plain != "within").sum()


# ============================================================================ flags and edge cases


def test_outlier_flag_codes_and_not_applicable() -> None:
    x = [5, 30, 20, 1, 1, 2, -1, 3, 4]
    n = [100, 100, 100, 0, 1, 1, 10, 2.5, np.nan]
    flags = outlier_flags(x, n, 0.2)
    # 1/1 is above the 99.8% limit (r_p - alpha) / n = 1 - 0.001/0.2 = 0.995; 2/1,
    # negative numerators, non-integer and missing denominators are not applicable.
    assert flags.tolist() == [
        "low_998", "high_95", "within", "not_applicable", "high_998",
        "not_applicable", "not_applicable", "not_applicable", "not_applicable",
    ]  # fmt: skip
    custom = outlier_flags([5, 30, 95], [100, 100, 100], 0.2, levels=(0.9, 0.999))
    assert custom.tolist() == ["low_999", "high_90", "high_999"]
    rates = outlier_flags([0, 12, 30], [1000, 2000, 2000], 0.005, family="poisson")
    assert rates.tolist() == ["low_95", "within", "high_998"]


def test_value_on_a_limit_is_within() -> None:
    # A value exactly on a limit is not an outlier (strict comparisons, as PHE);
    # n is a power of two so that (limit * n) / n == limit exactly.
    n = np.array([64.0])
    _, upper = proportion_limits(0.5, n, overdispersion=4.0)[0.95]
    flags = outlier_flags(upper * n, n, 0.5, overdispersion=4.0)
    assert flags.tolist() == ["within"]


def test_degenerate_targets_and_denominators() -> None:
    for target in (0.0, 1.0):
        lower, upper = proportion_limits(target, [10, 0])[0.95]
        assert lower[0] == upper[0] == target and np.isnan(lower[1])
    lower, upper = poisson_limits(0.0, [10.0])[0.998]
    assert lower[0] == upper[0] == 0.0
    # Non-integer binomial denominators, zero and negative exposures: NaN.
    lower, _ = proportion_limits(0.3, [10.5, -2, np.inf])[0.95]
    assert np.isnan(lower).all()
    lower, _ = poisson_limits(0.3, [0, -2, np.nan])[0.95]
    assert np.isnan(lower).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proportion_limits(0.3, [0, 1, 2])
        poisson_limits(1e-9, [0, 1, 2])
        outlier_flags([0, 0], [0, 0], 0.3)


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError, match="target"):
        proportion_limits(1.2, [10])
    with pytest.raises(ValueError, match="target"):
        poisson_limits(-1.0, [10])
    with pytest.raises(ValueError, match="levels"):
        proportion_limits(0.2, [10], levels=(95,))
    with pytest.raises(ValueError, match="overdispersion"):
        proportion_limits(0.2, [10], overdispersion=float("nan"))
    with pytest.raises(ValueError, match="winsor"):
        overdispersion_factor([1], [2], 0.2, winsor=0.5)
    with pytest.raises(ValueError, match="family"):
        outlier_flags([1], [2], 0.2, family="normal")  # type: ignore[arg-type]


# ============================================================================ properties

targets = st.floats(min_value=0.001, max_value=0.999)
sizes = st.lists(st.integers(min_value=1, max_value=100_000), min_size=1, max_size=20)


@given(targets, sizes)
def test_limits_in_range_and_nested(target: float, ns: list[int]) -> None:
    limits = proportion_limits(target, ns)
    lo95, hi95 = limits[0.95]
    lo998, hi998 = limits[0.998]
    assert np.all((0 <= lo998) & (lo998 <= lo95) & (lo95 <= hi95) & (hi95 <= hi998) & (hi998 <= 1))


@given(targets, st.integers(min_value=30, max_value=20_000), st.integers(min_value=4, max_value=50))
def test_funnel_narrows_with_n(target: float, n: int, k: int) -> None:
    # Exact limits are not strictly monotone in n (discreteness), but once the expected
    # counts are not tiny a k-fold (k >= 4) larger denominator gives a narrower funnel.
    assume(min(target, 1 - target) * n >= 5)
    lo1, hi1 = proportion_limits(target, [n])[0.95]
    lo2, hi2 = proportion_limits(target, [k * n])[0.95]
    assert hi2[0] - lo2[0] < hi1[0] - lo1[0]


@given(targets, sizes, st.floats(min_value=0.5, max_value=0.99), st.floats(min_value=0.5, max_value=0.99))
def test_limits_monotone_in_level(target: float, ns: list[int], a: float, b: float) -> None:
    a, b = min(a, b), max(a, b)
    limits = proportion_limits(target, ns, levels=(a, b))
    assert np.all(limits[b][0] <= limits[a][0] + 1e-12)
    assert np.all(limits[a][1] <= limits[b][1] + 1e-12)


@given(
    st.floats(min_value=1e-4, max_value=0.5),
    st.lists(st.floats(min_value=1.0, max_value=1e6), min_size=1, max_size=20),
)
def test_poisson_limits_nonnegative_and_nested(rate: float, exposures: list[float]) -> None:
    limits = poisson_limits(rate, exposures)
    lo95, hi95 = limits[0.95]
    lo998, hi998 = limits[0.998]
    assert np.all((0 <= lo998) & (lo998 <= lo95) & (lo95 <= hi95) & (hi95 <= hi998))


@given(targets, st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=8))
def test_flags_vectorised_equal_elementwise(target: float, cells: list[tuple[int, int]]) -> None:
    x = np.array([min(a, b) for a, b in cells], dtype=float)
    n = np.array([b for _, b in cells], dtype=float)
    flags = outlier_flags(x, n, target)
    assert np.all((flags == "not_applicable") == (n == 0))
    limits = proportion_limits(target, n)
    for i in range(len(cells)):
        assert outlier_flags(x[i : i + 1], n[i : i + 1], target)[0] == flags[i]
        for level in (0.95, 0.998):
            lo, hi = proportion_limits(target, n[i : i + 1])[level]
            np.testing.assert_array_equal([lo[0], hi[0]], [limits[level][0][i], limits[level][1][i]])
