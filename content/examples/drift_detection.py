"""Feature drift: PSI on reference quantile bins plus a two-sample KS test, globally and per slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


# region drift-checks
def psi(reference, current, bins: int = 10, eps: float = 1e-4) -> float:
    """PSI on reference deciles: ~0.1 moderate, > 0.2 a major shift."""
    cuts = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
    edges = np.unique(cuts)  # values outside the range: outer bins

    def shares(x: np.ndarray) -> np.ndarray:
        bins = np.searchsorted(edges, x, side="right")
        counts = np.bincount(bins, minlength=len(edges) + 1)
        return np.clip(counts / len(x), eps, None)  # no log(0)

    ref, cur = shares(reference), shares(current)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def drift_check(reference, current, max_psi=0.2, alpha=0.01) -> dict:
    """Alarm when the shift is large (PSI) and real (KS): alone, KS
    flags trivia at scale and PSI is noisy on small samples."""
    value = psi(np.asarray(reference), np.asarray(current))
    p = float(stats.ks_2samp(reference, current).pvalue)
    drift = value > max_psi and p < alpha
    return {"psi": value, "ks_pvalue": p, "drift": drift}


def drift_by_slice(reference, current, feature: str, by: str) -> dict:
    """Drift in one cohort is diluted globally: check each slice too."""
    whole = drift_check(reference[feature], current[feature])
    known = dict(tuple(reference.groupby(by)))
    report = {"global": whole}
    for name, values in current.groupby(by)[feature]:
        if name in known:
            report[name] = drift_check(known[name][feature], values)
        else:  # e.g. a new country: drift by definition
            report[name] = {"new_slice": True, "drift": True}
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
