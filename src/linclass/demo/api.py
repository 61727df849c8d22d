"""The demo's JSON API: validate a request, compute with linclass's math, answer.

Conventions: N points, D = 2 features (the point's x and y), C = 3 classes.
At this boundary ``W`` is laid out as the page shows it, **(C, D) = (3, 2)**: row
``k`` is class ``k``'s weight vector, so ``s_k = W[k] · x + b[k]`` (the lecture's
``Wx + b``). linclass's code keeps ``W`` as (D, C) (examples are rows,
``scores = X @ W + b``), so every handler transposes on the way in and out;
the gradients are returned in the page's (C, D) layout too.

Endpoints (bodies are JSON objects):

- ``GET /api/defaults`` → the default data, parameters and settings, the loss and
  optimizer names, and the request limits.
- ``GET /api/messages[?lang=ru]`` → ``{lang, messages: {English: translation}}``, the page's words in
  the learners' language (:mod:`linclass.demo.messages`).
- ``POST /api/evaluate`` ``{X (N, 2), y (N,), W (3, 2), b (3,), loss, reg_strength[, delta]}``
  → ``{scores (N, 3), losses (N,) the L_i, data_loss, reg_loss, loss, grads: {W (3, 2), b (3,)}}``
  where ``loss = 1/N Σ L_i + λ Σ W²`` (:class:`linclass.objective.Objective` with L2); ``delta``
  is the hinge losses' margin Δ (default 1; softmax ignores it).
- ``POST /api/step`` the same fields plus ``{optimizer, step_size, opt_state}``
  → ``{W, b, opt_state, evaluation, slope_along_step, steepest_slope}``: one update of
  :mod:`linclass.optim` from the gradient g at the sent parameters, the evaluation at the
  new ones, the directional derivative of the loss along the step, ``g · d / ‖d‖`` with
  ``d`` the change of (W, b) (0 for no change), and the steepest one, ``−‖g‖``. The
  server keeps nothing: ``opt_state`` (momentum, Adam moments, step count) goes
  back to the page, which sends it with the next step (``null`` starts fresh).
- ``POST /api/random`` ``{what: "data" | "params", seed}`` → random ``{X, y}`` or ``{W, b}``.

Every request is checked (field names, shapes, types, finite numbers of bounded
size, labels in ``[0, 3)``, at most :data:`MAX_POINTS` points, names from the
registries); bad input raises :class:`ApiError` with a 4xx status and a message
naming the cause and the fix.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .._checks import MAX_SEED
from ..defaults import value
from ..errors import LinclassError
from ..objective import Objective
from ..optim import apply_updates, get_optimizer
from ..regularizers import L2
from .messages import page_messages

N_FEATURES = 2
N_CLASSES = 3
MAX_POINTS = 2000
"""Most points a request may carry."""
MAX_ABS = 1e6
"""Largest magnitude accepted for any number (keeps scores, squares and moments finite)."""
MAX_REG_STRENGTH = 100.0
MAX_STEP_SIZE = 10.0
MAX_DELTA = 10.0

DEMO_LOSSES = ("svm", "ova-svm", "structured-svm", "softmax")
"""The losses the page offers: multiclass SVM (Weston–Watkins, one-vs-all, structured) and softmax."""
DEMO_OPTIMIZERS = ("sgd", "momentum", "adam")

DEFAULTS = {
    # three loose clusters over [−1, 1]², three points per class
    "X": [[0.50, 0.40], [0.80, 0.30], [0.30, 0.80],
          [-0.40, 0.30], [-0.30, 0.70], [-0.70, 0.20],
          [0.30, -0.40], [-0.50, -0.50], [-0.10, -0.60]],
    "y": [0, 0, 0, 1, 1, 1, 2, 2, 2],
    # a deliberately poor start, so that the loss has somewhere to go; no hinge sits
    # at its kink here (every margin is ≥ 0.2 away from 0), so gradients are exact
    "W": [[1.2, 2.1], [1.9, -3.1], [-2.4, 0.6]],
    "b": [0.05, 0.45, -0.55],
    "loss": "svm",
    "reg_strength": value("demo", "reg_strength"),
    "delta": 1.0,
    "optimizer": "sgd",
    "step_size": value("demo", "step_size"),
}
"""The page's starting point (``W`` in the page's (C, D) layout)."""

_PROBLEM_FIELDS = {"X", "y", "W", "b", "loss", "reg_strength"}
_OPTIONAL_FIELDS = {"delta"}
_STEP_FIELDS = _PROBLEM_FIELDS | {"optimizer", "step_size", "opt_state"}


class ApiError(LinclassError, ValueError):
    """A request the API refuses: ``status`` is the HTTP status (4xx) to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- validation

