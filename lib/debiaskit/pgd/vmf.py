"""The von Mises-Fisher distribution in log space (PGD draft, Definition 4.1 and Appendix G).

f_d(v; u, kappa) = C_d(kappa) exp(kappa u'v) with C_d(kappa) = kappa^(d/2-1) / ((2 pi)^(d/2) I_(d/2-1)(kappa)).
For d = 100..500 and kappa in the hundreds or thousands, I_nu under- or overflows in float64, so
everything here is a log: log I_nu comes from SciPy's exponentially scaled ``ive`` where that is
representable and from the uniform (Debye) asymptotic expansion where it is not.
Estimates (Appendix G, after Banerjee et al. 2005): u = sum v / ||sum v||, r = ||sum v|| / N,
kappa ~ r (d - r^2) / (1 - r^2); ``kappa_method="exact"`` refines kappa by Newton's method on
A_d(kappa) = I_(d/2)(kappa) / I_(d/2-1)(kappa) = r (the true MLE, as ``scipy.stats.vonmises_fisher.fit``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import special

MAX_KAPPA = 1e10
"""Cap on kappa: r = 1 (one sample, or identical directions) has an infinite MLE."""
KAPPA_METHODS = ("banerjee", "exact")
"""Estimators of the concentration kappa (:func:`vmf_fit`): Banerjee et al.'s closed form, or Newton's MLE."""


def _debye_log_iv(nu: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log I_nu(x) by the uniform asymptotic expansion in nu (accurate to ~1e-10 for nu >= 20)."""
    z = x / nu
    s = np.sqrt(1.0 + z * z)
    t = 1.0 / s
    eta = s + np.log(z / (1.0 + s))
    u1 = t * (3.0 - 5.0 * t**2) / 24.0
    u2 = t**2 * (81.0 - 462.0 * t**2 + 385.0 * t**4) / 1152.0
    u3 = t**3 * (30375.0 - 369603.0 * t**2 + 765765.0 * t**4 - 425425.0 * t**6) / 414720.0
    series = 1.0 + u1 / nu + u2 / nu**2 + u3 / nu**3
    return nu * eta - 0.5 * np.log(2.0 * np.pi * nu) - 0.5 * np.log(s) + np.log(series)


def log_bessel_iv(nu: float | np.ndarray, x: float | np.ndarray) -> np.ndarray:
    """log I_nu(x) for nu >= 0, x >= 0 (float64), finite wherever I_nu(x) > 0.

    Uses ``log(ive(nu, x)) + x`` where ``ive`` is a normal positive number and the Debye expansion
    where it underflows (large nu, small x). log I_nu(0) is 0 for nu = 0 and -inf otherwise.
    """
    nu, x = np.broadcast_arrays(np.asarray(nu, dtype=np.float64), np.asarray(x, dtype=np.float64))
    if (nu < 0).any() or (x < 0).any():
        raise ValueError("log_bessel_iv is defined here for nu >= 0 and x >= 0")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        scaled = special.ive(nu, x)
        out = np.log(scaled) + x
        bad = ~(np.isfinite(out) & (scaled > np.finfo(np.float64).tiny * 1e10))
        bad &= (x > 0) & (nu > 0)
        if bad.any():
            out = np.where(bad, _debye_log_iv(np.where(bad, nu, 1.0), np.where(bad, x, 1.0)), out)
            tiny = bad & (x * x < 1e-8 * (nu + 1.0))  # leading terms of the power series
            if tiny.any():
                lead = nu * np.log(np.where(tiny, x, 1.0) / 2.0) - special.gammaln(nu + 1.0)
                out = np.where(tiny, lead + np.log1p(x * x / (4.0 * (nu + 1.0))), out)
        out = np.where(x == 0, np.where(nu == 0, 0.0, -np.inf), out)
    return out


