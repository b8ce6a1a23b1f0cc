"""A/B testing: deterministic assignment, a two-proportion z-test and the sample size to plan for."""

from __future__ import annotations

import hashlib
import math

from scipy.stats import norm


# region bucketing-and-test
def assign(user_id: str, experiment: str, variants: tuple[str, ...] = ("control", "treatment")) -> str:
    """Same user + experiment -> same variant on every call and server; salting by experiment
    name makes assignments independent across experiments."""
    digest = hashlib.sha256(f"{experiment}:{user_id}".encode()).digest()
    return variants[int.from_bytes(digest[:8], "big") % len(variants)]


def two_proportion_ztest(conversions_a: int, n_a: int, conversions_b: int, n_b: int) -> tuple[float, float]:
    """z statistic and two-sided p-value for H0: p_a == p_b (pooled standard error)."""
    p_a, p_b = conversions_a / n_a, conversions_b / n_b
    pooled = (conversions_a + conversions_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = (p_b - p_a) / se
    return z, float(2 * norm.sf(abs(z)))


def sample_size_per_arm(baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Users per arm to detect an absolute lift ``mde`` with a two-sided test (normal approximation)."""
    p1, p2 = baseline, baseline + mde
    p_bar = (p1 + p2) / 2
    z_alpha, z_power = norm.ppf(1 - alpha / 2), norm.ppf(power)
    n = (
        z_alpha * math.sqrt(2 * p_bar * (1 - p_bar))  # spread under H0 (pooled)
        + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))  # spread under H1
    ) ** 2 / mde**2
    return math.ceil(n)
    # endregion


if __name__ == "__main__":
    print("per arm:", sample_size_per_arm(0.10, 0.02))  # 3841
    print("z, p:", two_proportion_ztest(400, 4000, 470, 4000))
