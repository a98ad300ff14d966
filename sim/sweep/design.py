"""Sampled variants: their schema in the sweep file and the values they draw.

Two kinds, each a table of values (one row per variant, one column per dotted path):

- ``samples``: ``n`` draws from per-parameter distributions (uniform, normal, lognormal,
  triangular, choice), by Latin hypercube (``scipy.stats.qmc.LatinHypercube``) or plain
  Monte Carlo: points in the unit cube mapped through each distribution's inverse CDF.
- ``sensitivity``: a Sobol design (SALib's ``sobol`` sampler, Saltelli's scheme: N·(2D+2)
  rows with second-order indices, N·(D+2) without) or a Morris design (SALib's ``morris``
  sampler: N trajectories of D+1 rows), each over uniform ranges, analysed by the matching
  SALib analyser (:mod:`sim.sweep.sensitivity`).

The random numbers come from the sweep's root seed on a stream of their own
(:func:`design_seed`), not from any run's, so the design is the same however the sweep
runs, and changing it leaves the replications' seeds alone.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats
from scipy.stats import qmc

from sim.errors import Issue, ScenarioError
from sim.rng import stable_name_key

# a dotted scenario path as --set takes it: mining.groups[0].count
_KEY = r"[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?"
DottedPath = Annotated[str, Field(pattern=rf"^{_KEY}(\.{_KEY})*$")]
DESIGN_STREAM = "sweep.design"
MAX_SAMPLES = 100_000
Finite = Annotated[float, Field(allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Numeric(_Strict):
    integer: bool = Field(
        False, description="Round each draw to the nearest integer (half to even), for counts."
    )


class Uniform(_Numeric):
    """Uniform on [low, high)."""

    distribution: Literal["uniform"]
    low: Finite
    high: Finite

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"low must be below high (got low {self.low}, high {self.high})")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF."""
        return self.low + u * (self.high - self.low)


class Normal(_Numeric):
    """Normal with mean ``mean`` and standard deviation ``std``."""

    distribution: Literal["normal"]
    mean: Finite
    std: Positive

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF."""
        return np.asarray(stats.norm.ppf(u, loc=self.mean, scale=self.std), dtype=np.float64)


class Lognormal(_Numeric):
    """exp(N(ln median, sigma²)): positive, median ``median``, log-space spread ``sigma``."""

    distribution: Literal["lognormal"]
    median: Positive
    sigma: Positive

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF."""
        return np.asarray(stats.lognorm.ppf(u, s=self.sigma, scale=self.median), np.float64)


class Triangular(_Numeric):
    """Triangular on [low, high] with its peak at ``mode``."""

    distribution: Literal["triangular"]
    low: Finite
    mode: Finite
    high: Finite

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(
                f"need low ≤ mode ≤ high and low < high (got {self.low}, {self.mode}, "
                f"{self.high})"
            )
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF."""
        width = self.high - self.low
        shape = (self.mode - self.low) / width
        return np.asarray(
            stats.triang.ppf(u, shape, loc=self.low, scale=width), dtype=np.float64
        )


class Choice(_Strict):
    """One of ``values``, with probabilities ``weights`` (default: equal)."""

    distribution: Literal["choice"]
    values: list[Any] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is None:
            return self
        if len(self.weights) != len(self.values):
            raise ValueError(
                f"weights must have one entry per value ({len(self.values)}; got "
                f"{len(self.weights)})"
            )
        if not sum(self.weights) > 0:
            raise ValueError("weights must not all be 0")
        return self

    def pick(self, u: np.ndarray) -> list[Any]:
        """The value whose cumulative-probability slot holds each ``u``."""
        weights = np.asarray(self.weights or [1.0] * len(self.values), dtype=np.float64)
        edges = np.cumsum(weights) / weights.sum()
        index = np.minimum(np.searchsorted(edges, u, side="right"), len(self.values) - 1)
        return [self.values[i] for i in index]


DISTRIBUTIONS = ("uniform", "normal", "lognormal", "triangular", "choice")
Distribution = Annotated[
    Uniform | Normal | Lognormal | Triangular | Choice, Field(discriminator="distribution")
]


class SamplesSpec(_Strict):
    """``n`` variants drawn from per-path distributions."""

    method: Literal["latin_hypercube", "monte_carlo"] = Field(
        "latin_hypercube",
        description="latin_hypercube (one draw in each of n equal-probability slices of "
        "every parameter) or monte_carlo (independent draws).",
    )
    n: int = Field(ge=1, le=MAX_SAMPLES, description="Variants to draw.")
    parameters: dict[DottedPath, Distribution] = Field(
        min_length=1, description="Dotted scenario path → distribution."
    )


class Range(_Numeric):
    """A uniform range of a sensitivity parameter."""

    low: Finite
    high: Finite

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"low must be below high (got low {self.low}, high {self.high})")
        return self


class SensitivitySpec(_Strict):
    """A Sobol or Morris design over uniform ranges, analysed with SALib."""

    method: Literal["sobol", "morris"] = Field(description="sobol or morris.")
    n: int = Field(
        ge=2,
        le=2**16,
        description="sobol: base samples N, a power of 2 (N·(2D+2) variants with "
        "second_order, N·(D+2) without); morris: trajectories (N·(D+1) variants).",
    )
    parameters: dict[DottedPath, Range] = Field(
        min_length=2, description="Dotted scenario path → {low, high}."
    )
    second_order: bool = Field(True, description="sobol: also the second-order indices' rows.")
    levels: int = Field(4, ge=2, le=1000, description="morris: grid levels (even).")
    kpis: list[str] | None = Field(
        None, min_length=1, description="KPIs to analyse (default: the sweep's kpis)."
    )

    @model_validator(mode="after")
    def _pairing(self) -> SensitivitySpec:
        if self.method == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"sobol: n must be a power of 2 (got {self.n})")
        if self.method == "morris" and self.levels % 2:
            raise ValueError(f"morris: levels must be even (got {self.levels})")
        return self

    @property
    def rows(self) -> int:
        """Variants the design makes."""
        d = len(self.parameters)
        if self.method == "morris":
            return self.n * (d + 1)
        return self.n * (2 * d + 2 if self.second_order else d + 2)

    def problem(self) -> dict[str, Any]:
        """SALib's problem dictionary."""
        return {
            "num_vars": len(self.parameters),
            "names": list(self.parameters),
            "bounds": [[r.low, r.high] for r in self.parameters.values()],
        }


