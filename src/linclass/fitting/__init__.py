"""The one fitting core: a :class:`Problem`, a solver, and :func:`solve`, which returns one :class:`Result`.

``linclass train`` (:func:`linclass.pipeline.fit_classifier`), the estimators and ``probe`` build a
problem and a solver and call :func:`solve`; nothing else runs L-BFGS or the minibatch loop.

- :mod:`~linclass.fitting.problem`: :class:`Problem` (objective, rows, labels, validation rows,
  standardizer) and its evaluators (NumPy, torch, Dask; :class:`Backend`);
- :mod:`~linclass.fitting.solvers`: :class:`LBFGS`, :class:`Minibatch`, :class:`RandomSearch`,
  :class:`LocalSearch`, their defaults read from :mod:`linclass.defaults`;
- :mod:`~linclass.fitting.solve`: :func:`solve`, the certificate and warnings of every fit;
- :mod:`~linclass.fitting.loop`: the minibatch loop (divergence, early stopping, checkpoints, resume, progress);
- :mod:`~linclass.fitting.result`: :class:`Result`, :class:`History`.
"""

from .problem import Backend, Problem, class_weights
from .result import History, Result
from .solve import solve
from .solvers import LBFGS, LocalSearch, Minibatch, RandomSearch

__all__ = ["LBFGS", "Backend", "History", "LocalSearch", "Minibatch", "Problem", "RandomSearch", "Result",
           "class_weights", "solve"]
