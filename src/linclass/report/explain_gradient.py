"""The numerical-gradient walk (``linclass explain --gradient``).

First the slides' walk with their own numbers (seeds 000–003, seed 001's
dimensions 4–6 and seed 004's ``h = 0.001``), then the same walk live on a tiny
real problem: the slides' W (seed 003, 3 classes × 4 pixels) on three images,
each dimension's ``(L(W + h) − L(W)) / h`` next to the analytic ``dW``; one
step ``W − α·dW``; and the error of forward and centered differences against
``h`` (truncation error falls with ``h``, round-off error grows as ``ε/h``);
last, one numerical gradient timed against the analytic one at CIFAR-10's size
(:mod:`.explain_speed`).
"""

from __future__ import annotations

import numpy as np

from ..i18n import _
from ..objective import Objective
from .explain import SLIDES_CLASSES, SLIDES_LABELS, SLIDES_W, pad, slides_classes
from .explain_speed import speed_text, time_gradients
from .numbers import fixed, general, num, score

SLIDE_WALK = [
    # (seeds, dimension (1-based), w, h, L(W), L(W + h))
    ("000–003", 1, 0.34, 1e-4, 1.25347, 1.25322),
    ("000–003", 2, -1.11, 1e-4, 1.25347, 1.25353),
    ("000–003", 3, 0.78, 1e-4, 1.25347, 1.25347),
    ("001", 4, 0.12, 1e-4, 1.25347, 1.25247),
    ("001", 5, 0.55, 1e-4, 1.25347, 1.25387),
    ("001", 6, 2.81, 1e-4, 1.25347, 1.25346),
    ("004", 1, 1.5, 1e-3, 1.2356, 1.2369),
]
"""The slides' walk as printed: W = [0.34, −1.11, 0.78, 0.12, 0.55, 2.81, …] (seed 004: [1.5, 3.3, …])."""
SLIDES_DW = [-2.5, 0.6, 0, 0.2, 0.7, -0.5, 1.1, 1.3, -2.1]
"""The analytic dW seeds 000/003 show; from dimension 4 on it disagrees with seed 001's walk."""

SLIDES_B = [1.1, 3.2, -1.2]
WALK_IMAGES = [[56, 231, 24, 2], [200, 30, 180, 90], [40, 120, 60, 210]]
"""Three 4-pixel images (cat, car, frog): the cat is seed 003's; the slides never give the others' pixels."""
STEP = 0.5
H_TABLE = [10.0 ** -k for k in range(1, 13)]


def walk_problem(loss: str = "softmax"):
    """``(f(W) -> (L, dW), W)`` on the walk's images, W in the slides' (C, D) layout, pixels scaled to [0, 1]."""
    X = np.asarray(WALK_IMAGES, dtype=np.float64) / 255
    y = np.asarray(SLIDES_LABELS)
    objective = Objective(loss)
    b = np.asarray(SLIDES_B)

    def f(W):
        value = objective({"W": W.T, "b": b}, X, y)
        return value.loss, value.grads["W"].T

    return f, np.asarray(SLIDES_W, dtype=np.float64)


def slide_walk() -> list[dict]:
    """The seeds' walk with their own numbers: slope = (L(W + h) − L(W)) / h."""
    return [{"seeds": seeds, "dim": dim, "w": w, "h": h, "loss": L, "loss_plus_h": Lp, "slope": (Lp - L) / h}
            for seeds, dim, w, h, L, Lp in SLIDE_WALK]


def live_walk(h: float = 1e-4, loss: str = "softmax") -> dict:
    """Forward differences on every dimension of the walk's W, beside the analytic gradient."""
    f, W = walk_problem(loss)
    L, dW = f(W)
    rows = []
    for k in range(W.size):
        Wh = W.copy()
        Wh.flat[k] += h
        Lh = f(Wh)[0]
        rows.append({"dim": k + 1, "w": float(W.flat[k]), "w_plus_h": float(Wh.flat[k]), "loss_plus_h": Lh,
                     "slope": (Lh - L) / h, "analytic": float(dW.flat[k])})
    W_new = W - STEP * dW
    L_new = f(W_new)[0]
    norm2 = float(np.sum(dW ** 2))
    step = {"lr": STEP, "loss": L_new, "predicted": L - STEP * norm2,
            "slope_along_step": -float(np.sqrt(norm2)), "W": W_new.tolist()}
    k = int(np.argmax(np.abs(dW)))
    errors = []
    for hh in H_TABLE:
        plus, minus = W.copy(), W.copy()
        plus.flat[k] += hh
        minus.flat[k] -= hh
        Lp, Lm = f(plus)[0], f(minus)[0]
        errors.append({"h": hh, "forward": abs((Lp - L) / hh - dW.flat[k]),
                       "centered": abs((Lp - Lm) / (2 * hh) - dW.flat[k])})
    return {"loss_name": loss, "W": W.tolist(), "loss": L, "h": h, "walk": rows, "step": step,
            "error_dim": k + 1, "errors": errors}


