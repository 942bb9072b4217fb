"""kadindicators.stats.intervals against published worked examples, plus properties."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kadindicators.stats import clopper_pearson, dsr, mean_t, poisson_exact, rate_interval, wilson

Z95 = 1.959963984540054  # qnorm(0.975)


# ============================================================================ published examples


# Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of
# seven methods. Stat Med 1998;17:857-872, Table I (illustrative intervals for 81/263,
# 15/148, 0/20, 1/29 and 29/29), method 3 = Wilson score, method 5 = Clopper-Pearson.
# The 81/263 -> 0.2553-0.3662 row also appears in public test suites checked against
# the paper. Values are published to 4 decimals.
NEWCOMBE = [
    # x,   n,   wilson (lo, hi),    exact (lo, hi)
    (81, 263, (0.2553, 0.3662), (0.2527, 0.3676)),
    (15, 148, (0.0624, 0.1605), (0.0578, 0.1617)),
    (0, 20, (0.0000, 0.1611), (0.0000, 0.1684)),
    (1, 29, (0.0061, 0.1718), (0.0009, 0.1776)),
    (29, 29, (0.8830, 1.0000), (0.8806, 1.0000)),
]


@pytest.mark.parametrize(("x", "n", "expected", "_exact"), NEWCOMBE)
def test_wilson_matches_newcombe_1998(x: int, n: int, expected: tuple[float, float], _exact: object) -> None:
    lower, upper = wilson([x], [n])
    assert lower[0] == pytest.approx(expected[0], abs=5e-5)
    assert upper[0] == pytest.approx(expected[1], abs=5e-5)


@pytest.mark.parametrize(("x", "n", "_wilson", "expected"), NEWCOMBE)
def test_clopper_pearson_matches_newcombe_1998(
    x: int, n: int, _wilson: object, expected: tuple[float, float]
) -> None:
    lower, upper = clopper_pearson([x], [n])
    assert lower[0] == pytest.approx(expected[0], abs=5e-5)
    assert upper[0] == pytest.approx(expected[1], abs=5e-5)


def test_clopper_pearson_matches_conover_table() -> None:
    # 5 surviving seedlings out of 25: exact 95% limits 0.068 to 0.407 "from the tables
    # given by Conover (1999)", InfluentialPoints, Confidence intervals of proportions,
    # http://influentialpoints.com/Training/confidence_intervals_of_proportions.htm
    lower, upper = clopper_pearson([5], [25])
    assert (round(float(lower[0]), 3), round(float(upper[0]), 3)) == (0.068, 0.407)


def test_wilson_is_the_ohid_formula() -> None:
    # OHID Public Health Technical Guidance, Proportions:
    #   p_lower/upper = (2O + z^2 -/+ z sqrt(z^2 + 4Oq)) / (2(n + z^2))
    # https://fingertips.phe.org.uk/static-reports/public-health-technical-guidance/Basic_statistics/Proportions.html
    rng = np.random.default_rng(1)
    n = rng.integers(1, 10_000, size=500).astype(float)
    o = np.floor(rng.random(500) * (n + 1))
    q = 1 - o / n
    root = Z95 * np.sqrt(Z95**2 + 4 * o * q)
    lower, upper = wilson(o, n)
    np.testing.assert_allclose(lower, (2 * o + Z95**2 - root) / (2 * (n + Z95**2)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(upper, (2 * o + Z95**2 + root) / (2 * (n + Z95**2)), rtol=1e-12, atol=1e-12)


def test_wilson_phe_test_inputs_at_998() -> None:
    # PHEindicatormethods tests/testthat/testWilson.R uses x = (65, 1045), n = (100, 5000)
    # at 95% and 99.8%; the expected values live in a spreadsheet, so here the OHID
    # formula with z = qnorm(0.999) = 3.090232 is the reference.
    z = 3.090232306167813
    o, n = np.array([65.0, 1045.0]), np.array([100.0, 5000.0])
    root = z * np.sqrt(z * z + 4 * o * (1 - o / n))
    lower, upper = wilson(o, n, confidence=0.998)
    np.testing.assert_allclose(lower, (2 * o + z * z - root) / 2 / (n + z * z), rtol=1e-12)
    np.testing.assert_allclose(upper, (2 * o + z * z + root) / 2 / (n + z * z), rtol=1e-12)


# Exact Poisson limits. x = 0 -> upper 3.689: epitools::pois.exact documentation ("When
# x = 0, for the upper confidence limit pois.exact returns 3.689",
# https://rdocumentation.org/link/pois.exact?package=epitools&version=0.5-10.1).
# x = 1, 2, 10: the standard tabulated 95% limits (Garwood 1936, Biometrika 28:437;
# reproduced e.g. in Ulm K, Am J Epidemiol 1990;131:373-375), which are the chi-square
# quantiles of the OHID "chi-squared exact method" (Rates guidance).
GARWOOD_95 = [(0, 0.0, 3.689), (1, 0.0253, 5.572), (2, 0.2422, 7.225), (10, 4.795, 18.39)]


@pytest.mark.parametrize(("x", "lo", "hi"), GARWOOD_95)
def test_poisson_exact_matches_garwood_table(x: int, lo: float, hi: float) -> None:
    lower, upper = poisson_exact([x])
    assert lower[0] == pytest.approx(lo, abs=6e-4)
    assert upper[0] == pytest.approx(hi, abs=6e-3)


def test_poisson_exact_within_byar_claim() -> None:
    # OHID Technical Guide: Confidence Intervals (25 May 2018), Appendix 1: "For 95%
    # confidence intervals, Byar's method is within 0.2% of the exact value for
    # numerators of 10 or more." Byar's formulae as in the OHID Rates guidance:
    #   O_lower = O (1 - 1/(9O) - z/(3 sqrt O))^3,
    #   O_upper = (O+1) (1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3
    # https://fingertips.phe.org.uk/static-reports/public-health-technical-guidance/Basic_statistics/Rates.html
    o = np.arange(10, 3001, dtype=float)
    byar_lower = o * (1 - 1 / (9 * o) - Z95 / (3 * np.sqrt(o))) ** 3
    byar_upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z95 / (3 * np.sqrt(o + 1))) ** 3
    lower, upper = poisson_exact(o)
    assert np.max(np.abs(byar_lower / lower - 1)) < 0.002
    assert np.max(np.abs(byar_upper / upper - 1)) < 0.002


def test_rate_interval_is_exact_count_over_exposure() -> None:
    # OHID Rates guidance: r_lower = O_lower / n, r_upper = O_upper / n.
    value, lower, upper = rate_interval([2, 137], [1000.0, 24.19893], multiplier=1.0)
    count_lower, count_upper = poisson_exact([2, 137])
    np.testing.assert_allclose(value, [0.002, 137 / 24.19893])
    np.testing.assert_allclose(lower, count_lower / [1000.0, 24.19893])
    np.testing.assert_allclose(upper, count_upper / [1000.0, 24.19893])


# Fay MP, Feuer EJ. Stat Med 1997;16:791-801, Table II: Down's syndrome, Michigan
# 1950-1964, birth order 5+, standard = all live births by maternal age (data from
# Fleiss 1981, Table 14.4). Gamma-method DSR per 100 000 and 95% CI as printed by the
# dsrTest vignette, which reproduces the paper:
# https://stat.ethz.ch/CRAN/web/packages/dsrTest/vignettes/dsrTest-example.html
DOWNS_X = [0, 8, 63, 112, 262, 295]
DOWNS_N = [327, 30666, 123419, 149919, 104088, 34392]
DOWNS_W = [319933, 931318, 786511, 488235, 237863, 61313]


def test_dsr_gamma_matches_fay_feuer_1997() -> None:
    value, lower, upper = dsr(DOWNS_X, DOWNS_N, DOWNS_W, groups=[0] * 6, multiplier=1e5, method="gamma")
    assert value[0] == pytest.approx(75.52901, abs=1e-5)
    assert lower[0] == pytest.approx(67.70212, abs=1e-5)
    assert upper[0] == pytest.approx(188.30017, abs=1e-5)


def test_dsr_dobson_matches_ohid_formula_with_byar() -> None:
    # OHID Technical Guide: Confidence Intervals, Appendix 4 (Dobson's method):
    #   DSR_lower = DSR + sqrt(var(DSR) / O) * (O_lower - O), likewise upper,
    # with O_lower/O_upper from Byar's method (OHID publishes DSRs only for O >= 10).
    # Independent re-implementation on the Fay & Feuer data; Byar's limits differ from
    # the exact ones used here by < 0.2%, which bounds the difference of the limits.
    x, n, w = (np.asarray(a, dtype=float) for a in (DOWNS_X, DOWNS_N, DOWNS_W))
    w = w / w.sum()
    rate = np.sum(w * x / n)
    var = np.sum(w * w * x / n**2)
    o = x.sum()
    o_lo = o * (1 - 1 / (9 * o) - Z95 / (3 * np.sqrt(o))) ** 3
    o_hi = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z95 / (3 * np.sqrt(o + 1))) ** 3
    phe_lower = 1e5 * (rate + np.sqrt(var / o) * (o_lo - o))
    phe_upper = 1e5 * (rate + np.sqrt(var / o) * (o_hi - o))
    value, lower, upper = dsr(DOWNS_X, DOWNS_N, DOWNS_W, groups=[0] * 6, multiplier=1e5)
    assert value[0] == pytest.approx(75.52901, abs=1e-5)
    assert lower[0] == pytest.approx(phe_lower, rel=2e-3)
    assert upper[0] == pytest.approx(phe_upper, rel=2e-3)
    # Regression values of this implementation (exact Garwood limits on O = 740).
    assert (round(float(lower[0]), 4), round(float(upper[0]), 4)) == (67.6328, 83.8670)


def test_dsr_single_stratum_is_the_crude_rate() -> None:
    # With one stratum Dobson's limits reduce to the exact limits of the crude rate.
    value, lower, upper = dsr([7, 0, 30], [1500, 800, 2000], [1, 1, 1], groups=[0, 1, 2])
    v2, l2, u2 = rate_interval([7, 0, 30], [1500, 800, 2000])
    np.testing.assert_allclose(value, v2)
    np.testing.assert_allclose(lower[[0, 2]], l2[[0, 2]], rtol=1e-12)
    np.testing.assert_allclose(upper[[0, 2]], u2[[0, 2]], rtol=1e-12)
    assert value[1] == 0 and np.isnan(lower[1]) and np.isnan(upper[1])  # Dobson undefined at O = 0


def test_dsr_gamma_zero_events() -> None:
    # Fay & Feuer: with no events the lower limit is 0 and the upper limit is the
    # gamma(1, w_M) quantile, w_M * -log(alpha/2).
    value, lower, upper = dsr([0, 0], [100, 400], [1, 1], groups=[0, 0], multiplier=1.0, method="gamma")
    assert value[0] == 0 and lower[0] == 0
    assert upper[0] == pytest.approx(0.5 / 100 * -np.log(0.025), rel=1e-12)


def test_mean_t_matches_sas_univariate_example() -> None:
    # SAS/STAT PROC UNIVARIATE, Example 4.9 "Computing Confidence Limits for the Mean,
    # Standard Deviation, and Variance": 75 female heights, 95% CI for the mean
    # (64.06, 65.07).
    # https://go.documentation.sas.com/doc/en/pgmsascdc/9.4_3.5/procstat/procstat_univariate_examples09.htm
    heights = np.array(
        [64.1, 60.9, 64.1, 64.7, 66.7, 65.0, 63.7, 67.4, 64.9, 63.7,
         64.0, 67.5, 62.8, 63.9, 65.9, 62.3, 64.1, 60.6, 68.6, 68.6,
         63.7, 63.0, 64.7, 68.2, 66.7, 62.8, 64.0, 64.1, 62.1, 62.9,
         62.7, 60.9, 61.6, 64.6, 65.7, 66.6, 66.7, 66.0, 68.5, 64.4,
         60.5, 63.0, 60.0, 61.6, 64.3, 60.2, 63.5, 64.7, 66.0, 65.1,
         63.6, 62.0, 63.6, 65.8, 66.0, 65.4, 63.5, 66.3, 66.2, 67.5,
         65.8, 63.1, 65.8, 64.4, 64.0, 64.9, 65.7, 61.0, 64.1, 65.5,
         68.6, 66.6, 65.7, 65.1, 70.0]
    )  # fmt: skip
    assert heights.size == 75
    # Sufficient statistics merged from three partitions.
    parts = np.array_split(heights, 3)
    total = sum(p.sum() for p in parts)
    total_sq = sum((p**2).sum() for p in parts)
    mean, lower, upper = mean_t([total], [total_sq], [75])
    assert (round(float(lower[0]), 2), round(float(upper[0]), 2)) == (64.06, 65.07)
    assert mean[0] == pytest.approx(heights.mean())


def test_mean_t_matches_snedecor_cochran_via_statpsych() -> None:
    # statpsych::ci.mean example (Snedecor & Cochran 1980): mean 24.5, SD 3.65, n 40 ->
    # SE 0.5771157, LL 23.33267, UL 25.66733.  https://rdrr.io/pkg/statpsych/man/ci.mean.html
    n, m, sd = 40, 24.5, 3.65
    total, total_sq = n * m, (n - 1) * sd**2 + n * m**2
    mean, lower, upper = mean_t([total], [total_sq], [n])
    assert mean[0] == pytest.approx(24.5)
    assert lower[0] == pytest.approx(23.33267, abs=5e-6)
    assert upper[0] == pytest.approx(25.66733, abs=5e-6)


# ============================================================================ undefined -> NaN


def test_nan_exactly_where_undefined() -> None:
    x = [0, 3, 5, -1, 4, np.nan, 2]
    n = [0, 0, 4, 10, 10, 10, np.inf]
    for func in (wilson, clopper_pearson):
        lower, upper = func(x, n)
        expected = np.array([True, True, True, True, False, True, True])
        np.testing.assert_array_equal(np.isnan(lower), expected)
        np.testing.assert_array_equal(np.isnan(upper), expected)
    lower, upper = poisson_exact([0, -1, np.nan, np.inf, 3])
    np.testing.assert_array_equal(np.isnan(lower), [False, True, True, True, False])
    value, lower, upper = rate_interval([1, 1, -1, 0], [0, -5, 10, 10])
    np.testing.assert_array_equal(np.isnan(value), [True, True, True, False])
    mean, lower, upper = mean_t([0, 5, 6, 9, np.nan], [0, 25, 20, 41, 1], [0, 1, 2, 2, 3])
    np.testing.assert_array_equal(np.isnan(mean), [True, False, False, False, True])
    np.testing.assert_array_equal(np.isnan(lower), [True, True, False, False, True])


def test_dsr_nan_groups() -> None:
    counts = [1, 2, 0, 0, 3, 4, 5, 6]
    pops = [10, 20, 0, 0, 30, 0, 50, 60]
    std = [1, 2, 1, 2, 1, 2, 1, 2]
    groups = [0, 0, 1, 1, 2, 2, 4, 4]
    for method in ("dobson", "gamma"):
        value, _, upper = dsr(
            counts, pops, std, groups=groups, method=method, n_groups=6  # type: ignore[arg-type]
        )
        assert value.shape == (6,)
        # group 1: zero total population; 2: a zero-population stratum with events;
        # 3 and 5: no rows.
        np.testing.assert_array_equal(np.isnan(value), [False, True, True, True, False, True])
        np.testing.assert_array_equal(np.isnan(upper), [False, True, True, True, False, True])


def test_no_runtime_warnings_on_degenerate_input() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wilson([0, 1, np.nan], [0, 0, 0])
        clopper_pearson([0, 1, np.nan], [0, 0, 0])
        poisson_exact([np.nan, -1, 0])
        rate_interval([0, 1], [0, 0])
        dsr([0, 0], [0, 0], [0, 0], groups=[0, 1])
        dsr([0, 0], [1, 1], [0, 0], groups=[0, 1], method="gamma")
        mean_t([0, 1], [0, 1], [0, 1])
        wilson([], [])
        dsr([], [], [], groups=np.array([], dtype=int))


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError, match="confidence"):
        wilson([1], [2], confidence=95)
    with pytest.raises(ValueError, match="equal length"):
        wilson([1, 2], [2])
    with pytest.raises(ValueError, match="method"):
        dsr([1], [2], [1], groups=[0], method="byar")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="integer"):
        dsr([1], [2], [1], groups=[0.5])
    with pytest.raises(ValueError, match="n_groups"):
        dsr([1], [2], [1], groups=[3], n_groups=2)


def test_importing_stats_does_not_import_scipy() -> None:
    code = "import sys, kadindicators, kadindicators.stats; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ============================================================================ properties

counts_and_sizes = st.integers(min_value=1, max_value=5000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)
levels = st.floats(min_value=0.5, max_value=0.999)


@given(counts_and_sizes, levels)
def test_proportion_limits_are_ordered(xn: tuple[int, int], confidence: float) -> None:
    x, n = xn
    for func in (wilson, clopper_pearson):
        lower, upper = func([x], [n], confidence)
        assert 0.0 <= lower[0] <= x / n <= upper[0] <= 1.0


@given(counts_and_sizes, st.integers(min_value=2, max_value=20))
def test_proportion_intervals_shrink_with_n(xn: tuple[int, int], k: int) -> None:
    x, n = xn
    for func in (wilson, clopper_pearson):
        lo1, hi1 = func([x], [n])
        lo2, hi2 = func([k * x], [k * n])
        assert hi2[0] - lo2[0] < hi1[0] - lo1[0]


@given(counts_and_sizes, levels, levels)
def test_limits_monotone_in_confidence(xn: tuple[int, int], c1: float, c2: float) -> None:
    c1, c2 = min(c1, c2), max(c1, c2)
    x, n = xn
    tol = 1e-12
    for func in (wilson, clopper_pearson):
        lo1, hi1 = func([x], [n], c1)
        lo2, hi2 = func([x], [n], c2)
        assert lo2[0] <= lo1[0] + tol and hi1[0] <= hi2[0] + tol
    lo1, hi1 = poisson_exact([x], c1)
    lo2, hi2 = poisson_exact([x], c2)
    assert lo2[0] <= lo1[0] + tol and hi1[0] <= hi2[0] * (1 + tol)
    _, lo1, hi1 = mean_t([x], [x * x + n], [n + 2], c1)
    _, lo2, hi2 = mean_t([x], [x * x + n], [n + 2], c2)
    assert lo2[0] <= lo1[0] + tol and hi1[0] <= hi2[0] + tol


@given(st.integers(min_value=0, max_value=10_000), st.floats(min_value=0.1, max_value=1e6), levels)
def test_rate_limits_bracket_the_rate(count: int, exposure: float, confidence: float) -> None:
    value, lower, upper = rate_interval([count], [exposure], 1000.0, confidence)
    assert 0.0 <= lower[0] <= value[0] <= upper[0]
    if count == 0:
        assert lower[0] == 0.0


@given(st.integers(min_value=1, max_value=2000), st.integers(min_value=2, max_value=20))
def test_rate_interval_shrinks_with_exposure(count: int, k: int) -> None:
    _, lo1, hi1 = rate_interval([count], [100.0])
    _, lo2, hi2 = rate_interval([k * count], [k * 100.0])
    assert hi2[0] - lo2[0] < hi1[0] - lo1[0]


@given(st.lists(counts_and_sizes, min_size=1, max_size=25), levels)
def test_vectorised_equals_elementwise(cells: list[tuple[int, int]], confidence: float) -> None:
    x = np.array([c[0] for c in cells], dtype=float)
    n = np.array([c[1] for c in cells], dtype=float)
    for func in (wilson, clopper_pearson):
        lower, upper = func(x, n, confidence)
        for i in range(len(cells)):
            lo, hi = func(x[i : i + 1], n[i : i + 1], confidence)
            assert lower[i] == lo[0] and upper[i] == hi[0]
    value, lower, upper = rate_interval(x, n, 1000.0, confidence)
    for i in range(len(cells)):
        v, lo, hi = rate_interval(x[i : i + 1], n[i : i + 1], 1000.0, confidence)
        assert (value[i], lower[i], upper[i]) == (v[0], lo[0], hi[0])


strata = st.lists(
    st.tuples(st.integers(min_value=0, max_value=300), st.integers(min_value=1, max_value=50_000)),
    min_size=1,
    max_size=6,
)


@given(st.lists(strata, min_size=1, max_size=5), st.sampled_from(["dobson", "gamma"]), levels)
def test_dsr_vectorised_equals_per_group(
    groups_data: list[list[tuple[int, int]]], method: str, confidence: float
) -> None:
    counts, pops, std, codes = [], [], [], []
    for g, rows in enumerate(groups_data):
        for j, (o, n) in enumerate(rows):
            counts.append(o)
            pops.append(n)
            std.append(float(j + 1))
            codes.append(g)
    value, lower, upper = dsr(
        counts, pops, std, groups=codes, method=method, confidence=confidence  # type: ignore[arg-type]
    )
    codes_arr = np.asarray(codes)
    for g in range(len(groups_data)):
        sel = codes_arr == g
        v, lo, hi = dsr(
            np.asarray(counts)[sel], np.asarray(pops)[sel], np.asarray(std)[sel],
            groups=np.zeros(sel.sum(), dtype=int),
            method=method,  # type: ignore[arg-type]
            confidence=confidence,
        )
        np.testing.assert_allclose([value[g], lower[g], upper[g]], [v[0], lo[0], hi[0]], rtol=1e-12)
        assert lower[g] <= value[g] <= upper[g] or (np.isnan(lower[g]) and method == "dobson")


@given(strata, st.floats(min_value=1.0, max_value=1e5))
def test_dsr_with_own_population_as_standard_is_crude_rate(rows: list[tuple[int, int]], mult: float) -> None:
    counts = [o for o, _ in rows]
    pops = [n for _, n in rows]
    value, _, _ = dsr(counts, pops, pops, groups=[0] * len(rows), multiplier=mult)
    assert value[0] == pytest.approx(mult * sum(counts) / sum(pops), rel=1e-9)


@given(
    st.lists(st.floats(min_value=-1e3, max_value=1e3), min_size=2, max_size=40),
    st.integers(min_value=1, max_value=4),
)
def test_mean_t_merges_partitions(data: list[float], parts: int) -> None:
    from scipy import stats as sps  # type: ignore[import-untyped]

    arr = np.asarray(data)
    chunks = np.array_split(arr, parts)
    total = np.array([c.sum() for c in chunks])
    total_sq = np.array([(c**2).sum() for c in chunks])
    count = np.array([c.size for c in chunks])
    mean, lower, upper = mean_t([total.sum()], [total_sq.sum()], [count.sum()])
    assert mean[0] == pytest.approx(arr.mean(), abs=1e-9)
    sem = arr.std(ddof=1) / np.sqrt(arr.size)
    if sem > 1e-6 * max(1.0, float(np.abs(arr).max())):
        ref_lo, ref_hi = sps.t.interval(0.95, arr.size - 1, loc=arr.mean(), scale=sem)
        assert lower[0] == pytest.approx(ref_lo, rel=1e-6, abs=1e-6)
        assert upper[0] == pytest.approx(ref_hi, rel=1e-6, abs=1e-6)
    # The partial statistics computed cell by cell agree with the merged ones.
    m_parts, _, _ = mean_t(total, total_sq, count)
    np.testing.assert_allclose(np.nansum(m_parts * count), total.sum(), atol=1e-6)


def test_dsr_empty_strata_zero_keeps_the_weight() -> None:
    # Stratum 2 has no population and no events: with empty_strata="zero" its rate is 0 and its
    # weight stays in sum(w): DSR = (1 * 5/1000 + 1 * 0) / 2 = 0.0025; undefined by default.
    value, lower, upper = dsr([5, 0], [1000, 0], [1, 1], groups=[0, 0], multiplier=1.0, method="gamma",
                              empty_strata="zero")
    assert value[0] == pytest.approx(0.0025, rel=1e-15)
    # rate, standard error and w_M are all half those of the one populated stratum alone, so the
    # gamma limits are half its limits too
    _, flo, fhi = dsr([5], [1000], [1], groups=[0], multiplier=1.0, method="gamma")
    assert (lower[0], upper[0]) == pytest.approx((flo[0] / 2, fhi[0] / 2), rel=1e-12)
    default = dsr([5, 0], [1000, 0], [1, 1], groups=[0, 0], multiplier=1.0, method="gamma")
    assert np.isnan(default[0][0])
    # events without population stay undefined either way
    bad = dsr([5, 1], [1000, 0], [1, 1], groups=[0, 0], method="gamma", empty_strata="zero")
    assert np.isnan(bad[0][0])
    # a group whose strata are all empty has no rate
    none = dsr([0, 0], [0, 0], [1, 1], groups=[0, 0], method="gamma", empty_strata="zero")
    assert np.isnan(none[0][0])
    with pytest.raises(ValueError):
        dsr([1], [1], [1], groups=[0], empty_strata="drop")  # type: ignore[arg-type]
