"""Feature drift: PSI on reference quantile bins plus a two-sample KS test, globally and per slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


# region drift-checks
def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10, eps: float = 1e-4) -> float:
    """Population Stability Index over deciles of the reference; ~0.1 moderate, > 0.2 major shift."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))  # inner cut points

    def shares(x: np.ndarray) -> np.ndarray:  # values beyond the reference range land in the outer bins
        counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1)
        return np.clip(counts / len(x), eps, None)  # an empty bin would make the log infinite

    ref, cur = shares(reference), shares(current)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def drift_check(reference, current, psi_threshold: float = 0.2, alpha: float = 0.01) -> dict:
    """Alarm only when the shift is both large (PSI) and statistically real (KS).

    With millions of rows KS alone flags negligible shifts; with a few hundred PSI is noisy.
    """
    value = psi(np.asarray(reference), np.asarray(current))
    p_value = float(stats.ks_2samp(reference, current).pvalue)
    return {"psi": value, "ks_pvalue": p_value, "drift": value > psi_threshold and p_value < alpha}


def drift_by_slice(reference: pd.DataFrame, current: pd.DataFrame, feature: str, by: str) -> dict:
    """Drift confined to one cohort is diluted in the global distribution: check each slice too."""
    report = {"global": drift_check(reference[feature], current[feature])}
    for name, cur in current.groupby(by):
        report[name] = drift_check(reference.loc[reference[by] == name, feature], cur[feature])
    return report
    # endregion


def make_traffic(n: int = 20_000, shift: float = 0.0, shifted_cohort: str | None = None, seed: int = 0):
    """A feature (say, basket value in z-units) for traffic from four countries."""
    rng = np.random.default_rng(seed)
    country = rng.choice(["US", "DE", "FR", "NZ"], size=n, p=[0.5, 0.25, 0.2, 0.05])
    value = rng.normal(0.0, 1.0, n)
    mask = np.ones(n, bool) if shifted_cohort is None else country == shifted_cohort
    value[mask] += shift
    return pd.DataFrame({"country": country, "basket": value})


if __name__ == "__main__":
    reference = make_traffic(seed=0)
    for label, current in [
        ("same distribution", make_traffic(seed=1)),
        ("global shift", make_traffic(shift=1.0, seed=1)),
        ("NZ-only shift", make_traffic(shift=1.5, shifted_cohort="NZ", seed=1)),
    ]:
        report = drift_by_slice(reference, current, "basket", by="country")
        print(label, {k: (round(v["psi"], 3), v["drift"]) for k, v in report.items()})