def _object(body, allowed: set, required: set) -> dict:
    if not isinstance(body, dict):
        raise ApiError(f"the request body must be a JSON object, got {type(body).__name__}; "
                       "send {\"field\": value, ...}.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(f"unknown field(s) {', '.join(map(repr, unknown))}; "
                       f"the allowed fields are {', '.join(sorted(allowed))}.")
    missing = sorted(required - set(body))
    if missing:
        raise ApiError(f"missing field(s) {', '.join(map(repr, missing))}; send all of "
                       f"{', '.join(sorted(required))}.")
    return body


def _checked(check, *args, **kwargs):
    """A validator of :mod:`linclass._checks`, its error answered as a 400 (:class:`ApiError`)."""
    try:
        return check(*args, **kwargs)
    except LinclassError as err:
        raise ApiError(str(err)) from None


def _number(v, name: str, lo: float = -MAX_ABS, hi: float = MAX_ABS, *, lo_open: bool = False) -> float:
    """``v`` as a float if it is a finite number (not a boolean) in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    return _checked(_checks.number, v, name, low=lo, high=hi, low_open=lo_open, hint="; send a value in that range")


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _matrix(value, name: str, rows: int | None, cols: int, max_rows: int = MAX_POINTS) -> np.ndarray:
    """A ``(rows, cols)`` float64 array from nested JSON lists of bounded finite numbers."""
    shape = f"({rows if rows is not None else 'N'}, {cols})"
    if not isinstance(value, list):
        raise ApiError(f"{name} must be a list of rows, shape {shape}; got {type(value).__name__}.")
    if rows is not None and len(value) != rows:
        raise ApiError(f"{name} must have {rows} rows, shape {shape}; got {len(value)}.")
    if len(value) > max_rows:
        raise ApiError(f"{name} has {len(value)} rows; at most {max_rows} are accepted; "
                       "remove some points.")
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != cols:
            raise ApiError(f"{name}[{i}] must be a list of {cols} numbers, shape {shape}; got {_short(row)}.")
        for j, v in enumerate(row):
            _number(v, f"{name}[{i}][{j}]")
    return np.array(value, dtype=np.float64).reshape(len(value), cols)


def _vector(value, name: str, size: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != size:
        raise ApiError(f"{name} must be a list of {size} numbers; got {_short(value)}.")
    return np.array([_number(v, f"{name}[{i}]") for i, v in enumerate(value)], dtype=np.float64)


def _labels(value, n: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != n:
        raise ApiError(f"y must be a list of {n} class labels, one per point of X; got {_short(value)}.")
    for i, v in enumerate(value):
        if type(v) is not int or not 0 <= v < N_CLASSES:
            raise ApiError(f"y[{i}] = {_short(v)} is not a class label; labels are integers 0 to {N_CLASSES - 1}.")
    return np.array(value, dtype=np.int64)


def _name(value, field: str, choices) -> str:
    return _checked(_checks.choice, value, field, choices)


def parse_problem(body: dict) -> dict:
    """The validated problem of a request: ``X (N, 2), y (N,), W (2, 3)`` (code layout), ``b, loss, λ``."""
    X = _matrix(body["X"], "X", None, N_FEATURES)
    if X.shape[0] == 0:
        raise ApiError("X has no points; add at least one point.")
    return {
        "X": X,
        "y": _labels(body["y"], X.shape[0]),
        "W": _matrix(body["W"], "W", N_CLASSES, N_FEATURES).T.copy(),  # page (C, D) → code (D, C)
        "b": _vector(body["b"], "b", N_CLASSES),
        "loss": _name(body["loss"], "loss", DEMO_LOSSES),
        "reg_strength": _number(body["reg_strength"], "reg_strength", 0.0, MAX_REG_STRENGTH),
        "delta": _number(body.get("delta", 1.0), "delta", 0.0, MAX_DELTA),
    }


# ---------------------------------------------------------------- the math

def _objective(problem: dict) -> Objective:
    return Objective(loss=problem["loss"], reg=L2(), reg_strength=problem["reg_strength"], delta=problem["delta"])


def evaluate(problem: dict) -> dict:
    """Scores, per-point losses, the objective's three parts and its gradient, as JSON-ready lists."""
    X, y, W, b = problem["X"], problem["y"], problem["W"], problem["b"]
    objective = _objective(problem)
    value = objective({"W": W, "b": b}, X, y)
    per_point, _ = objective.data_loss(value.scores, y, reduction="none")  # (N,)
    scores = value.scores
    out = {
        "scores": scores, "losses": per_point,
        "data_loss": value.data_loss, "reg_loss": value.reg_loss, "loss": value.loss,
        "grads": {"W": value.grads["W"].T, "b": value.grads["b"]},  # dW back to (C, D)
    }
    return _finite_json(out, "the evaluation")


