"""The statistics path's numbers: fields drawn by numpy from a declarative spec and verified.

A spec names a distribution per field (normal, lognormal, uniform, categorical), optional bounds
and rounding, and correlations between log-normal or normal fields with a target R². Values are
sampled (never computed by model-written code) and the sample is verified: Kolmogorov–Smirnov
against the declared distribution (with the bounds and rounding it implies), R² of the declared
relation, χ² for category ratios. A sample that fails verification is redrawn (new seed, up to
`max_draws`), so the report that ships with the data always says what was checked and how it went.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator
from scipy import stats

Distribution = Literal["normal", "lognormal", "uniform", "categorical"]


class FieldDistribution(BaseModel):
    """One numeric (or categorical) field. `normal`: mean, sd; `lognormal`: mu, sigma of the log;
    `uniform`: low, high; `categorical`: weights per value. `minimum`/`maximum` truncate (values
    outside are redrawn, so the field follows the truncated distribution); `decimals` rounds."""

    model_config = {"extra": "forbid"}

    distribution: Distribution
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    mu: float | None = None
    sigma: float | None = Field(None, gt=0)
    low: float | None = None
    high: float | None = None
    weights: dict[str, float] | None = None
    minimum: float | None = None
    maximum: float | None = None
    decimals: int | None = Field(None, ge=0, le=10)

    @model_validator(mode="after")
    def _parameters(self) -> FieldDistribution:
        needed = {"normal": ("mean", "sd"), "lognormal": ("mu", "sigma"), "uniform": ("low", "high"), "categorical": ("weights",)}
        missing = [p for p in needed[self.distribution] if getattr(self, p) is None]
        if missing:
            raise ValueError(f"a {self.distribution} field needs {', '.join(missing)}")
        if self.weights is not None and (not self.weights or min(self.weights.values()) < 0 or sum(self.weights.values()) <= 0):
            raise ValueError("categorical weights must be non-negative and not all zero")
        if self.minimum is not None and self.maximum is not None and self.minimum >= self.maximum:
            raise ValueError("minimum must be below maximum")
        if self.distribution != "categorical":
            base = self._frozen()
            upper = base.cdf(self.maximum if self.maximum is not None else math.inf)
            if upper - base.cdf(self.minimum if self.minimum is not None else -math.inf) < 1e-6:
                raise ValueError("the bounds leave (almost) nothing of the distribution")
        return self

    def _params(self, first: str, second: str) -> tuple[float, float]:
        """Two parameters of this distribution, which its validator made sure are set."""
        a, b = getattr(self, first), getattr(self, second)
        assert a is not None and b is not None, f"a {self.distribution} field needs {first} and {second}"
        return a, b

    def _frozen(self):
        if self.distribution == "normal":
            return stats.norm(self.mean, self.sd)
        if self.distribution == "lognormal":
            return stats.lognorm(s=self.sigma, scale=math.exp(self.mu or 0.0))
        return stats.uniform(self.low, (self.high or 0.0) - (self.low or 0.0))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """CDF of the field as emitted: truncated to the bounds and, if rounded, of the rounded value."""
        base = self._frozen()
        lo = base.cdf(self.minimum) if self.minimum is not None else 0.0
        hi = base.cdf(self.maximum) if self.maximum is not None else 1.0
        shift = 0.5 * 10.0**-(self.decimals) if self.decimals is not None else 0.0
        return np.clip((base.cdf(np.asarray(x) + shift) - lo) / (hi - lo), 0.0, 1.0)


class Correlation(BaseModel):
    """`y` depends on `x` with the given R² (on the log scale for log-normal fields)."""

    model_config = {"extra": "forbid"}

    x: str
    y: str
    r2: float = Field(gt=0, lt=1)
    min_r2: float | None = Field(None, gt=0, lt=1, description="pass mark; default r2 - 0.05")


class NumericSpec(BaseModel):
    model_config = {"extra": "forbid"}

    fields: dict[str, FieldDistribution]
    correlations: list[Correlation] = Field(default_factory=list)
    alpha: float = Field(0.01, gt=0, lt=0.5, description="a test fails when its p-value is below this")
    max_draws: int = Field(5, ge=1, le=50)

    @model_validator(mode="after")
    def _correlations(self) -> NumericSpec:
        ys = [c.y for c in self.correlations]
        if len(set(ys)) != len(ys):
            raise ValueError("a field can depend on one other field only")
        for c in self.correlations:
            for name in (c.x, c.y):
                if name not in self.fields:
                    raise ValueError(f"correlation names unknown field '{name}'")
                if self.fields[name].distribution not in ("normal", "lognormal"):
                    raise ValueError(f"correlated field '{name}' must be normal or lognormal")
            if c.x in ys:
                raise ValueError("chained correlations are not supported; correlate each field with a root field")
        return self


class Check(BaseModel):
    """One verification: which test, on what, its statistic and p-value (or R²), and the verdict."""

    test: Literal["ks", "chi2", "r2"]
    field: str
    statistic: float
    p_value: float | None = None
    threshold: float
    passed: bool


class NumericReport(BaseModel):
    n: int
    draws: int
    seed: int
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def sample(spec: NumericSpec, n: int, seed: int) -> tuple[list[dict[str, float | int | str]], NumericReport]:
    """`n` rows of the spec's fields and the verification of that sample (redrawn on failure)."""
    report = None
    for draw in range(spec.max_draws):
        rng = np.random.default_rng([seed, draw])
        columns = _draw(spec, n, rng)
        report = NumericReport(n=n, draws=draw + 1, seed=seed, checks=verify(spec, columns))
        if report.passed or n < 8:
            break
    rows = [{name: _scalar(columns[name][i], spec.fields[name]) for name in spec.fields} for i in range(n)]
    assert report is not None  # max_draws >= 1: the loop drew at least once
    return rows, report


