"""Which λ a probe fits: one λ, a fixed path (``--reg-path LO:HI:K``) or a search (``--reg-search LO:HI``).

The search follows CLIP's parametric binary search on validation (Radford et al. 2021, appendix
A.3): a coarse log grid over ``[LO, HI]`` (one λ per decade, strong to weak), then refinement
around the best λ on log λ until its nearest tried neighbours lie within ``resolution`` decades
(default a tenth of a decade). Where CLIP halves the interval on both sides (two fits a round),
the refinement is a golden-section search (one fit a round, each narrowing the bracket by 0.618):
the same resolution in about 6 fits instead of 8 from a one-decade grid. Each fit is warm-started
from the nearest tried λ (:func:`nearest`). Every schedule is a function ``next_lambdas(scores)``
of what has been scored so far (λ → the validation metric) returning the λ to fit next, strong
to weak; an empty list ends the run.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from ..errors import ParameterError

MAX_PATH = 200
"""Most λ one ``--reg-path`` fits (each is a full L-BFGS run and a file while the run lasts)."""
RESOLUTION = 0.1
"""Default resolution of ``--reg-search``, in decades of λ."""


def parse_reg_path(text: str) -> list[float]:
    """``"LO:HI:K"`` → K log-spaced λ from HI (strong) down to LO (weak); e.g. ``1e-6:1e-2:8``.

    ``0 < LO <= HI <=`` :data:`~linclass._checks.REG_STRENGTH_MAX` (as ``--reg-strength``), ``1 <= K <=``
    :data:`MAX_PATH`."""
    hint = "--reg-path LO:HI:K (e.g. 1e-6:1e-2:8)"
    try:
        lo, hi, k = text.split(":")
        lo, hi, k = float(lo), float(hi), int(k)
    except ValueError:
        raise ParameterError(f"--reg-path must be LO:HI:K (two λ and a count), e.g. 1e-6:1e-2:8; got {text!r}.") \
            from None
    lo, hi = _range(lo, hi, hint)
    k = _checks.integer(k, "--reg-path LO:HI:K: K", maximum=MAX_PATH,
                        hint=" (the number of λ fitted, one L-BFGS run each), e.g. 1e-6:1e-2:8")
    return [float(v) for v in np.geomspace(hi, lo, k)] if k > 1 else [hi]


def parse_reg_search(text: str) -> tuple[float, float, float]:
    """``"LO:HI"`` or ``"LO:HI:RES"`` → ``(LO, HI, resolution in decades)``; e.g. ``1e-6:1e-2``."""
    hint = "--reg-search LO:HI[:RES] (e.g. 1e-6:1e-2, or 1e-6:1e-2:0.05 for a twentieth of a decade)"
    try:
        parts = [float(v) for v in text.split(":")]
        if len(parts) not in (2, 3):
            raise ValueError
    except ValueError:
        raise ParameterError(f"--reg-search must be LO:HI or LO:HI:RES, e.g. 1e-6:1e-2; got {text!r}.") from None
    lo, hi = _range(parts[0], parts[1], hint)
    resolution = _checks.number(parts[2] if len(parts) == 3 else RESOLUTION, f"{hint}: RES", low=1e-3, high=10)
    return lo, hi, resolution


def _range(lo: float, hi: float, hint: str) -> tuple[float, float]:
    lo, hi = _checks.log_range((lo, hi), hint)
    _checks.number(hi, f"{hint}: HI", high=_checks.REG_STRENGTH_MAX)
    return lo, hi


def fixed(lams: list[float]):
    """The schedule of a fixed list of λ: all of them, once."""
    def next_lambdas(scores: dict) -> list[float]:
        return [] if scores else list(lams)
    return next_lambdas


def coarse_grid(lo: float, hi: float) -> list[float]:
    """One λ per decade (or closer) from ``hi`` down to ``lo``, both included."""
    decades = math.log10(hi / lo)
    count = max(1, math.ceil(decades - 1e-9)) + 1 if decades > 0 else 1
    return [float(v) for v in np.geomspace(hi, lo, count)] if count > 1 else [hi]


def best_lambda(scores: dict) -> float:
    """The λ with the highest score; ties go to the strongest λ (the simplest model)."""
    return max(scores, key=lambda lam: (scores[lam], lam))


GOLDEN = (3 - math.sqrt(5)) / 2
"""0.382…: where golden-section search probes a bracket's larger side, measured from the best point."""


def search(lo: float, hi: float, resolution: float = RESOLUTION):
    """The schedule of the search: :func:`coarse_grid`, then golden-section refinement on log λ.

    Each round fits one λ: in the larger of the two gaps between the best λ so far and its nearest
    tried neighbours (the stronger side on a tie), :data:`GOLDEN` of the gap away from the best; a
    better λ becomes the best, a worse one narrows that side. It ends when both gaps are at most
    ``resolution`` decades (an end of the range counts as a closed side)."""
    def next_lambdas(scores: dict) -> list[float]:
        if not scores:
            return coarse_grid(lo, hi)
        logs = sorted(math.log10(lam) for lam in scores)
        i = logs.index(math.log10(best_lambda(scores)))
        stronger = logs[i + 1] - logs[i] if i + 1 < len(logs) else 0.0
        weaker = logs[i] - logs[i - 1] if i > 0 else 0.0
        if max(stronger, weaker) <= resolution:
            return []
        step = GOLDEN * stronger if stronger >= weaker else -GOLDEN * weaker
        return [10 ** (logs[i] + step)]
    return next_lambdas


def nearest(lam: float, tried) -> float | None:
    """The tried λ closest to ``lam`` on log λ (the warm start of a search's fit); None if none was tried."""
    return min(tried, key=lambda t: (abs(math.log10(t / lam)), -t)) if tried else None


def at_edge(scores: dict, lo: float, hi: float) -> str | None:
    """``"strongest"`` or ``"weakest"`` when the best λ is the top or bottom of the range tried, else None."""
    if len(scores) < 2:
        return None
    best = best_lambda(scores)
    return "strongest" if best >= hi else "weakest" if best <= lo else None
