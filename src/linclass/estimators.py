"""scikit-learn estimators: :class:`LinearSVM`, :class:`SoftmaxClassifier`, :class:`KNearestNeighbor`.

Conventions: N examples, D features, C classes. The estimators follow
scikit-learn's contract (``__init__`` only stores hyperparameters, ``fit``
validates and returns ``self``, learned attributes end in ``_``), so they work in
:class:`~sklearn.pipeline.Pipeline`, :class:`~sklearn.model_selection.GridSearchCV`,
``cross_val_score`` and ``clone``. They add no math of their own: ``fit`` builds the
same :class:`~linclass.objective.Objective` and optimizer as ``linclass train`` and
fits it with the same core (:func:`linclass.fitting.solve`: its minibatch loop or L-BFGS).

The objective minimized over ``W`` (D, C) and ``b`` (C,) is the lecture's::

    L(W, b) = 1/N Σ_i L_i(x_i W + b, y_i) + alpha · R(W)          (b is not penalized)

    penalty="l2":          R(W) = Σ W²
    penalty="l1":          R(W) = Σ |W|
    penalty="elasticnet":  R(W) = l1_ratio · Σ |W| + (1 − l1_ratio) · Σ W²
    penalty=None:          R(W) = 0

(no ½ in front of Σ W², unlike scikit-learn's ``SGDClassifier``). The elastic net
is the lecture's ``ElasticNet(β)`` with ``λ = alpha · l1_ratio`` and
``β = (1 − l1_ratio) / l1_ratio`` (``l1_ratio = 0`` is pure L2, 1 pure L1).

Fitted attributes: ``coef_`` (C, D) = ``Wᵀ``, ``intercept_`` (C,) = ``b``,
``classes_`` (C,) of any label type, ``n_features_in_``, ``n_iter_`` (epochs run,
or L-BFGS iterations), ``loss_curve_`` (the training objective at every step).
Feature scaling is not done inside: put a :class:`~sklearn.preprocessing.StandardScaler`
in front of the estimator in a pipeline.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _checks, defaults
from ._checks import sklearn_checked
from .datasets.splits import stratified_split
from .errors import InputError, LabelError, ParameterError, TrainingWarning
from .fitting import LBFGS, Minibatch, Problem, solve
from .knn import KNearestNeighbor
from .losses import LOSSES, softmax
from .model import LinearModel
from .objective import Objective
from .optim import METHODS
from .regularizers import L1, L2, ElasticNet
from .rows.batches import steps_per_epoch

__all__ = ["LinearSVM", "SoftmaxClassifier", "KNearestNeighbor"]

OPTIMIZERS = ["auto", *(name for name, method in METHODS.items() if method.gradient)]
"""The optimizers the estimators take: "auto" and every gradient method of the registry (not the random searches)."""
SVM_LOSSES = [name for name, loss in LOSSES.items() if loss.margin]
PENALTIES = ("l2", "l1", "elasticnet", None)
GRADIENT_DEFAULTS = {"max_iter": defaults.value("estimator", "gradient_max_iter"),
                     "tol": defaults.value("estimator", "gradient_tol")}
"""``max_iter=None`` / ``tol=None`` with a gradient optimizer: epochs, and the loss plateau of
scikit-learn's ``SGDClassifier``. With L-BFGS each class has its own (``_lbfgs_defaults``)."""
DTYPES = (np.float64, np.float32)


class _Spec(NamedTuple):
    """Validated hyperparameters of one fit; ``optimizer`` resolved ("auto" is L-BFGS or SGD)."""

    objective: Objective
    optimizer: str
    dtype: np.dtype
    max_iter: int
    tol: float


# --------------------------------------------------------------------------- checks

