import numpy as np
import pytest
from example_support import assert_fits_on_card, load_example

dd = load_example("drift_detection")


@pytest.fixture(scope="module")
def reference():
    return dd.make_traffic(seed=0)


def test_region_fits_on_a_card():
    assert_fits_on_card("drift_detection.py", "drift-checks")


def test_psi_is_zero_for_identical_samples_and_grows_with_the_shift():
    x = np.random.default_rng(0).normal(size=10_000)
    assert dd.psi(x, x) == pytest.approx(0.0, abs=1e-12)
    values = [dd.psi(x, x + shift) for shift in (0.1, 0.5, 1.0)]
    assert values == sorted(values)
    assert values[0] < 0.1 and values[-1] > 0.2


def test_psi_handles_values_outside_the_reference_range():
    x = np.random.default_rng(1).uniform(0, 1, 5_000)
    assert np.isfinite(dd.psi(x, x + 10))  # everything lands in the top bin; clipped shares keep it finite
    assert dd.psi(x, x + 10) > 1.0


def test_no_alarm_when_the_distribution_is_unchanged(reference):
    report = dd.drift_by_slice(reference, dd.make_traffic(seed=1), "basket", by="country")
    assert not any(check["drift"] for check in report.values())
    assert report["global"]["psi"] < 0.01


def test_alarm_on_a_global_shift(reference):
    check = dd.drift_check(reference["basket"], dd.make_traffic(shift=1.0, seed=1)["basket"])
    assert check["drift"]
    assert check["psi"] > 0.2 and check["ks_pvalue"] < 1e-10


def test_per_slice_check_catches_drift_confined_to_one_cohort(reference):
    current = dd.make_traffic(shift=1.5, shifted_cohort="NZ", seed=1)  # NZ is 5% of traffic
    report = dd.drift_by_slice(reference, current, "basket", by="country")

    assert not report["global"]["drift"]  # diluted: the global PSI barely moves
    assert report["global"]["psi"] < 0.05
    assert report["NZ"]["drift"]
    assert [name for name, check in report.items() if check["drift"]] == ["NZ"]


def test_a_slice_missing_from_the_reference_is_reported_not_a_crash(reference):
    current = dd.make_traffic(seed=1)
    current.loc[current.index[:300], "country"] = "BR"  # a market launched after the reference window
    report = dd.drift_by_slice(reference, current, "basket", by="country")

    assert report["BR"] == {"new_slice": True, "drift": True}
    assert [name for name, check in report.items() if check["drift"]] == ["BR"]
    assert set(report) == {"global", "US", "DE", "FR", "NZ", "BR"}