def _finite_json(tree, what: str):
    """``tree`` with arrays as lists; :class:`ApiError` if any number is not finite."""
    if isinstance(tree, dict):
        return {k: _finite_json(v, what) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_finite_json(v, what) for v in tree]
    arr = np.asarray(tree)
    if arr.dtype.kind in "iu":  # counts stay integers
        return arr.tolist()
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ApiError(f"{what} is not finite (the parameters or the optimizer state sent are out of "
                       "range); lower the step size, send opt_state null, or reset the parameters.")
    return arr.tolist()


# ---------------------------------------------------------------- optimizer state

def _leaves(tree) -> list:
    """The array/number leaves of an optimizer state, depth first (None is no leaf)."""
    if tree is None:
        return []
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    if isinstance(tree, (tuple, list)):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [tree]


def _rebuild(template, leaves: list):
    """``template`` with its leaves replaced, in order, by ``leaves`` (consumed from the front)."""
    if template is None:
        return None
    if isinstance(template, dict):
        return type(template)((k, _rebuild(v, leaves)) for k, v in template.items())
    if isinstance(template, tuple) and hasattr(template, "_fields"):  # a NamedTuple
        return type(template)(*(_rebuild(v, leaves) for v in template))
    if isinstance(template, (tuple, list)):
        return type(template)(_rebuild(v, leaves) for v in template)
    return leaves.pop(0)


def _state_leaf(value, template, name: str):
    """One leaf sent by the page, checked against the leaf ``init`` makes: same shape, same kind."""
    tmpl = np.asarray(template)
    integer = tmpl.dtype.kind in "iu"
    lo = 0 if integer else -MAX_ABS
    if tmpl.ndim == 0:
        v = _number(value, name, lo, MAX_ABS)
        if integer and v != int(v):
            raise ApiError(f"{name} must be a whole number, got {_short(value)}.")
        v = int(v) if integer else v
        return tmpl.dtype.type(v) if isinstance(template, (np.ndarray, np.generic)) else v
    if tmpl.ndim != 2 and tmpl.ndim != 1:
        raise ApiError(f"{name} has an unsupported shape.")  # pragma: no cover - the optimizers' states are 1-D/2-D
    if tmpl.ndim == 1:
        arr = _vector(value, name, tmpl.shape[0])
    else:
        arr = _matrix(value, name, tmpl.shape[0], tmpl.shape[1])
    if integer and not np.array_equal(arr, np.round(arr)):
        raise ApiError(f"{name} must hold whole numbers.")
    return arr.astype(tmpl.dtype)


def parse_state(value, optimizer: str, template):
    """The optimizer state the page sent, rebuilt on ``template`` (``opt.init(params)``)."""
    if value is None:
        return template
    if not isinstance(value, dict) or set(value) != {"optimizer", "leaves"}:
        raise ApiError("opt_state must be null or the object {\"optimizer\", \"leaves\"} "
                       "returned by the previous step; send null to start afresh.")
    if value["optimizer"] != optimizer:
        raise ApiError(f"opt_state belongs to optimizer {_short(value['optimizer'])}, not {optimizer!r}; "
                       "send null after switching optimizers.")
    wanted = _leaves(template)
    sent = value["leaves"]
    if not isinstance(sent, list) or len(sent) != len(wanted):
        raise ApiError(f"opt_state.leaves must be a list of {len(wanted)} entries for {optimizer}; "
                       "send back what the previous step returned, or null.")
    leaves = [_state_leaf(v, t, f"opt_state.leaves[{i}]") for i, (v, t) in enumerate(zip(sent, wanted))]
    return _rebuild(template, leaves)