def regularizer(penalty, alpha, l1_ratio=0.15) -> tuple[object, float]:
    """``(reg, λ)`` for :class:`~linclass.objective.Objective` so that ``λ R(W) = alpha · penalty(W)``.

    >>> regularizer("elasticnet", 0.1, 0.25)        # 0.1 · (0.25 Σ|W| + 0.75 Σ W²)
    (ElasticNet(beta=3.0), 0.025)
    """
    alpha = _checks.reg_strength(alpha, "alpha (the regularization strength λ)")
    _checks.choice(penalty, "penalty", (*PENALTIES, "none"))
    if penalty in (None, "none") or alpha == 0:
        return None, 0.0
    if penalty == "l2":
        return L2(), alpha
    if penalty == "l1":
        return L1(), alpha
    l1_ratio = _checks.number(l1_ratio, "l1_ratio", low=0, high=1.0, hint="; 0 is pure L2, 1 pure L1")
    if l1_ratio == 0:
        return L2(), alpha
    if l1_ratio == 1:
        return L1(), alpha
    return ElasticNet(beta=(1 - l1_ratio) / l1_ratio), alpha * l1_ratio


# --------------------------------------------------------------------------- the estimators

def _has_partial_fit(estimator) -> bool:
    """``partial_fit`` exists for gradient optimizers and "auto" (L-BFGS needs the full batch)."""
    if estimator.optimizer in METHODS and METHODS[estimator.optimizer].full_batch:
        raise AttributeError("partial_fit needs a gradient optimizer (L-BFGS works on the full batch); "
                             "use optimizer='sgd' (or momentum, adam...), or call fit.")
    return True


