""""The numerical gradient is slow", timed (the last part of ``linclass explain --gradient``).

At CIFAR-10's size, ``W`` is 3,073 × 10 (the bias folded in): the centered
numerical gradient needs two loss evaluations per entry, 61,460 in all, where
the analytic gradient needs one forward and one backward pass. A sample of the
entries is timed in a few chunks (each loss evaluation costs the same), the
whole is extrapolated from the fastest chunk, and the ratio to the fastest of a
few analytic passes is printed.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..gradcheck import numerical_gradient
from ..i18n import _
from ..objective import Objective
from .numbers import general

PIXELS, CLASSES = 3072, 10
IMAGES = 100
SAMPLE = 100
"""Entries of W whose numerical slopes are timed; the rest are extrapolated."""
REPEATS = 25
SEED = 0


def time_gradients(loss: str = "softmax", seed: int = SEED) -> dict:
    """Seconds for one numerical gradient of a 3,073 × 10 W (extrapolated) and for one analytic pass."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (IMAGES, PIXELS)).astype(np.float64) - 128
    y = rng.integers(0, CLASSES, IMAGES)
    params = {"W": 1e-4 * rng.standard_normal((PIXELS, CLASSES)), "b": np.zeros(CLASSES)}
    objective = Objective(loss)
    entries = (PIXELS + 1) * CLASSES
    sample = rng.choice(PIXELS * CLASSES, SAMPLE, replace=False)
    per_entry = math.inf  # the fastest of REPEATS chunks: a busy machine only ever slows a chunk down
    for chunk in np.array_split(sample, REPEATS):
        start = time.perf_counter()
        numerical_gradient(lambda: objective.data_loss(X @ params["W"] + params["b"], y)[0], params["W"],
                           indices=chunk)
        per_entry = min(per_entry, (time.perf_counter() - start) / len(chunk))
    analytic = []
    for _repeat in range(REPEATS):
        start = time.perf_counter()
        objective(params, X, y)
        analytic.append(time.perf_counter() - start)
    numerical = per_entry * entries
    best = min(analytic)
    return {"entries": entries, "evaluations": 2 * entries, "images": IMAGES, "sampled_entries": SAMPLE,
            "numerical_s": numerical, "analytic_s": best, "ratio": numerical / best}


def speed_text(timing: dict) -> str:
    """The timing as the lecture would say it: how long, how much slower."""
    return _("\"The numerical gradient is slow\", timed at CIFAR-10's size: W is {shape} = {entries} entries "
             "(bias folded in),\nso centered differences need {evaluations} loss evaluations on a batch of {images} "
             "images.\n  numerical gradient: {numerical} s (timed on {sampled} entries, the rest alike)\n"
             "  analytic gradient:  {analytic} ms (one forward and one backward pass)\n"
             "  ratio: the numerical gradient is {ratio} times slower.\n"
             "Use the analytic gradient, and the numerical one only to check it (gradcheck).").format(
        shape=f"{PIXELS + 1:,} × {CLASSES}", entries=f"{timing['entries']:,}",
        evaluations=f"{timing['evaluations']:,}", images=timing["images"],
        numerical=general(timing["numerical_s"], 3), sampled=timing["sampled_entries"],
        analytic=general(timing["analytic_s"] * 1e3, 3), ratio=f"{timing['ratio']:,.0f}")