def vmf_log_normaliser(d: int, kappa: float) -> float:
    """log C_d(kappa) (Appendix G); the kappa -> 0 limit is minus the log area of the unit sphere S^(d-1)."""
    if d < 2:
        raise ValueError(f"the vMF distribution needs dimension d >= 2, got {d}")
    if not kappa >= 0:
        raise ValueError(f"kappa must be non-negative, got {kappa}")
    nu = d / 2.0 - 1.0
    if kappa < 1e-12:
        return -(math.log(2.0) + (d / 2.0) * math.log(math.pi) - math.lgamma(d / 2.0))
    return float(nu * math.log(kappa) - (d / 2.0) * math.log(2.0 * math.pi) - log_bessel_iv(nu, kappa))


def bessel_ratio(d: int, kappa: float) -> float:
    """A_d(kappa) = I_(d/2)(kappa) / I_(d/2-1)(kappa), the expected resultant length of vMF(kappa)."""
    if kappa <= 0:
        return 0.0
    return float(np.exp(log_bessel_iv(d / 2.0, kappa) - log_bessel_iv(d / 2.0 - 1.0, kappa)))


def unit_vectors(g: torch.Tensor) -> torch.Tensor:
    """g_i / ||g_i|| row by row; an all-zero row stays zero (its direction is undefined)."""
    norms = torch.linalg.vector_norm(g, dim=1, keepdim=True)
    return torch.where(norms > 0, g / torch.where(norms > 0, norms, torch.ones_like(norms)), torch.zeros_like(g))


def vmf_fit(v: torch.Tensor, kappa_method: str = "banerjee", max_kappa: float = MAX_KAPPA
            ) -> tuple[torch.Tensor, float, float]:
    """Estimate ``(mean direction u [d], kappa, mean resultant length r)`` from unit vectors [n, d].

    Appendix G: u = sum v / ||sum v||, r = ||sum v|| / n, kappa ~ r (d - r^2) / (1 - r^2) (Banerjee et
    al. 2005). ``kappa_method="exact"`` solves A_d(kappa) = r by Newton's method (the MLE). Safe values:
    r = 1 (a single vector or identical ones) gives kappa = ``max_kappa``; r = 0 gives kappa = 0 and
    u = e_1 (any direction is an MLE). Zero rows (undefined directions) are left out of the fit.
    """
    if v.dim() != 2 or v.shape[1] < 2:
        raise ValueError(f"vmf_fit needs unit vectors of shape [n, d] with d >= 2, got {tuple(v.shape)}")
    v = v.double()
    v = v[torch.linalg.vector_norm(v, dim=1) > 0]
    n, d = v.shape
    if n == 0:
        raise ValueError("vmf_fit needs at least one non-zero vector")
    total = v.sum(0)
    length = float(torch.linalg.vector_norm(total))
    r = min(length / n, 1.0)
    if length <= 1e-300:
        mu = torch.zeros(d, dtype=torch.float64)
        mu[0] = 1.0
        return mu, 0.0, 0.0
    mu = total / length
    if r >= 1.0 - 1e-15:
        return mu, float(max_kappa), r
    kappa = r * (d - r * r) / (1.0 - r * r)
    if kappa_method == "exact":
        kappa = _newton_kappa(d, r, kappa)
    elif kappa_method not in KAPPA_METHODS:
        raise ValueError(f"kappa_method must be one of {KAPPA_METHODS}, got {kappa_method!r}")
    return mu, float(min(kappa, max_kappa)), r


def _newton_kappa(d: int, r: float, kappa: float, steps: int = 50) -> float:
    """Solve A_d(kappa) = r (Sra 2012): kappa <- kappa - (A - r) / (1 - A^2 - (d - 1) A / kappa)."""
    for _ in range(steps):
        a = bessel_ratio(d, kappa)
        slope = 1.0 - a * a - (d - 1.0) * a / kappa
        if slope <= 0:
            break
        step = (a - r) / slope
        new = kappa - step
        if new <= 0:
            new = kappa / 2.0
        if abs(new - kappa) <= 1e-13 * kappa:
            return new
        kappa = new
    return kappa


def vmf_log_density(v: torch.Tensor, mu: torch.Tensor, kappa: float) -> torch.Tensor:
    """log f_d(v; u, kappa) = log C_d(kappa) + kappa u'v for unit rows v [n, d] (float64)."""
    v = v.double()
    return vmf_log_normaliser(v.shape[1], kappa) + kappa * (v @ mu.double().to(v.device))
