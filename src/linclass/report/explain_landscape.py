"""The loss landscape and convexity (``linclass explain --landscape``).

As in the course notes' figures: a random ``W`` for scikit-learn's digits, the
data loss along one random direction, ``L(W + a·W₁)``, and over a random plane,
``L(W + a·W₁ + b·W₂)``. The SVM's slices are piecewise-linear bowls (each
margin switches on along a line), the softmax's are smooth bowls. Both losses
are convex in ``W``: the SVM loss is a sum of maxima of functions linear in
``W``, the softmax loss is a log-sum-exp of linear functions minus a linear one.
Every slice of a convex function is convex, so its second differences are
``≥ 0``; the text prints the smallest one found, and gradient descent on
these losses has no local minima to get stuck in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from .. import losses
from ..i18n import _
from . import lecture_plots
from .explain import columns
from .numbers import fixed, general, small

SEED = 0
EXAMPLES = 10
REACH = 1.0
LINE_POINTS = 201
PLANE_POINTS = 41
CONVEX_TOLERANCE = 1e-9
"""Round-off allowance for a second difference of a convex function (about 1e-15 × the loss here)."""


def landscape_problem(seed: int = SEED):
    """``(X (N, 64), y, W, W₁, W₂)``: the first digits in [0, 1], a random W and two random directions."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:EXAMPLES] / 16.0, y[:EXAMPLES]
    rng = np.random.default_rng(seed)
    W = 0.1 * rng.standard_normal((X.shape[1], 10))
    W1, W2 = (rng.standard_normal((X.shape[1], 10)) for _ in range(2))
    return X, y, W, W1, W2


def data_loss(loss: str, scores, y) -> np.ndarray:
    """The mean data loss of each score matrix in ``scores (..., N, C)``."""
    flat = scores.reshape(-1, *scores.shape[-2:])
    fn = losses.svm_loss if loss == "svm" else losses.softmax_loss
    values = [float(fn(S, y)[0]) for S in flat]
    return np.asarray(values).reshape(scores.shape[:-2])


def slices(loss: str, X, y, W, W1, W2) -> dict:
    """The loss along ``W + a·W₁`` (a line) and over ``W + a·W₁ + b·W₂`` (a plane), a in [−1, 1]."""
    S0, S1, S2 = X @ W, X @ W1, X @ W2  # scores are linear in W: S(W + aW₁ + bW₂) = S0 + a S1 + b S2
    line = np.linspace(-REACH, REACH, LINE_POINTS)
    plane = np.linspace(-REACH, REACH, PLANE_POINTS)
    along = data_loss(loss, S0 + line[:, None, None] * S1, y)
    grid = S0 + plane[:, None, None, None] * S1 + plane[None, :, None, None] * S2
    return {"line": line, "along": along, "plane": plane, "over": data_loss(loss, grid, y)}


def second_differences(values) -> np.ndarray:
    """``f(a − h) − 2 f(a) + f(a + h)`` along equally spaced samples: ≥ 0 everywhere for a convex f."""
    values = np.asarray(values, dtype=np.float64)
    return values[:-2] - 2 * values[1:-1] + values[2:]


def explain_landscape(out_dir=None, seed: int = SEED):
    """``(text, data)``: both losses' slices, their smallest second difference, and one plot."""
    X, y, W, W1, W2 = landscape_problem(seed)
    views = {loss: slices(loss, X, y, W, W1, W2) for loss in ("svm", "softmax")}
    out = Path(out_dir) if out_dir is not None else Path("runs") / "landscape"
    picture = lecture_plots.landscape(views, out / "landscape.png")
    span = f"[{general(-REACH, 6)}, {general(REACH, 6)}]"
    lines = [_("The loss landscape: a random W ({pixels} pixels × {classes} classes) on {n} digits, the data loss\n"
               "along {line} and over {plane} for random directions W₁, W₂, a and b in {span}.").format(
                 pixels=X.shape[1], classes=W.shape[1], n=len(y), line="W + a·W₁", plane="W + a·W₁ + b·W₂",
                 span=span), ""]
    results, rows = {}, []
    for loss, view in views.items():
        centre = float(view["along"][LINE_POINTS // 2])
        curvature = float(second_differences(view["along"]).min())
        shown = 0.0 if abs(curvature) < CONVEX_TOLERANCE else curvature  # round-off prints as 0
        rows.append((loss, [small(centre), small(float(view["along"].min())), small(float(view["over"].min())),
                            fixed(shown, ".2g")]))
        results[loss] = {"loss": centre, "along": view["along"].tolist(), "plane_min": float(view["over"].min()),
                         "min_second_difference": curvature, "convex": curvature >= -CONVEX_TOLERANCE}
    lines += columns(_("loss"), rows, ["L(W)", _("min along the line"), _("min over the plane"),
                                       _("smallest second difference")], label_width=8, fit=True)
    lines += ["", _("Both losses are convex in W: the SVM loss is a sum of max(0, ·) of functions linear in W\n"
                    "(a piecewise-linear bowl, with a kink wherever a margin switches on), the softmax loss is\n"
                    "{softmax} with s linear in W (a smooth bowl). Every slice of a convex function is\n"
                    "convex: its second differences are ≥ 0 (up to round-off), as above. So gradient descent has no\n"
                    "local minima to get stuck in: any local minimum is the global one. (The transcripts' \"stuck in\n"
                    "local minima\" is true of neural networks, not of these linear classifiers.)").format(
                        softmax="log Σ e^{s_j} − s_{y_i}"), "", _("plot: {path}").format(path=picture)]
    data = {"examples": int(len(y)), "reach": REACH, "line": views["svm"]["line"].tolist(), **results,
            "plot": str(picture)}
    return "\n".join(lines), data
