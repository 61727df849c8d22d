"""Entropy, cross-entropy and KL divergence (``linclass explain --entropy``).

Seed 004's weather example: the true distribution ``Q = [0.5, 0.3, 0.2]`` and a
forecast ``P = [0.4, 0.3, 0.3]``, in base-10 logs ``H(Q) = 0.447``,
``H(Q, P) = 0.460``, ``D_KL(Q‖P) = H(Q, P) − H(Q) = 0.013``. Softmax loss is the
cross-entropy with a one-hot ``Q``: ``H(Q) = 0`` and ``L_i = H(Q, P) = −log p_{y_i}``.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import probability_vector
from ..errors import InputError
from ..i18n import _
from .explain import log_base
from .numbers import fixed, num

WEATHER_TRUE = [0.5, 0.3, 0.2]
WEATHER_FORECAST = [0.4, 0.3, 0.3]


def _3(x: float) -> str:
    return fixed(x, ".3f")


def entropies(Q, P, base: str = "e") -> dict:
    """``{entropy, cross_entropy, kl, log_base}`` of the true ``Q`` and predicted ``P`` (0 log 0 = 0)."""
    Q, P = probability_vector(Q, "--true"), probability_vector(P, "--predicted")
    if Q.shape != P.shape:
        raise InputError(_("{true} has {n_true} probabilities but {predicted} has {n_predicted}; give one per "
                           "outcome.").format(true="--true", n_true=Q.size, predicted="--predicted",
                                              n_predicted=P.size))
    if ((P == 0) & (Q > 0)).any():
        raise InputError(_("{predicted} gives 0 to an outcome {true} gives a positive probability: {cross} and KL "
                           "are infinite; give every such outcome a probability > 0.").format(
            predicted="--predicted", true="--true", cross="H(Q, P)"))
    b = log_base(base)[0]
    seen = Q > 0
    H = float(-np.sum(Q[seen] * np.log(Q[seen]))) / math.log(b)
    cross = float(-np.sum(Q[seen] * np.log(P[seen]))) / math.log(b)
    kl = float(np.sum(Q[seen] * np.log(Q[seen] / P[seen]))) / math.log(b)
    return {"entropy": H, "cross_entropy": cross, "kl": kl, "log_base": str(base),
            "true": Q.tolist(), "predicted": P.tolist()}


def explain_entropy(Q=None, P=None, base: str = "e"):
    """``(text, data)``: H(Q), H(Q, P) and KL(Q‖P) term by term; the weather example by default."""
    Q = WEATHER_TRUE if Q is None else Q
    P = WEATHER_FORECAST if P is None else P
    data = entropies(Q, P, base)
    log, words = log_base(base)[1:]
    Q, P = data["true"], data["predicted"]

    def terms(a, b):
        return " + ".join(f"{num(q, 3)}·{log} {num(p, 3)}" for q, p in zip(a, b) if q > 0)

    lines = [_("Entropy, cross-entropy and KL divergence ({words})").format(words=_(words)), "",
             _("true Q = {q}   predicted P = {p}").format(q=f"[{', '.join(num(v, 3) for v in Q)}]",
                                                         p=f"[{', '.join(num(v, 3) for v in P)}]"), "",
             f"H(Q)     = −Σ q log q = −({terms(Q, Q)}) = {_3(data['entropy'])}",
             f"H(Q, P)  = −Σ q log p = −({terms(Q, P)}) = {_3(data['cross_entropy'])}",
             f"KL(Q‖P)  = Σ q log(q/p) = H(Q, P) − H(Q) = {_3(data['cross_entropy'])} − "
             f"{_3(data['entropy'])} = {_3(data['kl'])}", "",
             _("KL ≥ 0, and 0 only when P = Q: the forecast's extra cost in {unit}.").format(
                 unit=_("bits") if log == "log2" else _("nats") if log == "ln" else _("log10 units")),
             _("Softmax loss is the cross-entropy with a one-hot Q (the correct class has q = 1): H(Q) = 0, so\n"
               "{formula}; e.g. the slides' cat image, p_cat = 0.13: {example}.").format(
                 formula=f"L_i = H(Q, P) = KL(Q‖P) = −{log} p_{{y_i}}",
                 example=f"−{log}(0.13) = {num(-math.log(0.13, log_base(base)[0]), 2)}")]
    return "\n".join(lines), data
