"""The one table of defaults: every default value of a fit, by the context that fits.

Each entry is ``TABLE[context][name]``; :func:`value` reads one. Every command, estimator and
module reads its defaults here (none writes a literal default of its own):

- ``train``: the command's base layer (``settings.Settings`` resolves it further by data kind,
  loss and features, see :mod:`linclass.settings`);
- ``estimator``: scikit-learn's side (``alpha`` is λ; their ``__init__`` signature shows these);
- ``probe``: linear probes on embeddings;
- ``optimizer``: each gradient optimizer's own learning rate (``optim.get_optimizer(name)``; Adam's
  is smaller, as in its paper);
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
                  "lbfgs_tol_hinge": 1e-3, "gradient_max_iter": 100, "gradient_tol": 1e-3},
    "probe": {"reg_strength": 1e-4, "batch_size": 256, "epochs": 10, "lbfgs_tol": 1e-4, "lbfgs_max_iter": 1000},
    "optimizer": {"lr": 1e-2, "adam_lr": 1e-3},
    "tune": {"lr_grid": (1e-4, 1e-3, 1e-2, 1e-1), "reg_strength_grid": (1e-4, 1e-3, 1e-2, 1e-1)},
    "gradcheck": {"reg_strength": 0.1},
    "demo": {"reg_strength": 0.1, "step_size": 0.1},
}

REASONS = {
    ("train", "lbfgs_tol"): "relative ‖∇L‖∞ ≤ 1e-6·‖∇L(0)‖∞: within 1e-6 (relative) of LogisticRegression(tol=1e-10)",
    ("estimator", "lbfgs_tol"): "as train: the estimators reach scikit-learn's exact optimum",
    ("probe", "lbfgs_tol"): "a probe is judged by its accuracy; 1e-4 ends within 1e-6 of the optimum's objective",
    ("estimator", "lbfgs_tol_hinge"): "the squared hinge's curvature jumps at the margins, so L-BFGS's fast final "
                                      "phase comes late; 1e-3 converges on standardized digits in ~45 iterations",
    ("train", "lbfgs_max_iter"): "a budget when --iterations is not given (bag-of-words features set 300): the "
                                 "tolerance ends a run first; one that ends on the budget reports its gradient norm",
    ("estimator", "lbfgs_max_iter"): "LogisticRegression's 100: the estimators stop where scikit-learn's would",
    ("probe", "lbfgs_max_iter"): "a budget, not a stopping rule: the tolerance ends a probe (23 iterations on the "
                                 "benchmark's embeddings), 1000 only bounds a run that cannot reach it",
}


def value(context: str, name: str):
    """The default of ``name`` in ``context`` (a :class:`ParameterError` naming the known ones otherwise)."""
    try:
        return TABLE[context][name]
    except KeyError:
        known = ", ".join(f"{c}.{n}" for c, row in TABLE.items() for n in row)
        raise ParameterError(f"no default {context}.{name}; the table has {known}.") from None
