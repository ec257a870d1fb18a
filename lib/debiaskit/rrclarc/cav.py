"""Concept Activation Vectors (CAVs) of an artifact and their alignment with its true direction.

A CAV ``h`` is a unit vector in a layer's (spatially pooled) activation space pointing from samples
without the concept (label 0) to samples with it (label 1). The paper (Section 3.2, "the importance
of choosing robust directions") contrasts *regression-type* CAVs -- the weight vector of a linear
classifier or regressor: ``svm``, ``ridge``, ``lasso``, ``logistic`` (scikit-learn, regularisation
chosen by cross-validation) -- with the *signal* (pattern) CAV of Haufe et al. (2014)::

    h = sum_i (a_i - mean a)(t_i - mean t),   normalised to unit length,

which for 0/1 labels is the difference of the class means. Regression weights are *filters*: they
also cancel distractors and so diverge from the artifact's direction, the more so with few samples.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from threadpoolctl import threadpool_limits

CAV_TYPES = ("signal", "svm", "ridge", "lasso", "logistic")
SVM_CS = np.logspace(-5, 4, 10)  # the authors' grid for LinearSVC's C
LOGISTIC_CS = np.logspace(-3, 3, 7)
RIDGE_ALPHAS = np.logspace(-3, 5, 9)


class CavError(ValueError):
    """Concept labels or activations that cannot give a CAV."""


def _check(acts: torch.Tensor, concept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    acts = torch.as_tensor(acts)
    concept = torch.as_tensor(concept)
    if acts.dim() != 2:
        raise CavError(f"activations must be [N, D] (pool them over space first), got shape {tuple(acts.shape)}")
    if concept.shape != (len(acts),):
        raise CavError(f"concept labels must be [N] = [{len(acts)}], got shape {tuple(concept.shape)}")
    values = set(torch.unique(concept).tolist())
    if not values <= {0, 1}:
        raise CavError(f"concept labels must be 0 (without the concept) or 1 (with it), got values {sorted(values)}")
    if len(values) < 2:
        only = "with" if 1 in values else "without"
        raise CavError(f"concept labels hold one class only (all {len(concept)} samples are {only} the concept); "
                       f"a CAV needs samples both with (1) and without (0) the concept")
    return acts, concept


def unit(v: torch.Tensor) -> torch.Tensor:
    """``v / ||v||``; a clear error for the zero vector."""
    norm = torch.linalg.vector_norm(v)
    if not torch.isfinite(norm) or norm == 0:
        raise CavError("the fitted direction is zero (e.g. lasso removed every coefficient); "
                       "use more samples or another CAV type")
    return v / norm


def signal_cav(acts: torch.Tensor, concept: torch.Tensor) -> torch.Tensor:
    """The signal (pattern) CAV: unit ``sum_i (a_i - mean a)(t_i - mean t)`` (Haufe et al. 2014; the
    paper's robust choice, Section 3.2)."""
    acts, concept = _check(acts, concept)
    a = acts.double()
    t = concept.double()
    h = ((a - a.mean(0)) * (t - t.mean())[:, None]).sum(0)
    return unit(h).to(acts.dtype)


def _folds(concept: np.ndarray, cv: int) -> int:
    return int(min(cv, np.bincount(concept.astype(int), minlength=2).min()))


def _regression_weights(a: np.ndarray, t: np.ndarray, kind: str, cv: int, seed: int, fit_intercept: bool) -> np.ndarray:
    from sklearn.linear_model import Lasso, LassoCV, LogisticRegression, LogisticRegressionCV, RidgeCV
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.svm import LinearSVC

    folds = _folds(t, cv)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed) if folds >= 2 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings at extreme regularisation of the grid
        if kind == "svm":
            svm = LinearSVC(fit_intercept=fit_intercept, max_iter=5000, random_state=seed)
            if splitter is None:
                return svm.fit(a, t).coef_.ravel()
            grid = GridSearchCV(svm, {"C": SVM_CS}, cv=splitter)
            return grid.fit(a, t).best_estimator_.coef_.ravel()
        if kind == "logistic":
            if splitter is None:
                return LogisticRegression(fit_intercept=fit_intercept, max_iter=2000).fit(a, t).coef_.ravel()
            model = LogisticRegressionCV(Cs=LOGISTIC_CS, cv=splitter, fit_intercept=fit_intercept, max_iter=500)
            return model.fit(a, t).coef_.ravel()
        if kind == "ridge":
            model = RidgeCV(alphas=RIDGE_ALPHAS, fit_intercept=fit_intercept)  # efficient leave-one-out CV
            return model.fit(a, t).coef_.ravel()
        if kind == "lasso":
            if splitter is None:
                return Lasso(alpha=1e-3, fit_intercept=fit_intercept, max_iter=10000).fit(a, t).coef_.ravel()
            model = LassoCV(cv=splitter, fit_intercept=fit_intercept, max_iter=10000, random_state=seed)
            return model.fit(a, t).coef_.ravel()
    raise AssertionError(kind)


def fit_cav(acts: torch.Tensor, concept: torch.Tensor, kind: str = "signal", cv: int = 5, seed: int = 0,
            fit_intercept: bool = True) -> torch.Tensor:
    """A unit-length CAV of type ``kind`` from pooled activations ``acts`` [N, D] and 0/1 ``concept``.

    Regression types pick their regularisation by ``cv``-fold stratified cross-validation (fewer
    folds when a class is smaller; none with a single sample per class). ``fit_intercept=False``
    reproduces the authors' code for the SVM (LinearSVC without intercept).
    """
    if kind not in CAV_TYPES:
        raise CavError(f"unknown CAV type {kind!r}; choose one of {CAV_TYPES}")
    acts, concept = _check(acts, concept)
    if kind == "signal":
        return signal_cav(acts, concept)
    a = acts.detach().double().cpu().numpy()
    a = a / max(float(a.std()), 1e-12)  # one global scale: better-conditioned solvers, same directions
    t = concept.detach().cpu().numpy().astype(int)
    with threadpool_limits(1):  # tiny problems: BLAS/OpenMP threads only contend
        w = torch.from_numpy(_regression_weights(a, t, kind, cv, seed, fit_intercept).astype(np.float64))
    return unit(w).to(acts.dtype)


def cosine(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Cosine similarity along the last dimension (broadcasting)."""
    return torch.nn.functional.cosine_similarity(u.double(), v.double(), dim=-1)


def cav_alignment(cav: torch.Tensor, delta: torch.Tensor) -> dict[str, float]:
    """Alignment of ``cav`` with the true artifact direction (the authors' code's metric).

    ``delta`` [N, D] holds, per sample, the change of the pooled activation caused by pasting the
    artifact. ``per_sample`` is the mean over samples of cos(h, delta_i); ``mean`` is cos(h, mean delta).
    """
    if delta.dim() != 2 or delta.shape[1] != cav.numel():
        raise CavError(f"delta must be [N, {cav.numel()}], got {tuple(delta.shape)}")
    moved = torch.linalg.vector_norm(delta, dim=1) > 0
    per_sample = cosine(cav[None], delta[moved]).mean() if bool(moved.any()) else torch.tensor(float("nan"))
    return {"per_sample": float(per_sample), "mean": float(cosine(cav, delta.mean(0)))}