class _LinearClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit / predict of :class:`LinearSVM` and :class:`SoftmaxClassifier` (see their docs)."""

    def __init__(self, *, penalty="l2", alpha=1e-3, l1_ratio=0.15, optimizer="auto", learning_rate=0.01,
                 schedule="constant", batch_size=64, max_iter=None, tol=None, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=5, init_scale=1e-3, random_state=None,
                 warm_start=False, dtype="float64", verbose=False):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.init_scale = init_scale
        self.random_state = random_state
        self.warm_start = warm_start
        self.dtype = dtype
        self.verbose = verbose

    _loss_name = "softmax"
    _lbfgs_defaults = {"max_iter": defaults.value("estimator", "lbfgs_max_iter"),
                       "tol": defaults.value("estimator", "lbfgs_tol")}
    """L-BFGS's iterations (``LogisticRegression``'s 100) and relative tolerance ``‖∇L‖∞ ≤ tol · ‖∇L(0)‖∞``:
    the softmax's objective then stops within 1e-6 (relative) of ``LogisticRegression(tol=1e-10)``'s on
    digits, raw or standardized (~86 iterations standardized; raw pixels need more than the 100 of the
    default budget, which ends first with a ConvergenceWarning, as scikit-learn's does)."""

    # ------------------------------------------------------------------ settings
    def _spec(self, full_batch: bool = True) -> _Spec:
        """The validated settings; ``full_batch=False`` (``partial_fit``) resolves "auto" to SGD."""
        reg, lam = regularizer(self.penalty, self.alpha, self.l1_ratio)
        objective = Objective(self._loss(), reg, lam)
        _checks.choice(self.optimizer, "optimizer", OPTIMIZERS)
        optimizer = self.optimizer
        if optimizer == "auto":
            smooth = LOSSES[objective.loss].smooth and (reg is None or reg.name == "l2")
            optimizer = "lbfgs" if full_batch and smooth and not self.early_stopping else "sgd"
        if not callable(self.learning_rate):
            _checks.number(self.learning_rate, "learning_rate", low=0, low_open=True,
                          hint="; typical values are 1e-4 ... 1e-1 (or pass a schedule step -> lr)")
        _checks.stable_step(optimizer, self.learning_rate, reg, lam,
                            names=("learning_rate", "alpha" if reg is None or reg.name == "l2" else "alpha·l1_ratio"))
        _checks.integer(self.batch_size, "batch_size")
        defaults = self._lbfgs_defaults if optimizer == "lbfgs" else GRADIENT_DEFAULTS
        max_iter = defaults["max_iter"] if self.max_iter is None else _checks.integer(self.max_iter, "max_iter")
        tol = defaults["tol"] if self.tol is None else _checks.number(self.tol, "tol", low=0, low_open=True,
                                                                  hint="; e.g. 1e-4")
        _checks.integer(self.n_iter_no_change, "n_iter_no_change")
        _checks.number(self.validation_fraction, "validation_fraction", low=0, low_open=True, high=0.5,
                      hint="; the share of the training data held out for early stopping, e.g. 0.1")
        _checks.number(self.init_scale, "init_scale", low=0, hint="; the lecture's 1e-3")
        dtype = _checks.precision(self.dtype)
        _checks.seed(self.random_state, "random_state")
        return _Spec(objective, optimizer, dtype, max_iter, tol)

    def _loss(self) -> str:
        return self._loss_name

    def _minibatch(self, spec: _Spec, **given) -> Minibatch:
        """The core's minibatch solver for ``spec`` (``given``: epochs, seed, … of this call)."""
        return Minibatch(spec.optimizer, lr=self.learning_rate, schedule=self.schedule, batch_size=self.batch_size,
                         **given)

    # ------------------------------------------------------------------ data
    def _check_X(self, X, *, reset: bool, dtype):
        return sklearn_checked(validate_data, self, X, reset=reset, dtype=dtype)

    def _check_Xy(self, X, y, *, reset: bool, dtype):
        X, y = sklearn_checked(validate_data, self, X, y, reset=reset, dtype=dtype)
        sklearn_checked(check_classification_targets, y, error=LabelError)
        return X, y

    def _start(self, D: int, C: int, dtype, seed: int, scale: float) -> dict:
        """Initial ``{"W": (D, C), "b": (C,)}``: the previous solution with ``warm_start``, else
        ``scale · randn`` (zero for L-BFGS: a convex problem needs no random start)."""
        if self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (C, D):
            return {"W": self.coef_.T.astype(dtype), "b": self.intercept_.astype(dtype)}
        return LinearModel.init(D, C, scale=scale, seed=seed, dtype=dtype).params

    def _keep(self, result, warn: bool = True):
        """Keep the weights of ``result``; ``warn``: a :class:`~linclass.errors.TrainingWarning` for each of its
        warnings (the fit ended at or below chance accuracy, or above the objective it started from)."""
        self.coef_ = np.ascontiguousarray(result.params["W"].T)   # (C, D)
        self.intercept_ = np.array(result.params["b"])             # (C,)
        for message in result.warnings if warn else ():
            warnings.warn(message, TrainingWarning, stacklevel=4)

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y):
        """Minimize the objective on ``(X (N, D), y (N,))`` from scratch (or warm); returns ``self``.

        Gradient optimizers run ``max_iter`` epochs of minibatches of ``batch_size``
        (fewer with ``early_stopping``, which holds out ``validation_fraction`` of the
        data, stops after ``n_iter_no_change`` epochs without a better validation
        accuracy and restores the best weights). ``ConvergenceWarning``: the epoch-mean
        training loss was still falling by more than ``tol`` in the last
        ``n_iter_no_change`` epochs when the budget ended. L-BFGS stops when every
        gradient component is below ``tol``, else warns after ``max_iter`` iterations.
        """
        spec = self._spec()
        X, y = self._check_Xy(X, y, reset=True, dtype=spec.dtype)
        classes, y_idx = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise LabelError(f"y has only one class ({classes[0]!r}); a classifier needs at least 2 "
                             "classes: pass examples of two or more classes.")
        seed = _checks.seed(self.random_state, "random_state")
        init_seed, train_seed = _checks.child_seeds(seed, 0)
        scale = 0.0 if spec.optimizer == "lbfgs" else self.init_scale
        params = self._start(X.shape[1], classes.size, spec.dtype, init_seed, scale)
        self.classes_ = classes
        if METHODS[spec.optimizer].full_batch:
            self._fit_lbfgs(spec, X, y_idx, params)
        else:
            self._fit_gradient(spec, X, y_idx, params, train_seed)
        self._seed, self._calls = seed, 1
        return self

    def _fit_lbfgs(self, spec, X, y, params):
        problem = Problem(spec.objective, X, y, self.classes_.size)
        result = solve(problem, LBFGS(tol=spec.tol, max_iter=spec.max_iter, rescale=True), params)
        self._keep(result)                          # rescale: standardized variables, the raw problem's minimum
        self.n_iter_ = max(1, result.iterations)
        self.loss_curve_ = [result.objective]
        self._opt_state, self._schedule_steps = None, None

    def _fit_gradient(self, spec, X, y, params, seed):
        val = None
        if self.early_stopping:
            n_val = max(int(round(self.validation_fraction * X.shape[0])), np.unique(y).size)
            if n_val >= X.shape[0]:
                raise InputError(f"early_stopping needs more data: {X.shape[0]} example(s) cannot be split "
                                 f"into training and a validation part of {n_val}; turn early_stopping off.")
            train_idx, val_idx = stratified_split(y, n_val, seed)
            X, y, val = X[train_idx], y[train_idx], (X[val_idx], y[val_idx])
        solver = self._minibatch(spec, epochs=spec.max_iter, seed=seed, early_stopping=self.early_stopping,
                                 patience=self.n_iter_no_change, tol=spec.tol)
        result = solve(Problem(spec.objective, X, y, self.classes_.size, val=val), solver, params,
                       progress=bool(self.verbose))
        self._keep(result)
        self.n_iter_ = result.epochs
        self.loss_curve_ = [float(v) for v in result.history.loss]
        self.validation_scores_ = list(result.history.val_accuracy) if self.early_stopping else None
        self._opt_state = result.opt_state
        self._schedule_steps = spec.max_iter * steps_per_epoch(X.shape[0], self.batch_size)

    @available_if(_has_partial_fit)
    def partial_fit(self, X, y, classes=None):
        """One pass over ``(X, y)`` in minibatches, continuing from the previous call; returns ``self``.

        For data that does not fit in memory: call it once per chunk. ``classes``
        (every label that will ever appear) is required on the first call. The
        weights and the optimizer's state (momentum, Adam's moments, the step count
        that drives a schedule) carry over between calls, and from a previous
        ``fit``. A schedule spans ``max_iter`` passes over chunks the size of the first.
        """
        spec = self._spec(full_batch=False)
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ParameterError("classes must be given on the first call to partial_fit, e.g. "
                                 "partial_fit(X, y, classes=np.unique(y_all)): every label that will appear.")
        if classes is not None:
            classes = np.unique(classes)
            if classes.size < 2:
                raise LabelError(f"classes holds only one class ({classes!r}); pass at least 2 classes.")
            if not first and not np.array_equal(classes, self.classes_):
                raise LabelError(f"classes={classes.tolist()} differs from the first call's "
                                 f"{self.classes_.tolist()}; pass the same classes (or call fit to start over).")
        X, y = self._check_Xy(X, y, reset=first, dtype=spec.dtype)
        known = classes if first else self.classes_
        unknown = np.setdiff1d(y, known)
        if unknown.size:
            raise LabelError(f"y has label(s) {unknown[:5].tolist()} not in classes {known.tolist()}; "
                             "pass every label in classes on the first call.")
        if first:
            self.classes_, self._seed, self._calls = known, _checks.seed(self.random_state, "random_state"), 0
            self._opt_state, self._schedule_steps, self.loss_curve_, self.n_iter_ = None, None, [], 0
        y_idx = np.searchsorted(self.classes_, y)
        init_seed, train_seed = _checks.child_seeds(self._seed, self._calls)
        params = ({"W": self.coef_.T.astype(spec.dtype), "b": self.intercept_.astype(spec.dtype)}
                  if hasattr(self, "coef_") else
                  LinearModel.init(X.shape[1], self.classes_.size, scale=self.init_scale, seed=init_seed,
                                   dtype=spec.dtype).params)
        if self._schedule_steps is None:
            self._schedule_steps = spec.max_iter * steps_per_epoch(X.shape[0], self.batch_size)
        solver = self._minibatch(spec, epochs=1, seed=train_seed, schedule_steps=self._schedule_steps)
        result = solve(Problem(spec.objective, X, y_idx, self.classes_.size), solver, params,
                       opt_state=self._opt_state, progress=bool(self.verbose))
        self._keep(result, warn=False)
        self._opt_state, self._calls = result.opt_state, self._calls + 1
        self.n_iter_ += 1
        self.loss_curve_ = list(self.loss_curve_) + [float(v) for v in result.history.loss]
        return self

    # ------------------------------------------------------------------ prediction
    def _scores(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = self._check_X(X, reset=False, dtype=DTYPES)
        return LinearModel(self.coef_.T, self.intercept_).scores(X)        # (N, C)

    def decision_function(self, X) -> np.ndarray:
        """Class scores ``X W + b`` (N, C); with 2 classes the margin ``s_1 − s_0`` (N,), as scikit-learn."""
        scores = self._scores(X)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X) -> np.ndarray:
        """The label in ``classes_`` of the highest score (N,)."""
        scores = self._scores(X)                                           # checks fitted first
        return self.classes_[scores.argmax(axis=1)]


