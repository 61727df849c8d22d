"""The bias trick (``linclass explain --bias-trick``).

``f(x) = W x + b`` becomes one matrix product: append a 1 to ``x`` and ``b`` as
the last column of ``W``, ``[W | b] [x; 1] = W x + b``. Shown on seed 003's
4-pixel image (3 classes), then at CIFAR-10's shapes: ``W`` 10 × 3072 and ``b``
become one 10 × 3073 matrix, ``x`` a 3073-vector.
"""

from __future__ import annotations

import numpy as np

from ..i18n import _
from .explain import SLIDES_W, pad, text_width
from .explain_gradient import SLIDES_B
from .numbers import num, score

SLIDES_X = [56, 231, 24, 2]
"""Seed 003's cat image, 4 pixels."""
CIFAR_CLASSES, CIFAR_PIXELS = 10, 32 * 32 * 3
SEED = 0


def extend(W, b, x) -> tuple[np.ndarray, np.ndarray]:
    """``([W | b], [x; 1])``: the bias folded into W as its last column."""
    W, b, x = (np.asarray(v, dtype=np.float64) for v in (W, b, x))
    return np.column_stack([W, b]), np.append(x, 1.0)


def _vector(v, fmt=score) -> str:
    return "[" + ", ".join(fmt(x) for x in v) + "]"


def explain_bias_trick(seed: int = SEED):
    """``(text, data)``: ``W x + b`` and ``[W | b] [x; 1]`` side by side, on the slides' and CIFAR's shapes."""
    W, b, x = np.asarray(SLIDES_W), np.asarray(SLIDES_B), np.asarray(SLIDES_X, dtype=np.float64)
    W_ext, x_ext = extend(W, b, x)
    plain, folded = W @ x + b, W_ext @ x_ext
    rng = np.random.default_rng(seed)
    Wc, bc = 1e-3 * rng.standard_normal((CIFAR_CLASSES, CIFAR_PIXELS)), rng.standard_normal(CIFAR_CLASSES)
    xc = rng.integers(0, 256, CIFAR_PIXELS).astype(np.float64)
    Wc_ext, xc_ext = extend(Wc, bc, xc)
    gap = float(np.abs(Wc_ext @ xc_ext - (Wc @ xc + bc)).max())
    rows = [f"  [{', '.join(score(v) for v in row)} | {score(bias)}]" for row, bias in zip(W, b)]
    label = max(text_width(t) for t in ("W x + b", _("x extended"), "[W | b] [x; 1]")) + 2
    lines = [_("The bias trick: {trick}, one matrix product instead of two parameters.").format(
                 trick="f(x) = W x + b = [W | b] [x; 1]"), "",
             _("Seed 003: W is {shape}, b = {b}, x = {x}").format(
                 shape=f"{W.shape[0]} × {W.shape[1]}", b=_vector(b), x=_vector(x, num)),
             "  " + pad("W x + b", label, left=True) + f"= {_vector(plain)}",
             _("{name} is {shape}:").format(name="[W | b]", shape=f"{W_ext.shape[0]} × {W_ext.shape[1]}"), *rows,
             "  " + pad(_("x extended"), label, left=True) + f"= {_vector(x_ext, num)}",
             "  " + pad("[W | b] [x; 1]", label, left=True) + f"= {_vector(folded)}   " + _("(the same scores)"), "",
             _("CIFAR-10: W is {shape} and b has {classes} entries; with the trick [W | b] is {extended}\n"
               "and x has {entries} entries (its last one 1). On a random W, b and image: {check} = {gap}\n"
               "(equal up to round-off). Preprocess once (append the 1), and only W is left to learn; the\n"
               "regularization R(W) should still leave the bias column out.").format(
                 shape=f"{CIFAR_CLASSES} × {CIFAR_PIXELS:,}", classes=CIFAR_CLASSES,
                 extended=f"{Wc_ext.shape[0]} × {Wc_ext.shape[1]:,}", entries=f"{xc_ext.size:,}",
                 check="max |[W | b] [x; 1] − (W x + b)|", gap=num(gap, 12))]
    data = {"W_extended": W_ext.tolist(), "x_extended": x_ext.tolist(), "scores": plain.tolist(),
            "scores_extended": folded.tolist(), "cifar_shape": list(Wc_ext.shape), "cifar_max_difference": gap}
    return "\n".join(lines), data
