"""The minibatch training loop.

Conventions: N examples, D features, C classes; ``X`` (N, D) float32 or float64,
``y`` (N,) int64; parameters ``{"W": (D, C), "b": (C,)}``.

Each epoch visits the data in minibatches of ``batch_size`` (sampled without
replacement from a fresh permutation, or with replacement; ``batch_size >= N``
is full-batch gradient descent), takes one optimizer step per batch, records the
loss of every step, and the train/validation accuracy after every epoch.
Everything random comes from one ``numpy.random.Generator`` seeded by ``seed``,
whose state is saved in checkpoints: a run resumed from a checkpoint ends with
the same weights, bit for bit, as an uninterrupted run.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import persist
from .errors import DivergenceError, InputError, ParameterError
from .optim import apply_updates


@dataclass(frozen=True)
class TrainConfig:
    """Settings of the loop (the objective and optimizer are passed separately)."""

    batch_size: int = 256
    epochs: int = 10
    iterations: int | None = None
    """A budget in steps instead of epochs (the last epoch may be partial)."""
    replacement: bool = False
    seed: int = 0
    early_stopping: bool = False
    patience: int = 5
    """Epochs without a better validation accuracy before stopping."""
    explode_factor: float = 1e4
    """A loss above ``explode_factor · max(1, first loss)`` counts as divergence."""
    checkpoint: str | None = None
    """Path of a checkpoint written atomically after every epoch."""
    progress: bool | None = None
    """Show a progress bar; None = only when stderr is a terminal."""

    def __post_init__(self):
        if self.batch_size < 1:
            raise ParameterError(f"batch_size must be >= 1, got {self.batch_size}.")
        if self.epochs < 1 and not self.iterations:
            raise ParameterError(f"epochs must be >= 1, got {self.epochs}.")
        if self.iterations is not None and self.iterations < 1:
            raise ParameterError(f"iterations must be >= 1, got {self.iterations}.")


@dataclass
class History:
    """Loss per step; accuracies per epoch.

    ``train_accuracy`` is the running accuracy of the epoch: each training example
    counted with the weights of the step that visited it, from the scores the step
    computed anyway (no second pass over the training set). ``val_accuracy`` is
    exact, with the weights at the end of the epoch.
    """

    loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class TrainResult:
    params: dict
    history: History
    epochs: int
    iterations: int
    best_epoch: int | None = None
    stopped_early: bool = False
    opt_state: object = None
    """The optimizer's state after the last step: pass it back as ``train(..., opt_state=)`` to continue."""


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Minibatch steps in one pass over ``n`` examples (``batch_size >= n``: one full-batch step)."""
    return 1 if batch_size >= n else math.ceil(n / batch_size)


def accuracy(params, X, y, chunk: int = 16384) -> float:
    """Fraction of rows of ``X`` whose highest score is the label."""
    correct = 0
    for start in range(0, X.shape[0], chunk):
        scores = X[start:start + chunk] @ params["W"] + params["b"]
        correct += int(np.count_nonzero(scores.argmax(axis=1) == y[start:start + chunk]))
    return correct / X.shape[0]


class _Progress:
    """A one-line progress bar on stderr (loss, accuracy, speed); silent when not a terminal."""

    def __init__(self, total: int, enabled: bool | None):
        self.total, self.start = total, time.perf_counter()
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.last = 0.0

    def update(self, step: int, loss: float, val_acc: float | None, force: bool = False):
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < 0.1):
            return
        self.last = now
        done = step / self.total
        bar = "█" * int(24 * done) + "·" * (24 - int(24 * done))
        speed = step / max(now - self.start, 1e-9)
        acc = "" if val_acc is None else f"  val acc {val_acc:.3f}"
        sys.stderr.write(f"\r{bar} {step}/{self.total}  loss {loss:.4f}{acc}  {speed:.0f} it/s ")
        sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _state_to_arrays(state, prefix="opt") -> tuple[dict, dict]:
    """An optimizer state (NamedTuple of ints/floats and dicts of arrays) as (arrays, JSON)."""
    arrays, scalars = {}, {}
    for name, value in state._asdict().items():
        if isinstance(value, dict):
            arrays.update({f"{prefix}/{name}/{k}": v for k, v in value.items()})
        else:
            scalars[name] = value
    return arrays, scalars


def _state_from_arrays(template, arrays: dict, scalars: dict, prefix="opt"):
    fields = {}
    for name, value in template._asdict().items():
        if isinstance(value, dict):
            fields[name] = {k: arrays[f"{prefix}/{name}/{k}"] for k in value}
        else:
            fields[name] = type(value)(scalars[name])
    return type(template)(**fields)


def save_checkpoint(path, *, params, opt_state, rng, history: History, epoch: int, iteration: int,
                    best: tuple | None, config: TrainConfig) -> None:
    arrays = {f"params/{k}": v for k, v in params.items()}
    opt_arrays, opt_scalars = _state_to_arrays(opt_state)
    arrays.update(opt_arrays)
    arrays["history/loss"] = np.asarray(history.loss, dtype=np.float64)
    if best is not None:
        arrays.update({f"best/{k}": v for k, v in best[1].items()})
    meta = {"epoch": epoch, "iteration": iteration, "opt_scalars": opt_scalars,
            "rng": rng.bit_generator.state, "train_accuracy": history.train_accuracy,
            "val_accuracy": history.val_accuracy, "seconds": history.seconds,
            "best": None if best is None else {"accuracy": best[0], "epoch": best[2]},
            "config": {k: v for k, v in asdict(config).items() if k not in ("checkpoint", "progress")}}
    persist.save_arrays(path, arrays, meta, kind="checkpoint")


def train(objective, optimizer, X, y, *, params, opt_state=None, X_val=None, y_val=None,
          config: TrainConfig = TrainConfig(), resume: bool = False) -> TrainResult:
    """Minimize ``objective`` over ``params`` with ``optimizer`` on minibatches of ``(X, y)``.

    ``opt_state`` (default ``optimizer.init(params)``) is the optimizer's state to
    start from, e.g. ``TrainResult.opt_state`` of a previous call; the result
    carries the final state.

    Raises :class:`DivergenceError` at the first non-finite or exploding loss; the
    error carries ``params``, the last finite weights (never NaN), and ``history``.
    With ``resume=True`` and an existing ``config.checkpoint`` the run continues
    from it (its settings must match).
    """
    N = X.shape[0]
    if N == 0 or y.shape != (N,):
        raise InputError(f"X has {N} rows and y has shape {y.shape}; pass one label per row (and at least one).")
    batch = min(config.batch_size, N)
    steps = steps_per_epoch(N, batch)
    total = config.iterations or config.epochs * steps
    rng = np.random.default_rng(config.seed)
    params = {k: np.array(v) for k, v in params.items()}
    if opt_state is None:
        opt_state = optimizer.init(params)
    history = History()
    epoch = iteration = 0
    best = None  # (val accuracy, params, epoch)
    since_best = 0
    if resume and config.checkpoint and Path(config.checkpoint).exists():
        arrays, meta = persist.load_arrays(config.checkpoint, kind="checkpoint")
        mine = {k: v for k, v in asdict(config).items() if k not in ("checkpoint", "progress")}
        if meta["config"] != mine:
            raise ParameterError(f"checkpoint {config.checkpoint} was written with other settings "
                                 f"({meta['config']}); resume with the same settings or start afresh.")
        params = persist.split_prefix(arrays, "params")
        opt_state = _state_from_arrays(opt_state, arrays, meta["opt_scalars"])
        rng.bit_generator.state = meta["rng"]
        history = History(list(arrays["history/loss"]), meta["train_accuracy"], meta["val_accuracy"],
                          meta["seconds"])
        epoch, iteration = meta["epoch"], meta["iteration"]
        if meta["best"] is not None:
            best = (meta["best"]["accuracy"], persist.split_prefix(arrays, "best"), meta["best"]["epoch"])
            since_best = epoch - best[2]

    limit = None
    progress = _Progress(total, config.progress)
    start = time.perf_counter() - history.seconds
    stopped_early = False
    try:
        while iteration < total and not stopped_early:
            order = rng.integers(0, N, N) if config.replacement else rng.permutation(N)
            correct = seen = 0
            for s in range(steps):
                if iteration >= total:
                    break
                idx = order[s * batch:(s + 1) * batch]
                y_batch = y if batch == N else y[idx]
                value = objective(params, X if batch == N else X[idx], y_batch)
                if limit is None:
                    limit = config.explode_factor * max(1.0, abs(value.loss))
                if not math.isfinite(value.loss) or value.loss > limit:
                    raise DivergenceError(
                        f"training diverged at step {iteration + 1} (epoch {epoch + 1}): the loss became "
                        f"{value.loss:.4g}. {_lr_advice(optimizer, iteration)}")
                updates, opt_state = optimizer.update(value.grads, opt_state, params)
                new = apply_updates(params, updates)
                if not all(np.all(np.isfinite(v)) for v in new.values()):
                    raise DivergenceError(
                        f"training diverged at step {iteration + 1} (epoch {epoch + 1}): the weights became "
                        f"NaN or inf. {_lr_advice(optimizer, iteration)}")
                params = new
                correct += int(np.count_nonzero(value.scores.argmax(axis=1) == y_batch))
                seen += len(y_batch)
                history.loss.append(value.loss)
                iteration += 1
                progress.update(iteration, value.loss, history.val_accuracy[-1] if history.val_accuracy else None)
            epoch += 1
            history.train_accuracy.append(correct / seen)
            if X_val is not None:
                history.val_accuracy.append(accuracy(params, X_val, y_val))
                if best is None or history.val_accuracy[-1] > best[0]:
                    best, since_best = (history.val_accuracy[-1], params, epoch), 0
                else:
                    since_best += 1
                stopped_early = config.early_stopping and since_best >= config.patience
            history.seconds = time.perf_counter() - start
            if config.checkpoint:
                save_checkpoint(config.checkpoint, params=params, opt_state=opt_state, rng=rng, history=history,
                                epoch=epoch, iteration=iteration, best=best, config=config)
    except DivergenceError as err:
        err.params, err.history = params, history
        raise
    finally:
        progress.close()
    history.seconds = time.perf_counter() - start
    best_epoch = None
    if config.early_stopping and best is not None:
        params, best_epoch = best[1], best[2]  # restore the best weights
    elif best is not None:
        best_epoch = best[2]
    return TrainResult(params, history, epoch, iteration, best_epoch, stopped_early, opt_state)


def _lr_advice(optimizer, step: int) -> str:
    """What to do after a divergence: the learning rate used at ``step``, and one 10× smaller to retry with."""
    lr = getattr(optimizer, "hyperparams", {}).get("learning_rate")
    if callable(lr):
        lr = lr(step)
    if lr is None:
        return "The learning rate is too large: retry with one 10× smaller, or a schedule with warm-up."
    return (f"The learning rate {float(lr):g} is too large: retry with one 10× smaller (--lr {float(lr) / 10:g}), "
            "or a schedule with warm-up.")