_COMMON_DOC = """
    penalty : "l2", "l1", "elasticnet" or None
        ``R(W)``: ``Σ W²``, ``Σ |W|``, ``l1_ratio Σ|W| + (1 − l1_ratio) Σ W²``, or none.
    alpha : float >= 0
        The lecture's regularization strength λ: objective = mean loss + ``alpha · R(W)``
        (default 1e-3; scikit-learn's ``C = 1`` is ``alpha = 1 / (2N)``).
    l1_ratio : float in [0, 1]
        The L1 share of the elastic net.
    optimizer : "auto", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam" or "lbfgs"
        Minibatch gradient method (:mod:`linclass.fitting.loop`) or full-batch L-BFGS
        (smooth losses with L2 or no penalty only). ``"auto"`` (default): L-BFGS in
        ``fit`` when the objective is smooth (softmax, squared hinges; L2 or no penalty)
        and ``early_stopping`` is off, as scikit-learn's ``LogisticRegression``; SGD
        otherwise and always in ``partial_fit``. L-BFGS runs in standardized
        coordinates (``W = V / σ``, ``b = c − μ W`` with the training features' mean
        and standard deviation) but minimizes the objective on the raw features: the
        same minimum, reached without a ``StandardScaler``.
    learning_rate : float or callable ``step -> lr``
        Step size (peak step size with a schedule); ignored by L-BFGS. A step with which
        L2 weight decay provably oscillates or diverges (SGD: ``learning_rate · 2 alpha ≥ 1``;
        see :func:`linclass._checks.stable_step`) is refused with a ``ParameterError``.
    schedule : str
        ``constant``, ``step``, ``exponential``, ``cosine`` (+``warmup``), as ``linclass train --schedule``.
    batch_size : int
        Examples per step (``>= N`` is full-batch gradient descent).
    max_iter : int or None
        Epochs for gradient optimizers (None: 100), iterations for L-BFGS (None: 100, as
        ``LogisticRegression``).
    tol : float or None
        Gradient optimizers: the loss improvement below which training counts as
        converged (decides ``ConvergenceWarning``; None: 1e-3); L-BFGS: the relative
        gradient tolerance ``‖∇L‖∞ ≤ tol · ‖∇L(0)‖∞`` (None: 1e-6 softmax, 1e-3 squared hinge).
    early_stopping, validation_fraction, n_iter_no_change
        Hold out a stratified ``validation_fraction``, stop after ``n_iter_no_change``
        epochs without a better validation accuracy, keep the best weights.
    init_scale : float
        Initial weights ``init_scale · randn(D, C)`` of a gradient optimizer (L-BFGS starts
        from zero, as scikit-learn: its fits do not depend on ``random_state``).
    random_state : int or None
        Seed of the initial weights, the minibatch order and the validation split
        (None: fresh randomness each fit).
    warm_start : bool
        Start ``fit`` from the previous ``coef_`` / ``intercept_``.
    dtype : float64 (default) or float32
        Precision of training (float32: half the memory, faster BLAS).
    verbose : bool
        Show a progress bar.

    A fit that ends at or below chance accuracy on its training data, or with a higher
    objective than it started from, warns (:class:`~linclass.errors.TrainingWarning`).
"""