def dump_state(state, optimizer: str) -> dict:
    return {"optimizer": optimizer, "leaves": _finite_json(_leaves(state), "the optimizer state")}


# ---------------------------------------------------------------- handlers

def handle_defaults() -> dict:
    return {**DEFAULTS, "losses": list(DEMO_LOSSES), "optimizers": list(DEMO_OPTIMIZERS),
            "limits": {"max_points": MAX_POINTS, "max_abs": MAX_ABS, "max_delta": MAX_DELTA,
                       "max_reg_strength": MAX_REG_STRENGTH, "max_step_size": MAX_STEP_SIZE}}


def handle_evaluate(body) -> dict:
    return evaluate(parse_problem(_object(body, _PROBLEM_FIELDS | _OPTIONAL_FIELDS, _PROBLEM_FIELDS)))


def handle_step(body) -> dict:
    """One optimizer update from the gradient at the sent parameters; then the evaluation there."""
    body = _object(body, _STEP_FIELDS | _OPTIONAL_FIELDS, _STEP_FIELDS)
    problem = parse_problem(body)
    name = _name(body["optimizer"], "optimizer", DEMO_OPTIMIZERS)
    step_size = _number(body["step_size"], "step_size", 0.0, MAX_STEP_SIZE, lo_open=True)
    opt = get_optimizer(name, learning_rate=step_size)
    params = {"W": problem["W"], "b": problem["b"]}
    state = parse_state(body["opt_state"], name, opt.init(params))
    grads = _objective(problem)(params, problem["X"], problem["y"]).grads
    with np.errstate(all="ignore"):  # a non-finite result is refused below, with a message
        updates, state = opt.update(grads, state, params)
        new_params = apply_updates(params, updates)
    new = {**problem, "W": np.asarray(new_params["W"], dtype=np.float64),
           "b": np.asarray(new_params["b"], dtype=np.float64)}
    slope, steepest = directional_slopes(grads, params, new)
    return {"W": _finite_json(new["W"].T, "the updated W"), "b": _finite_json(new["b"], "the updated b"),
            "opt_state": dump_state(state, name), "evaluation": evaluate(new),
            "slope_along_step": slope, "steepest_slope": steepest}


def directional_slopes(grads: dict, old: dict, new: dict) -> tuple[float, float]:
    """``(g · d / ‖d‖, −‖g‖)`` over W and b: the loss's slope along the step ``d = new − old``, and the steepest."""
    g = np.concatenate([np.ravel(grads[k]) for k in ("W", "b")]).astype(np.float64)
    d = np.concatenate([np.ravel(new[k]) - np.ravel(old[k]) for k in ("W", "b")]).astype(np.float64)
    norm = float(np.linalg.norm(d))
    slope = float(g @ d) / norm if norm > 0 else 0.0
    return _finite_json(slope, "the slope along the step"), _finite_json(-float(np.linalg.norm(g)), "the gradient")


def handle_random(body) -> dict:
    """Random data (4 points per class around 3 random centres) or random parameters, from ``seed``."""
    body = _object(body, {"what", "seed"}, {"what", "seed"})
    what = _name(body["what"], "what", ("data", "params"))
    seed = _checked(_checks.integer, body["seed"], "seed", 0, maximum=MAX_SEED)
    rng = np.random.default_rng(seed)
    if what == "params":
        return {"W": rng.normal(0.0, 1.5, (N_CLASSES, N_FEATURES)).round(3).tolist(),
                "b": rng.normal(0.0, 0.5, N_CLASSES).round(3).tolist()}
    per_class = 4
    centres = rng.uniform(-0.6, 0.6, (N_CLASSES, N_FEATURES))  # (C, 2)
    X = np.repeat(centres, per_class, axis=0) + rng.normal(0.0, 0.25, (N_CLASSES * per_class, N_FEATURES))
    return {"X": np.clip(X, -0.95, 0.95).round(3).tolist(),
            "y": np.repeat(np.arange(N_CLASSES), per_class).tolist()}


ROUTES = {
    ("GET", "/api/defaults"): lambda body: handle_defaults(),
    ("GET", "/api/messages"): lambda query: page_messages(query.get("lang")),
    ("POST", "/api/evaluate"): handle_evaluate,
    ("POST", "/api/step"): handle_step,
    ("POST", "/api/random"): handle_random,
}
"""``(method, path) -> handler(body) -> dict``; a GET handler gets the query instead (``{"lang": …}``:
the page's ``?lang=``, else the server's language)."""
