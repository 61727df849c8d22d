"""The one table of defaults: every default value of a fit, by the context that fits.

Each entry is ``TABLE[context][name]``; :func:`value` reads one. Every command, estimator and
module reads its defaults here (none writes a literal default of its own):

- ``train``: the command's base layer (``settings.Settings`` resolves it further by data kind,
  loss and features, see :mod:`linclass.settings`);
- ``estimator``: scikit-learn's side (``alpha`` is λ; their ``__init__`` signature shows these);
- ``probe``: linear probes on embeddings;
- ``tune``: the search's grids;
- ``gradcheck``, ``demo``: the teaching tools.

L-BFGS's tolerance and budget are decided here, each with its reason (see :data:`REASONS`).
"""

from __future__ import annotations

from .errors import ParameterError

__all__ = ["REASONS", "TABLE", "value"]

TABLE = {
    "train": {"reg_strength": 1e-3, "lr": 1e-2, "batch_size": 256, "epochs": 10, "lbfgs_tol": 1e-6,
              "lbfgs_max_iter": 500},
    "estimator": {"reg_strength": 1e-3, "lr": 1e-2, "batch_size": 64, "lbfgs_tol": 1e-6, "lbfgs_max_iter": 100,
                  "gradient_max_iter": 100, "gradient_tol": 1e-3},
    "probe": {"reg_strength": 1e-4, "batch_size": 256, "epochs": 10, "lbfgs_tol": 1e-4, "lbfgs_max_iter": 1000},
    "tune": {"lr_grid": (1e-4, 1e-3, 1e-2, 1e-1), "reg_strength_grid": (1e-4, 1e-3, 1e-2, 1e-1)},
    "gradcheck": {"reg_strength": 0.1},
    "demo": {"reg_strength": 0.1, "step_size": 0.1},
}

REASONS = {
    ("train", "lbfgs_tol"): "relative ‖∇L‖∞ ≤ 1e-6·‖∇L(0)‖∞: within 1e-6 (relative) of LogisticRegression(tol=1e-10)",
    ("estimator", "lbfgs_tol"): "as train: the estimators reach scikit-learn's exact optimum",
    ("probe", "lbfgs_tol"): "a probe is judged by its accuracy; 1e-4 ends within 1e-6 of the optimum's objective",
}


def value(context: str, name: str):
    """The default of ``name`` in ``context`` (a :class:`ParameterError` naming the known ones otherwise)."""
    try:
        return TABLE[context][name]
    except KeyError:
        known = ", ".join(f"{c}.{n}" for c, row in TABLE.items() for n in row)
        raise ParameterError(f"no default {context}.{name}; the table has {known}.") from None
