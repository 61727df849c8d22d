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
from ..objective import Objective

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
    return (f"\"The numerical gradient is slow\", timed at CIFAR-10's size: W is 3,073 × 10 = {timing['entries']:,} "
            f"entries (bias folded in),\nso centered differences need {timing['evaluations']:,} loss evaluations "
            f"on a batch of {timing['images']} images.\n"
            f"  numerical gradient: {timing['numerical_s']:.3g} s (timed on {timing['sampled_entries']} entries, "
            f"the rest alike)\n  analytic gradient:  {timing['analytic_s'] * 1e3:.3g} ms (one forward and one "
            f"backward pass)\n  ratio: the numerical gradient is {timing['ratio']:,.0f} times slower.\nUse the "
            "analytic gradient, and the numerical one only to check it (gradcheck).")
