"""Service and inter-arrival time distributions, sampled in blocks from a NumPy generator.

Every distribution is a frozen dataclass with its ``mean`` and ``scv`` (squared coefficient
of variation, what the Allen-Cunneen approximation needs) and ``sample(rng, size)``, which
draws ``size`` values in one vectorised call: the engine asks for all of a station's service
times at once, because one call of a million draws costs about what ten Python calls do.
Times are in minutes. Bad parameters raise ``ValueError`` naming the parameter and value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class Distribution(Protocol):
    """What the engine needs from a distribution of non-negative times (minutes)."""

    @property
    def mean(self) -> float: ...

    @property
    def scv(self) -> float: ...

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray: ...


def _positive(name: str, value: float) -> None:
    # ``not value > 0`` also rejects NaN, which ``value <= 0`` would let through.
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value} must be a finite number > 0")


@dataclass(frozen=True)
class Exponential:
    """Exponential times with the given mean (minutes)."""

    mean: float

    def __post_init__(self) -> None:
        _positive("mean", self.mean)

    @property
    def scv(self) -> float:
        return 1.0

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.exponential(self.mean, size)


@dataclass(frozen=True)
class LogNormal:
    """Lognormal times given by their own mean and standard deviation (minutes).

    Field data give the mean and spread of processing times, not the parameters of the
    underlying normal, so they are converted: sigma² = ln(1 + sd²/mean²) and
    mu = ln(mean) − sigma²/2.
    """

    mean: float
    sd: float

    def __post_init__(self) -> None:
        _positive("mean", self.mean)
        _positive("sd", self.sd)

    @property
    def scv(self) -> float:
        return (self.sd / self.mean) ** 2

    @property
    def log_params(self) -> tuple[float, float]:
        """(mu, sigma) of the underlying normal distribution."""
        sigma2 = math.log1p(self.scv)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        mu, sigma = self.log_params
        return rng.lognormal(mu, sigma, size)


@dataclass(frozen=True)
class Deterministic:
    """A fixed time (minutes), e.g. a drive-through scan; draws nothing from the generator."""

    value: float

    def __post_init__(self) -> None:
        _positive("value", self.value)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def scv(self) -> float:
        return 0.0

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return np.full(size, self.value, dtype=np.float64)


@dataclass(frozen=True)
class Empirical:
    """Resampling (with replacement) of measured times (minutes), e.g. a time-release study."""

    samples: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError("samples=() must hold at least one measured time")
        for i, value in enumerate(self.samples):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"samples[{i}]={value} must be a finite number >= 0")
        if sum(self.samples) <= 0:
            raise ValueError("samples must not all be 0")

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @property
    def scv(self) -> float:
        return float(np.var(self.samples)) / self.mean**2

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        values = np.asarray(self.samples, dtype=np.float64)
        return values[rng.integers(0, len(values), size)]


def exponential(mean: float) -> Exponential:
    return Exponential(float(mean))


def lognormal(mean: float, sd: float) -> LogNormal:
    return LogNormal(float(mean), float(sd))


def deterministic(value: float) -> Deterministic:
    return Deterministic(float(value))


def empirical(samples: Sequence[float]) -> Empirical:
    return Empirical(tuple(float(s) for s in samples))