def explain_gradient(h: float = 1e-4, loss: str = "softmax"):
    """``(text, data)`` of the slides' walk, the live walk, one step and the error-vs-h table."""
    slide = slide_walk()
    live = live_walk(h, loss)
    lines = [_("The numerical gradient, as on the slides: nudge one dimension of W by h, recompute the loss,\n"
               "{slope}.").format(slope=_("slope") + " = (L(W + h) − L(W)) / h"), "",
             pad(_("seeds"), 8, left=True) + pad(_("dim"), 5) + "        w         h      L(W)  L(W + h)  "
             + _("slope")]
    for r in slide:
        h = general(r["h"], 6)
        lines.append(f"{r['seeds']:<8}{r['dim']:>5}{score(r['w']):>9}{h:>10}{r['loss']:>10}"
                     f"{r['loss_plus_h']:>10}  ({r['loss_plus_h']} − {r['loss']}) / {h} = {num(r['slope'], 1)}")
    lines += [_("(Seeds 000/003 show the analytic dW = {dw}: it agrees\n"
                " with the walk on dimensions 1–3 only; the slides' numbers are an illustration.)").format(
                  dw=f"[{', '.join(num(v, 1) for v in SLIDES_DW)}, …]"), "",
              _live_text(live)]
    timing = time_gradients(loss)
    lines += ["", speed_text(timing)]
    return "\n".join(lines), {"slide": slide, **live, "timing": timing}


def error_cause(worst: float, h: float, loss: float, walk) -> str:
    """The largest slope error, and its cause: truncation (∝ h) or round-off (∝ ε|L|/h)."""
    roundoff = np.finfo(np.float64).eps * max(1.0, abs(loss)) / h
    values = {"worst": fixed(worst, ".1e"), "h": general(h, 3), "roundoff": fixed(roundoff, ".1e"),
              "suggested": "1e−7"}
    if any(r["w_plus_h"] == r["w"] for r in walk):
        return _("largest |slope − analytic| = {worst}: round-off, not truncation. h = {h} is below the spacing "
                 "of float64 numbers near w, so w + h rounds back to w or L(W + h) rounds back to L(W), and the "
                 "slopes come out 0; use h ≈ {suggested} (about √ε).").format(**values)
    if roundoff >= worst / 2:
        return _("largest |slope − analytic| = {worst}: round-off, not truncation. L(W + h) and L(W) agree to "
                 "about ε·|L| and dividing by h = {h} magnifies that to about {roundoff}; a larger h (≈ {suggested}, "
                 "about √ε) is more accurate.").format(**values)
    return _("largest |slope − analytic| = {worst} (truncation: forward differences are off by about h/2 · L'')"
             ).format(**values)


def _live_text(live) -> str:
    h, L = live["h"], live["loss"]
    rows = np.asarray(live["W"])
    bias = ", ".join(score(v) for v in SLIDES_B)
    lines = [_("Live, on a real problem: {loss} loss, seed 003's W ({classes} classes {names} × {pixels} pixels),\n"
               "bias [{bias}], three images {images} / 255.").format(
                 loss=live["loss_name"], classes=len(SLIDES_CLASSES), names=", ".join(slides_classes()),
                 pixels=len(WALK_IMAGES[0]), bias=bias, images=WALK_IMAGES),
             "W = [" + "; ".join(", ".join(num(v, 2) for v in row) for row in rows) + "]",
             f"L(W) = {fixed(L, '.6f')}, h = {general(h, 6)}", "",
             pad(_("dim"), 3) + "      w     W + h      L(W + h)   (L(W+h) − L)/h   " + _("analytic dW")]
    for r in live["walk"]:
        lines.append(f"{r['dim']:>3}{score(r['w']):>7}{fixed(r['w_plus_h'], '>10.4f')}"
                     f"{fixed(r['loss_plus_h'], '>14.8f')}{fixed(r['slope'], '>17.5f')}"
                     f"{fixed(r['analytic'], '>14.5f')}")
    worst = max(abs(r["slope"] - r["analytic"]) for r in live["walk"])
    step = live["step"]
    lines += [error_cause(worst, h, L, live["walk"]), "",
              _("One step {step} with α = {lr}: L = {before} → {after}").format(
                  step="W − α·dW", lr=num(step["lr"]), before=fixed(L, ".4f"), after=fixed(step["loss"], ".4f")),
              "  " + _("slope along the step direction {direction}: {slope}").format(
                  direction="−dW/‖dW‖", slope=f"−‖dW‖ = {fixed(step['slope_along_step'], '.4f')}"),
              "  " + _("(steepest descent: any other unit direction v has a slope {slope})").format(
                  slope="dW·v > −‖dW‖"),
              "  " + _("first-order prediction {formula}").format(
                  formula=f"L − α‖dW‖² = {fixed(step['predicted'], '.4f')}"), "",
              _("Error |numerical − analytic| on dimension {dim} against h:").format(dim=live["error_dim"]),
              "       h" + pad(_("forward"), 12) + pad(_("centered"), 12)]
    for e in live["errors"]:
        lines.append(f"{fixed(e['h'], '>8.0e')}{fixed(e['forward'], '>12.1e')}{fixed(e['centered'], '>12.1e')}")
    lines.append(_("Large h: truncation error (∝ h forward, ∝ h² centered); small h: round-off (∝ ε/h)."))
    return "\n".join(lines)
