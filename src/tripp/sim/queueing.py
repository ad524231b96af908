"""Analytic queueing formulas: the validators of the simulator and the optimiser's first guess.

Notation: ``lam`` arrivals per minute, ``mu`` services per minute per server, ``c`` servers,
offered load a = lam/mu (erlangs), utilisation rho = a/c, which must be < 1 for a steady
state. Waits are in minutes and are the wait in queue (before service starts). Every
function raises ``ValueError`` naming the parameter when it is out of range, including an
unstable load, since a steady-state figure for an overloaded post would be meaningless.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def offered_load(lam: float, mu: float) -> float:
    """a = lam / mu in erlangs."""
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam={lam} must be a finite number >= 0")
    if not (math.isfinite(mu) and mu > 0):
        raise ValueError(f"mu={mu} must be a finite number > 0")
    return lam / mu


def check_stable(lam: float, mu: float, c: int) -> float:
    """Utilisation rho = lam / (c mu); raises ``ValueError`` unless rho < 1."""
    if c < 1:
        raise ValueError(f"c={c} must be >= 1")
    rho = offered_load(lam, mu) / c
    if rho >= 1:
        raise ValueError(f"lam={lam}, mu={mu}, c={c}: utilisation {rho:.4f} must be < 1")
    return rho


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c, by the recursion that never overflows."""
    if c < 0:
        raise ValueError(f"c={c} must be >= 0")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(lam: float, mu: float, c: int) -> float:
    """Probability that an arrival waits in M/M/c: C = c B / (c − a (1 − B))."""
    check_stable(lam, mu, c)
    a = offered_load(lam, mu)
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def mmc_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue Wq = C / (c mu − lam), minutes."""
    return erlang_c(lam, mu, c) / (c * mu - lam)


def mmc_wait_tail(lam: float, mu: float, c: int, t: float) -> float:
    """P(Wq > t) = C exp(−(c mu − lam) t) for t >= 0."""
    if t < 0:
        raise ValueError(f"t={t} must be >= 0")
    return erlang_c(lam, mu, c) * math.exp(-(c * mu - lam) * t)


def mmc_wait_quantile(lam: float, mu: float, c: int, p: float) -> float:
    """The p-quantile of the wait: ln(C / (1 − p)) / (c mu − lam), or 0 when C <= 1 − p."""
    if not 0 < p < 1:
        raise ValueError(f"p={p} must be in (0, 1)")
    pw = erlang_c(lam, mu, c)
    if pw <= 1 - p:
        return 0.0
    return math.log(pw / (1 - p)) / (c * mu - lam)


def allen_cunneen_mean_wait(lam: float, mu: float, c: int, ca2: float, cs2: float) -> float:
    """G/G/c mean wait ~ Wq(M/M/c) (ca² + cs²)/2, with the squared coefficients of variation
    of inter-arrival (``ca2``) and service (``cs2``) times. Exact for M/G/1; for c > 1 it is
    an approximation, typically within about 10 % at moderate to high loads."""
    for name, value in (("ca2", ca2), ("cs2", cs2)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name}={value} must be a finite number >= 0")
    return mmc_mean_wait(lam, mu, c) * (ca2 + cs2) / 2


def pointwise_stationary_mean_wait(
    rates: Sequence[float], mu: float, servers: Sequence[int]
) -> float:
    """Arrival-weighted mean of the M/M/c mean wait of each period (the pointwise stationary
    approximation, PSA): ``rates[i]`` arrivals per minute and ``servers[i]`` servers in
    period i, all periods of equal length. Good when periods are long against service
    times and no period is overloaded (each must be stable)."""
    if len(rates) != len(servers) or not rates:
        raise ValueError(f"rates ({len(rates)}) and servers ({len(servers)}) must match, >= 1")
    total = sum(rates)
    if total <= 0:
        raise ValueError(f"rates={list(rates)} must not all be 0")
    weighted = sum(
        lam * mmc_mean_wait(lam, mu, c) for lam, c in zip(rates, servers, strict=True) if lam > 0
    )
    return weighted / total


def ggc_wait_quantile(lam: float, mu: float, c: int, p: float, ca2: float, cs2: float) -> float:
    """The p-quantile of the G/G/c wait, approximately: the M/M/c tail
    P(Wq > t) = C exp(−(c mu − lam) t) with its decay slowed by (ca² + cs²)/2 as in
    Allen-Cunneen, so the mean of the conditional wait scales like the mean wait. Exact
    (Erlang C) for Poisson arrivals and exponential service (ca² = cs² = 1)."""
    scale = (ca2 + cs2) / 2
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"ca2={ca2}, cs2={cs2} must be finite, >= 0 and not both 0")
    return mmc_wait_quantile(lam, mu, c, p) * scale


def stationary_servers(
    lam: float, mu: float, *, limit_min: float, p: float | None, cs2: float = 1.0,
    max_servers: int = 10_000,
) -> int:  # fmt: skip
    """The fewest servers whose steady state, Poisson arrivals at ``lam`` per minute and
    service at ``mu`` per minute per server (squared coefficient of variation ``cs2``),
    keeps the wait's p-quantile (``p``; None: the mean) within ``limit_min`` minutes;
    0 when nobody arrives. Per period of a time-varying day this is the pointwise
    stationary approximation's staffing. ``ValueError`` when ``max_servers`` is not
    enough."""
    if lam == 0:
        return 0
    for c in range(math.floor(offered_load(lam, mu)) + 1, max_servers + 1):
        if p is None:
            wait = allen_cunneen_mean_wait(lam, mu, c, 1.0, cs2)
        else:
            wait = ggc_wait_quantile(lam, mu, c, p, 1.0, cs2)
        if wait <= limit_min:
            return c
    raise ValueError(f"lam={lam}, mu={mu}: more than max_servers={max_servers} needed")
