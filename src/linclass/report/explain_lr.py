"""The learning-rate lab (``linclass explain --lr-lab``).

One small problem, gradient descent with four learning rates. The problem is
the shape of any smooth loss near its minimum, a valley ten times steeper
across than along: ``L(w) = ½ (w₁² + 10 w₂²)``, gradient ``(w₁, 10 w₂)``. A step
multiplies ``w_k`` by ``1 − α a_k``, so with ``a_max = 10``: ``α a_max < 1``
goes straight down; ``1 < α a_max < 2`` overshoots the valley floor every step
(oscillates) but still converges; ``α a_max > 2`` diverges; and a tiny ``α``
barely moves. Each run's regime is named from what it did, not from ``α``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..i18n import N_, _
from . import lecture_plots
from .numbers import fixed, general, num, vector

CURVATURE = (1.0, 10.0)
START = (-4.0, 1.5)
STEPS = 30
SHOWN_STEPS = (0, 10, 20, 30)
RATES = {"too small": 0.002, "good": 0.09, "oscillating": 0.195, "diverging": 0.21}
"""The learning rates tried, by the regime the theory above expects."""
REGIMES = {
    "too small": N_("barely moves: the loss is still more than half its start"),
    "good": N_("goes straight down the valley and converges"),
    "oscillating": N_("overshoots the valley floor every step (w₂ flips sign) and converges slowly"),
    "diverging": N_("every overshoot is larger than the last: the loss grows without bound"),
}
REGIME_NAMES = {"too small": N_("too small"), "good": N_("good"), "oscillating": N_("oscillating"),
                "diverging": N_("diverging")}
"""Each regime's name as printed (the keys stay English: they are data)."""


def descend(lr: float, steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """``(path (steps+1, 2), losses (steps+1,))`` of gradient descent on the bowl from :data:`START`."""
    a = np.asarray(CURVATURE)
    w = np.asarray(START, dtype=np.float64)
    path = [w.copy()]
    for _step in range(steps):
        w = w - lr * a * w
        path.append(w.copy())
    path = np.asarray(path)
    return path, 0.5 * (path ** 2 * a).sum(axis=1)


def regime(path, losses) -> str:
    """Name what a run did: diverging, oscillating, too small or good."""
    if losses[-1] > losses[0]:
        return "diverging"
    if np.any(np.sign(path[1:]) * np.sign(path[:-1]) < 0):
        return "oscillating"
    if losses[-1] > 0.5 * losses[0]:
        return "too small"
    return "good"


def explain_lr(out_dir=None, rates=None):
    """``(text, data)``: the four runs, each regime named, and one plot (``lr_lab.png``)."""
    rates = RATES if rates is None else rates
    runs = {name: descend(lr) for name, lr in rates.items()}
    out = Path(out_dir) if out_dir is not None else Path("runs") / "lr-lab"
    named = {f"α = {general(rates[k], 6)}: {lecture_plots.drawn(REGIME_NAMES[regime(*v)])}": v
             for k, v in runs.items()}
    picture = lecture_plots.lr_lab(named, CURVATURE, out / "lr_lab.png")
    a_max = max(CURVATURE)
    lines = [_("Learning-rate lab: gradient descent on {loss} from w = {start}, {steps} steps\n"
               "(each step multiplies w_k by 1 − α a_k; the steep direction has a = {steep})").format(
                 loss="L(w) = ½ (w₁² + 10 w₂²)", start=vector(START, 1), steps=STEPS, steep=num(max(CURVATURE))),
             "", f"{'α':>7}{'α·a_max':>10}" + "".join(f"{f'L({t})':>11}" for t in SHOWN_STEPS) + "   " + _("regime")]
    results = []
    for name, (path, losses) in runs.items():
        seen = regime(path, losses)
        results.append({"lr": rates[name], "expected": name, "regime": seen, "losses": losses.tolist(),
                        "final_loss": float(losses[-1])})
        lines.append(f"{general(rates[name], 6):>7}{fixed(rates[name] * a_max, '>10.2f')}" +
                     "".join(f"{general(losses[t], 3):>11}" for t in SHOWN_STEPS)
                     + f"   {_(REGIME_NAMES[seen])}: {_(REGIMES[seen])}")
    lines += ["", _("Rule: α·a_max < 1 straight down, 1–2 oscillating, > 2 diverging (here {one} and {two});\n"
                    "too small wastes steps. In training, try α by factors of 10 and watch the loss curve for these "
                    "shapes.").format(one=num(1 / a_max, 2), two=num(2 / a_max, 2)), "",
              _("plot: {path}").format(path=picture)]
    return "\n".join(lines), {"runs": results, "curvature": list(CURVATURE), "start": list(START),
                              "plot": str(picture)}
