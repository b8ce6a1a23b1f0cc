"""A/B testing: deterministic assignment, a two-proportion z-test and the sample size to plan for."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math

from scipy.stats import norm

BUCKETS = 10_000  # allocation granularity: 0.01% of traffic


# region bucketing-and-test
def assign(user_id: str, experiment: str, split: dict) -> str:
    """Same user, same variant, on any server; salted per experiment.
    Variants own fixed bucket ranges, so ramping the last from 1% to
    50% only moves users into it: no one in it is reshuffled."""
    if not math.isclose(sum(split.values()), 1):
        raise ValueError(f"shares sum to {sum(split.values())}, not 1")
    digest = hashlib.sha256(f"{experiment}:{user_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % BUCKETS
    edges = itertools.accumulate(split.values())
    ranges = [round(edge * BUCKETS) for edge in edges]  # up to BUCKETS
    return list(split)[bisect.bisect_right(ranges, bucket)]


def two_proportion_ztest(conv_a: int, n_a: int, conv_b: int, n_b: int):
    """z and two-sided p-value for H0: p_a == p_b (pooled SE)."""
    pooled = (conv_a + conv_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = (conv_b / n_b - conv_a / n_a) / se
    return z, float(2 * norm.sf(abs(z)))


def sample_size_per_arm(baseline, mde, alpha=0.05, power=0.8) -> int:
    """Users per arm to detect an absolute lift ``mde``, two-sided."""
    p1, p2 = baseline, baseline + mde
    p_bar = (p1 + p2) / 2
    z_alpha, z_power = norm.ppf(1 - alpha / 2), norm.ppf(power)
    n = (
        z_alpha * math.sqrt(2 * p_bar * (1 - p_bar))  # spread under H0
        + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))  # under H1
    ) ** 2 / mde**2
    return math.ceil(n)
    # endregion


if __name__ == "__main__":
    print("per arm:", sample_size_per_arm(0.10, 0.02))  # 3841
    print("z, p:", two_proportion_ztest(400, 4000, 470, 4000))