def _draw(spec: NumericSpec, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    dependent = {c.y: c for c in spec.correlations}
    normals: dict[str, np.ndarray] = {}
    columns: dict[str, np.ndarray] = {}
    for name, field in spec.fields.items():
        if name in dependent:
            continue
        if field.distribution == "categorical":
            table = field.weights or {}
            values = list(table)
            weights = np.array([table[v] for v in values], dtype=float)
            columns[name] = rng.choice(np.array(values, dtype=object), size=n, p=weights / weights.sum())
        else:
            normals[name], columns[name] = _truncated(field, n, rng, lambda size: rng.standard_normal(size))
    for name, corr in dependent.items():
        rho = math.sqrt(corr.r2)
        z_x = normals[corr.x]
        z_x = (z_x - z_x.mean()) / (z_x.std() or 1.0)
        _, columns[name] = _truncated(
            spec.fields[name],
            n,
            rng,
            lambda size, z=z_x, rho=rho: rho * z[:size] + math.sqrt(1 - rho * rho) * rng.standard_normal(size),
            fixed=True,
        )
    return columns


def _truncated(field: FieldDistribution, n: int, rng: np.random.Generator, draw_z, fixed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal scores and values; values outside the bounds are redrawn (or, for a
    dependent field, whose scores are tied to another field, resampled by inverse CDF)."""
    if field.distribution == "uniform":
        u = rng.uniform(size=n)
        low, high = field._params("low", "high")
        lo = 0.0 if field.minimum is None else max(0.0, (field.minimum - low) / (high - low))
        hi = 1.0 if field.maximum is None else min(1.0, (field.maximum - low) / (high - low))
        values = low + (lo + u * (hi - lo)) * (high - low)
        return stats.norm.ppf(u), values
    z = draw_z(n)
    if fixed or (field.minimum is None and field.maximum is None):
        if field.minimum is not None or field.maximum is not None:
            z = _squeeze_into_bounds(field, z)
        return z, _from_z(field, z)
    out = np.empty(0)
    zs = np.empty(0)
    while out.size < n:
        batch_z = draw_z(max(n, 64))
        values = _from_z(field, batch_z)
        keep = np.ones(values.shape, dtype=bool)
        if field.minimum is not None:
            keep &= values >= field.minimum
        if field.maximum is not None:
            keep &= values <= field.maximum
        out, zs = np.concatenate([out, values[keep]]), np.concatenate([zs, batch_z[keep]])
    return zs[:n], out[:n]


def _squeeze_into_bounds(field: FieldDistribution, z: np.ndarray) -> np.ndarray:
    """Map scores through the truncated distribution's quantiles, keeping their order (and so the
    correlation) while the values land inside the bounds."""
    base = field._frozen()
    lo = base.cdf(field.minimum) if field.minimum is not None else 0.0
    hi = base.cdf(field.maximum) if field.maximum is not None else 1.0
    return stats.norm.ppf(np.clip(lo + stats.norm.cdf(z) * (hi - lo), 1e-12, 1 - 1e-12))


def _from_z(field: FieldDistribution, z: np.ndarray) -> np.ndarray:
    if field.distribution == "normal":
        mean, sd = field._params("mean", "sd")
        return mean + sd * z
    mu, sigma = field._params("mu", "sigma")
    return np.exp(mu + sigma * z)


def _scalar(value, field: FieldDistribution):
    if field.distribution == "categorical":
        return str(value)
    if field.decimals == 0:
        return int(round(float(value)))
    return round(float(value), field.decimals) if field.decimals is not None else float(value)


def verify(spec: NumericSpec, columns: dict[str, np.ndarray]) -> list[Check]:
    """KS per continuous field, χ² per categorical field, R² per correlation."""
    checks = []
    for name, field in spec.fields.items():
        values = columns[name]
        if field.distribution == "categorical":
            table = field.weights or {}
            categories = list(table)
            observed = np.array([np.sum(values == c) for c in categories], dtype=float)
            weights = np.array([table[c] for c in categories], dtype=float)
            expected = weights / weights.sum() * observed.sum()
            keep = expected > 0
            stat, p = stats.chisquare(observed[keep], expected[keep])
            checks.append(
                Check(test="chi2", field=name, statistic=float(stat), p_value=float(p), threshold=spec.alpha, passed=bool(p >= spec.alpha))
            )
            continue
        emitted = np.array([_scalar(v, field) for v in values], dtype=float)
        result = stats.kstest(emitted, field.cdf)
        checks.append(
            Check(
                test="ks",
                field=name,
                statistic=float(result.statistic),
                p_value=float(result.pvalue),
                threshold=spec.alpha,
                passed=bool(result.pvalue >= spec.alpha),
            )
        )
    for corr in spec.correlations:
        x, y = (np.asarray(columns[f], dtype=float) for f in (corr.x, corr.y))
        if spec.fields[corr.x].distribution == "lognormal":
            x = np.log(x)
        if spec.fields[corr.y].distribution == "lognormal":
            y = np.log(y)
        r2 = float(stats.linregress(x, y).rvalue ** 2)
        mark = corr.min_r2 if corr.min_r2 is not None else max(0.0, corr.r2 - 0.05)
        checks.append(Check(test="r2", field=f"{corr.y}~{corr.x}", statistic=r2, threshold=mark, passed=r2 >= mark))
    return checks
