"""Is a candidate better than the live version on the same inputs? Mann–Whitney U for a
difference, a bootstrap CI of the median difference for non-inferiority margins."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
from pydantic import BaseModel
from scipy import stats


class Verdict(StrEnum):
    better = "better"
    non_inferior = "non_inferior"
    worse = "worse"


class Comparison(BaseModel):
    metric: str
    live_median: float
    candidate_median: float
    p_value: float
    diff_ci: tuple[float, float]
    margin: float
    verdict: Verdict


def compare(
    metric: str,
    live: Sequence[float] | np.ndarray,
    candidate: Sequence[float] | np.ndarray,
    *,
    higher_is_better: bool,
    margin: float,
    seed: int = 0,
    statistic: str = "median",
) -> Comparison:
    """`better`: significantly better (p < 0.05); `non_inferior`: the 95% bootstrap CI of the
    difference (of medians, or of means — use means for 0/1 outcomes such as validity, whose
    medians jump between 0 and 1 in small samples) stays within `margin` on the bad side; else `worse`."""
    centre = np.mean if statistic == "mean" else np.median
    a, b = np.asarray(live, float), np.asarray(candidate, float)
    p = float(stats.mannwhitneyu(b, a, alternative="greater" if higher_is_better else "less").pvalue) if len(a) and len(b) else 1.0
    rng = np.random.default_rng(seed)
    diffs = [centre(rng.choice(b, len(b))) - centre(rng.choice(a, len(a))) for _ in range(2000)]
    low, high = (float(np.percentile(diffs, q)) for q in (2.5, 97.5))
    sign = 1 if higher_is_better else -1
    worst = low if higher_is_better else high
    if p < 0.05 and sign * (centre(b) - centre(a)) > 0:
        verdict = Verdict.better
    elif sign * worst >= -margin:
        verdict = Verdict.non_inferior
    else:
        verdict = Verdict.worse
    return Comparison(
        metric=metric,
        live_median=float(centre(a)),
        candidate_median=float(centre(b)),
        p_value=p,
        diff_ci=(low, high),
        margin=margin,
        verdict=verdict,
    )
