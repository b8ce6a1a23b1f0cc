import itertools
import math
from collections import Counter

import numpy as np
import pytest
from example_support import assert_fits_on_card, load_example
from scipy.stats import chi2_contingency, norm

ab = load_example("ab_testing")

HALF = {"control": 0.5, "treatment": 0.5}


def test_region_fits_on_a_card():
    assert_fits_on_card("ab_testing.py", "bucketing-and-test")


def test_assignment_is_deterministic_and_process_independent():
    users = [f"user-{i}" for i in range(8)]
    first = [ab.assign(u, "checkout-button", HALF) for u in users]
    assert first == [ab.assign(u, "checkout-button", HALF) for u in users]
    # Golden values: sha256 does not change between processes, unlike Python's salted hash().
    assert first == [
        "control",
        "control",
        "control",
        "treatment",
        "control",
        "treatment",
        "control",
        "treatment",
    ]


def test_assignment_is_balanced_and_independent_across_experiments():
    users = [f"user-{i}" for i in range(100_000)]
    a = [ab.assign(u, "checkout-button", HALF) for u in users]
    b = [ab.assign(u, "new-ranker", HALF) for u in users]
    assert abs(Counter(a)["treatment"] / len(users) - 0.5) < 0.01  # sd is 0.0016
    same = sum(x == y for x, y in zip(a, b, strict=True)) / len(users)
    assert abs(same - 0.5) < 0.01  # a different salt reshuffles everyone

    three = Counter(ab.assign(u, "pricing", {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}) for u in users[:30_000])
    assert all(abs(count / 30_000 - 1 / 3) < 0.015 for count in three.values())


def test_uneven_splits_and_ramps_never_reshuffle_assigned_users():
    users = [f"user-{i}" for i in range(50_000)]
    ramp = [{"control": 1 - t, "treatment": t} for t in (0.01, 0.05, 0.2, 0.5)]
    stages = [[ab.assign(u, "new-ranker", split) for u in users] for split in ramp]
    for split, stage in zip(ramp, stages, strict=True):
        share = Counter(stage)["treatment"] / len(users)
        assert abs(share - split["treatment"]) < 0.01
    for before, after in itertools.pairwise(stages):
        # Everyone in treatment stays there as it grows; only control users move over.
        assert all(b == "control" or a == "treatment" for b, a in zip(before, after, strict=True))
    uneven = Counter(ab.assign(u, "pricing", {"a": 0.7, "b": 0.2, "c": 0.1}) for u in users)
    assert [round(uneven[v] / len(users), 2) for v in "abc"] == [0.7, 0.2, 0.1]
    with pytest.raises(ValueError, match=r"sum to 0\.9"):
        ab.assign("user-1", "pricing", {"a": 0.5, "b": 0.4})


def test_z_test_matches_the_chi_square_test_of_the_2x2_table():
    z, p = ab.two_proportion_ztest(400, 4000, 470, 4000)
    table = [[400, 3600], [470, 3530]]
    chi2, p_chi2, _, _ = chi2_contingency(table, correction=False)
    assert z > 0  # B converts better
    assert z**2 == pytest.approx(chi2)
    assert p == pytest.approx(p_chi2)
    assert 0.01 < p < 0.05


def test_z_test_false_positive_rate_is_alpha_under_the_null():
    rng = np.random.default_rng(0)
    n, trials = 2_000, 4_000
    conversions = rng.binomial(n, 0.1, size=(trials, 2))
    p_values = [ab.two_proportion_ztest(a, n, b, n)[1] for a, b in conversions]
    assert np.mean(np.array(p_values) < 0.05) == pytest.approx(0.05, abs=0.012)


def test_sample_size_matches_the_textbook_formula():
    # baseline 10%, +2 points absolute, alpha 0.05 two-sided, power 0.8:
    # n = (z_{1-a/2} sqrt(2 p q) + z_{1-b} sqrt(p1 q1 + p2 q2))^2 / delta^2, with p = (p1 + p2) / 2
    z_a, z_b = norm.ppf(0.975), norm.ppf(0.8)
    assert z_a == pytest.approx(1.959964, abs=1e-6) and z_b == pytest.approx(0.841621, abs=1e-6)
    textbook = (z_a * math.sqrt(2 * 0.11 * 0.89) + z_b * math.sqrt(0.1 * 0.9 + 0.12 * 0.88)) ** 2 / 0.02**2
    assert textbook == pytest.approx(3840.8, abs=0.1)
    assert ab.sample_size_per_arm(0.10, 0.02) == math.ceil(textbook) == 3841


def power(n, p1, p2, alpha=0.05):
    """Power of the two-sided pooled z-test with n per arm: the formula solved the other way."""
    p_bar = (p1 + p2) / 2
    shift = abs(p2 - p1) * math.sqrt(n) - norm.ppf(1 - alpha / 2) * math.sqrt(2 * p_bar * (1 - p_bar))
    return norm.cdf(shift / math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))


@pytest.mark.parametrize(("baseline", "mde"), [(0.10, 0.02), (0.05, 0.01), (0.30, -0.03)])
def test_sample_size_is_the_smallest_n_reaching_the_power(baseline, mde):
    n = ab.sample_size_per_arm(baseline, mde)
    assert power(n, baseline, baseline + mde) >= 0.8 > power(n - 1, baseline, baseline + mde)