def salib(part: str) -> ModuleType:
    """``SALib.sample`` or ``SALib.analyze`` with its sobol and morris modules loaded.

    Raises
    ------
    ScenarioError
        SALib is not installed (the optional ``sweep`` extra).
    """
    try:
        module = importlib.import_module(f"SALib.{part}")
        importlib.import_module(f"SALib.{part}.sobol")
        importlib.import_module(f"SALib.{part}.morris")
    except ImportError as exc:
        raise ScenarioError(
            "sweep",
            [
                Issue(
                    "variants.sensitivity",
                    "needs SALib, which is not installed: pip install 'dcsim[sweep]' "
                    "(or pip install SALib)",
                )
            ],
        ) from exc
    return module


def design_seed(root_seed: int, stream: str = DESIGN_STREAM) -> int:
    """A seed in 1 … 2^32 for the design, from the root seed and the stream's name.

    Never 0: SALib's sobol analyser treats a seed of 0 as no seed.
    """
    sequence = np.random.SeedSequence(root_seed, spawn_key=stable_name_key(stream))
    return int(sequence.generate_state(1, dtype=np.uint32)[0]) + 1


def _number(value: float, integer: bool) -> Any:
    return int(np.rint(value)) if integer else float(value)


def draw_samples(spec: SamplesSpec, root_seed: int) -> list[dict[str, Any]]:
    """The ``n`` variants' values, path → value, in draw order."""
    rng = np.random.default_rng(design_seed(root_seed))
    d = len(spec.parameters)
    if spec.method == "latin_hypercube":
        unit = qmc.LatinHypercube(d, rng=rng).random(spec.n)
    else:
        unit = rng.random((spec.n, d))
    columns: dict[str, list[Any]] = {}
    for j, (path, dist) in enumerate(spec.parameters.items()):
        if isinstance(dist, Choice):
            columns[path] = dist.pick(unit[:, j])
        else:
            columns[path] = [_number(v, dist.integer) for v in dist.ppf(unit[:, j])]
    return [{path: columns[path][i] for path in columns} for i in range(spec.n)]


def sensitivity_matrix(spec: SensitivitySpec, root_seed: int) -> np.ndarray:
    """The design's rows (variants × parameters) from the SALib sampler that matches."""
    sample = salib("sample")
    seed = design_seed(root_seed)
    if spec.method == "sobol":
        matrix = sample.sobol.sample(
            spec.problem(), spec.n, calc_second_order=spec.second_order, seed=seed
        )
    else:
        matrix = sample.morris.sample(spec.problem(), spec.n, num_levels=spec.levels, seed=seed)
    return np.asarray(matrix, dtype=np.float64)


def sensitivity_values(spec: SensitivitySpec, root_seed: int) -> list[dict[str, Any]]:
    """The design's variants' values, path → number, in the sampler's row order.

    An ``integer`` parameter's value is rounded for the scenario; the analysis uses the
    design's own values (rounding a count of thousands moves it by at most 0.5).
    """
    matrix = sensitivity_matrix(spec, root_seed)
    ranges = list(spec.parameters.items())
    return [
        {path: _number(v, r.integer) for (path, r), v in zip(ranges, row, strict=True)}
        for row in matrix
    ]


def index_width(count: int) -> int:
    """Digits of the last index, so names sort in order: sample-007 … sample-100."""
    return len(str(max(count - 1, 0)))