class LinearSVM(_LinearClassifier):
    """Multiclass linear SVM ``f(x) = W x + b`` trained on a hinge loss.

    ``loss``: ``"squared-ova-svm"`` (default: one-vs-rest squared hinge,
    ``L_i = Σ_{j≠y_i} max(0, 1 + s_j)² + max(0, 1 − s_{y_i})²``, the loss of
    scikit-learn's ``LinearSVC``), ``"svm"`` (the lecture's Weston–Watkins hinge,
    ``L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + 1)``), ``"squared-svm"`` (its square),
    ``"ova-svm"`` (one-vs-all hinge) or ``"structured-svm"`` (Crammer–Singer). The
    margin Δ is 1: with regularization its scale is arbitrary (the lecture's
    argument). No ``predict_proba``: SVM scores are not probabilities.

    Why the squared one-vs-rest hinge by default: it is smooth, so ``optimizer="auto"``
    solves it exactly with L-BFGS, on raw features too, and on scikit-learn's four
    classification data sets (raw and standardized) it matches or beats ``LinearSVC()``
    (``benchmarks/bench_defaults.py``). The lecture's hinge has kinks: L-BFGS stalls
    on them, so ``loss="svm"`` trains with SGD (standardize the features and pick a
    learning rate). Measured and not chosen: the squared Weston–Watkins hinge solved
    exactly, and the lecture's hinge solved by a smoothed-hinge continuation (3–17 times
    the L-BFGS iterations), were both one test example short of ``LinearSVC`` on
    standardized wine, for every ``alpha`` from 1e-4 to 1e-2.
    """ + _COMMON_DOC + """
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LinearSVM(random_state=0).fit(X, y)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    _lbfgs_defaults = {"max_iter": defaults.value("estimator", "lbfgs_max_iter"),
                       "tol": defaults.value("estimator", "lbfgs_tol_hinge")}
    """The squared hinge's curvature jumps at the margins, so L-BFGS's fast final phase comes later:
    a looser tolerance (standardized digits converge in ~45 iterations, raw digits in ~95)."""

    def __init__(self, loss="squared-ova-svm", *, penalty="l2", alpha=1e-3, l1_ratio=0.15, optimizer="auto",
                 learning_rate=0.01, schedule="constant", batch_size=64, max_iter=None, tol=None,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=5, init_scale=1e-3,
                 random_state=None, warm_start=False, dtype="float64", verbose=False):
        self.loss = loss
        super().__init__(**{k: v for k, v in locals().items() if k not in ("self", "loss", "__class__")})

    def _loss(self) -> str:
        _checks.choice(self.loss, "loss", SVM_LOSSES, hint="; for the softmax loss use SoftmaxClassifier")
        return self.loss


class SoftmaxClassifier(_LinearClassifier):
    """Multinomial logistic regression ``f(x) = W x + b`` on the lecture's softmax (cross-entropy) loss.

    ``L_i = −log(e^{s_{y_i}} / Σ_j e^{s_j})``; ``predict_proba`` is the softmax of the scores.

    Relation to scikit-learn's ``LogisticRegression`` (multinomial, ``penalty="l2"``,
    ``fit_intercept=True``), which minimizes ``C Σ_i CE_i + ½ ‖W‖²``: dividing by
    ``C N`` gives ``1/N Σ_i CE_i + ‖W‖² / (2 C N)``, this class's objective with
    ``alpha = 1 / (2 C N)``, i.e. ``C = 1 / (2 alpha N)`` for N training examples.
    With L-BFGS (the default) both reach the same minimum.
    """ + _COMMON_DOC + """
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxClassifier(random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).sum().round(6), bool(clf.score(X, y) > 0.95)
    (np.float64(1.0), True)
    """

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``softmax(X W + b)`` (N, C), columns in the order of ``classes_``."""
        return softmax(self._scores(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """``log predict_proba`` (N, C), computed stably as ``s − logsumexp(s)``."""
        return log_softmax(self._scores(X), axis=1)
