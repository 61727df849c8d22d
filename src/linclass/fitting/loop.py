"""The minibatch training loop.

Conventions: N examples, D features, C classes; ``X`` (N, D) float32 or float64,
``y`` (N,) int64; parameters ``{"W": (D, C), "b": (C,)}``.

Each epoch visits the data in minibatches of ``batch_size`` from a batch source
(:mod:`linclass.rows.batches`: a fresh permutation of the rows in memory, or draws with
replacement; shuffled blocks streamed from a memory-mapped file; ``batch_size >= N``
is full-batch gradient descent), takes one optimizer step per batch, records the
loss of every step, and the train/validation accuracy after every epoch.
Everything random comes from one ``numpy.random.Generator`` seeded by ``seed``,
whose state is saved in checkpoints: a run resumed from a checkpoint ends with
the same weights, bit for bit, as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import defaults, persist
from .._checks import choice
from ..errors import DivergenceError, InputError, ParameterError
from ..objective import Objective
from ..optim import apply_updates
from ..optim.chunked import BatchSteps
from ..rows.batches import SHUFFLES, batch_source
from ..rows.source import accuracy as rows_accuracy
from .result import History

__all__ = ["LoopConfig", "LoopResult", "LoopState", "check_divergence", "end_epoch", "outcome", "record_differences",
           "restore", "run_epochs", "save_checkpoint", "step", "step_objective"]


@dataclass(frozen=True)
class LoopConfig:
    """Settings of the loop (the objective and optimizer are passed separately)."""

    batch_size: int = defaults.value("train", "batch_size")
    epochs: int = defaults.value("train", "epochs")
    iterations: int | None = None
    """A budget in steps instead of epochs (the last epoch may be partial)."""
    replacement: bool = False
    seed: int = 0
    early_stopping: bool = False
    patience: int = 5
    """Epochs without a better validation accuracy before stopping."""
    keep: str | None = None
    """Which weights the run returns: ``"best"`` (the epoch of the highest validation accuracy) or
    ``"last"``; None: best with early stopping, else last. Without validation data: last."""
    explode_factor: float = 1e4
    """A loss above ``explode_factor · max(1, first loss)`` counts as divergence."""
    checkpoint: str | None = None
    """Path of a checkpoint written atomically after every epoch."""
    progress: bool | None = None
    """Show a progress bar; None = only when stderr is a terminal."""
    shuffle: str | None = None
    """The order of an epoch (:data:`linclass.rows.batches.SHUFFLES`): ``"rows"``, a permutation of the rows (the
    exact per-row order), or ``"blocks"``, shuffled blocks streamed through a buffer (:class:`~linclass.rows.batches.
    Blocks`); None: blocks when X is a memory map or a row source (:func:`linclass.rows.source.streamed`), else rows."""
    block_rows: int | None = None
    """Blocks: rows per block (None: about 1 MiB of X)."""
    buffer_blocks: int | None = None
    """Blocks: blocks shuffled together in one buffer (None: about 64 MiB of X)."""

    def __post_init__(self):
        if self.batch_size < 1:
            raise ParameterError(f"batch_size must be >= 1, got {self.batch_size}.")
        if self.epochs < 1 and not self.iterations:
            raise ParameterError(f"epochs must be >= 1, got {self.epochs}.")
        if self.iterations is not None and self.iterations < 1:
            raise ParameterError(f"iterations must be >= 1, got {self.iterations}.")
        if self.shuffle is not None:
            choice(self.shuffle, "shuffle", SHUFFLES)
        if self.keep not in (None, "best", "last"):
            raise ParameterError(f"keep must be 'best' or 'last', got {self.keep!r}.")
        for name in ("block_rows", "buffer_blocks"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ParameterError(f"{name} must be >= 1 (or None for the default), got {getattr(self, name)}.")


@dataclass
class LoopResult:
    params: dict
    history: History
    epochs: int
    iterations: int
    best_epoch: int | None = None
    stopped_early: bool = False
    opt_state: object = None
    """The optimizer's state after the last step: pass it back as ``run_epochs(..., opt_state=)`` to continue."""
    kept: str = "last"
    """Which weights ``params`` are: ``"best"`` (those of ``best_epoch``) or ``"last"`` (after the last step)."""


def _duration(seconds: float) -> str:
    """``75`` → ``"1:15"``, ``3725`` → ``"1:02:05"``."""
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _Progress:
    """A one-line progress bar on stderr (loss, accuracy, speed, time left); silent when not a terminal."""

    def __init__(self, total: int, enabled: bool | None, first: int = 0):
        # first: steps done before this bar started (a resumed run), not counted in the speed
        self.total, self.start, self.first = total, time.perf_counter(), first
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.last = 0.0

    def update(self, step: int, loss: float, val_acc: float | None, force: bool = False):
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < 0.1):
            return
        self.last = now
        done = step / self.total
        bar = "█" * int(24 * done) + "·" * (24 - int(24 * done))
        speed = (step - self.first) / max(now - self.start, 1e-9)
        eta = _duration((self.total - step) / speed) if speed > 0 else "?"
        acc = "" if val_acc is None else f"  val acc {val_acc:.3f}"
        sys.stderr.write(f"\r{bar} {step}/{self.total}  loss {loss:.4f}{acc}  {speed:.0f} it/s  ETA {eta} ")
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
    try:
        for name, value in template._asdict().items():
            if isinstance(value, dict):
                fields[name] = {k: arrays[f"{prefix}/{name}/{k}"] for k in value}
            else:
                fields[name] = type(value)(scalars[name])
    except KeyError as err:
        raise ParameterError(f"the checkpoint's optimizer state has no {err.args[0]!r}: it was written with "
                             "another optimizer; resume with the same optimizer, or start afresh.") from None
    return type(template)(**fields)


def _config_record(config: LoopConfig) -> dict:
    """The settings of ``config`` a checkpoint records (not where it is written, nor the progress bar)."""
    return {k: v for k, v in asdict(config).items() if k not in ("checkpoint", "progress")}


def record_differences(saved: dict, now: dict) -> list[str]:
    """``"name saved → now"`` for each leaf that differs between two nested JSON objects (each name once)."""
    out = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += record_differences(a, b)
        elif a != b:
            out.append(f"{key} {a} → {b}")
    return list(dict.fromkeys(out))


def save_checkpoint(path, *, params, opt_state, rng, history: History, epoch: int, iteration: int,
                    best: tuple | None, config: LoopConfig, run: dict | None = None) -> None:
    """Everything needed to continue the run bit for bit, and what identifies it (``config`` and ``run``)."""
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
            "config": _config_record(config), "run": run or {}}
    persist.save_arrays(path, arrays, meta, kind="checkpoint")


def _resume_from(path, config: LoopConfig, run: dict | None) -> tuple[dict, dict]:
    """The checkpoint's ``(arrays, meta)``, refused unless it was written by the same run."""
    arrays, meta = persist.load_arrays(path, kind="checkpoint")
    now = json.loads(json.dumps({"config": _config_record(config), "run": run or {}}))
    differences = record_differences({"config": meta.get("config", {}), "run": meta.get("run", {})}, now)
    if differences:
        raise ParameterError(f"cannot resume: checkpoint {path} was written by a run with other settings or "
                             f"data ({'; '.join(differences)}, checkpoint → now); resume with the same ones, "
                             "or start afresh without resuming.")
    return arrays, meta


@dataclass
class LoopState:
    """What a run carries from step to step, and what a checkpoint saves of it."""

    params: dict
    opt_state: object
    rng: np.random.Generator
    history: History = field(default_factory=History)
    epoch: int = 0
    iteration: int = 0
    best: tuple | None = None
    """``(validation accuracy, params, epoch)`` of the best epoch so far."""
    since_best: int = 0
    stopped_early: bool = False
    limit: float | None = None
    """The loss above which a step counts as divergence (set by this call's first step)."""


def restore(state: LoopState, path, config: LoopConfig, run: dict | None) -> None:
    """Continue ``state`` from the checkpoint at ``path`` (refused unless the same run wrote it)."""
    arrays, meta = _resume_from(path, config, run)
    state.params = persist.split_prefix(arrays, "params")
    state.opt_state = _state_from_arrays(state.opt_state, arrays, meta["opt_scalars"])
    state.rng.bit_generator.state = meta["rng"]
    state.history = History(list(arrays["history/loss"]), meta["train_accuracy"], meta["val_accuracy"],
                            meta["seconds"])
    state.epoch, state.iteration = meta["epoch"], meta["iteration"]
    if meta["best"] is not None:
        state.best = (meta["best"]["accuracy"], persist.split_prefix(arrays, "best"), meta["best"]["epoch"])
        state.since_best = state.epoch - state.best[2]


def check_divergence(loss: float, state: LoopState, optimizer, explode_factor: float) -> None:
    """Raise :class:`DivergenceError` when ``loss`` is not finite or above ``explode_factor · max(1, first loss)``."""
    if state.limit is None:
        state.limit = explode_factor * max(1.0, abs(loss))
    if not math.isfinite(loss) or loss > state.limit:
        raise DivergenceError(f"training diverged at step {state.iteration + 1} (epoch {state.epoch + 1}): the loss "
                              f"became {loss:.4g}. {_lr_advice(optimizer, state.iteration)}")


def step(objective, optimizer, state: LoopState, X_batch, y_batch, explode_factor: float) -> tuple[float, int]:
    """One optimizer step on a batch: ``(its loss, correct predictions)``; the weights never become NaN."""
    value = objective(state.params, X_batch, y_batch)
    check_divergence(value.loss, state, optimizer, explode_factor)
    updates, opt_state = optimizer.update(value.grads, state.opt_state, state.params)
    new = apply_updates(state.params, updates)
    if not all(np.all(np.isfinite(v)) for v in new.values()):
        raise DivergenceError(f"training diverged at step {state.iteration + 1} (epoch {state.epoch + 1}): the "
                              f"weights became NaN or inf. {_lr_advice(optimizer, state.iteration)}")
    state.params, state.opt_state = new, opt_state
    state.history.loss.append(value.loss)
    state.iteration += 1
    return value.loss, int(np.count_nonzero(value.scores.argmax(axis=1) == y_batch))


def end_epoch(state: LoopState, correct: int, seen: int, X_val, y_val, config: LoopConfig) -> None:
    """Record the epoch's running accuracy, score the validation rows, keep the best, decide early stopping."""
    state.epoch += 1
    state.history.train_accuracy.append(correct / seen)
    if X_val is None:
        return
    state.history.val_accuracy.append(rows_accuracy(state.params["W"], state.params["b"], X_val, y_val))
    if state.best is None or state.history.val_accuracy[-1] > state.best[0]:
        state.best, state.since_best = (state.history.val_accuracy[-1], state.params, state.epoch), 0
    else:
        state.since_best += 1
    state.stopped_early = config.early_stopping and state.since_best >= config.patience


def outcome(state: LoopState, config: LoopConfig) -> LoopResult:
    """The run's result: the best epoch's weights (``keep``, or early stopping) or the last ones."""
    keep = config.keep or ("best" if config.early_stopping else "last")
    kept = "best" if keep == "best" and state.best is not None else "last"
    return LoopResult(state.best[1] if kept == "best" else state.params, state.history, state.epoch,
                      state.iteration, state.best[2] if state.best is not None else None, state.stopped_early,
                      state.opt_state, kept)


def step_objective(objective, params):
    """What each step calls: for an :class:`~linclass.objective.Objective` on ``W`` and ``b``,
    :class:`~linclass.optim.chunked.BatchSteps` (the same loss, gradient and scores, the batch's rows split between
    threads, one BLAS thread each); any other objective as it is."""
    return BatchSteps(objective) if isinstance(objective, Objective) and set(params) == {"W", "b"} else objective


def run_epochs(objective, optimizer, X, y, *, params, opt_state=None, X_val=None, y_val=None,
               config: LoopConfig = LoopConfig(), resume: bool = False, run: dict | None = None) -> LoopResult:
    """Minimize ``objective`` over ``params`` with ``optimizer`` on minibatches of ``(X, y)``.

    ``opt_state`` (default ``optimizer.init(params)``) is the optimizer's state to
    start from, e.g. ``LoopResult.opt_state`` of a previous call; the result
    carries the final state.

    Raises :class:`DivergenceError` at the first non-finite or exploding loss; the
    error carries ``params``, the last finite weights (never NaN), and ``history``.
    With ``resume=True`` and an existing ``config.checkpoint`` the run continues
    from it. ``run`` (JSON: e.g. the resolved settings and the data's fingerprint)
    is recorded in the checkpoint with ``config``; resuming from a checkpoint whose
    record differs raises :class:`ParameterError` listing the differences.
    """
    N = X.shape[0]
    if N == 0 or y.shape != (N,):
        raise InputError(f"X has {N} rows and y has shape {y.shape}; pass one label per row (and at least one).")
    params = {k: np.array(v) for k, v in params.items()}
    objective = step_objective(objective, params)
    source = batch_source(X, y, config.batch_size, shuffle=config.shuffle, replacement=config.replacement,
                          block_rows=config.block_rows, buffer_blocks=config.buffer_blocks,
                          dtype=np.result_type(*params.values()), indexed=isinstance(objective, BatchSteps))
    total = config.iterations or config.epochs * source.steps
    state = LoopState(params, optimizer.init(params) if opt_state is None else opt_state,
                      np.random.default_rng(config.seed))
    if resume and config.checkpoint and Path(config.checkpoint).exists():
        restore(state, config.checkpoint, config, run)
    progress = _Progress(total, config.progress, first=state.iteration)
    start = time.perf_counter() - state.history.seconds
    try:
        with getattr(objective, "running", contextlib.nullcontext)():  # the fused step's BLAS threads
            while state.iteration < total and not state.stopped_early:
                correct = seen = 0
                for X_batch, y_batch in itertools.islice(source.epoch(state.rng), total - state.iteration):
                    loss, hits = step(objective, optimizer, state, X_batch, y_batch, config.explode_factor)
                    correct, seen = correct + hits, seen + len(y_batch)
                    progress.update(state.iteration, loss,
                                    state.history.val_accuracy[-1] if state.history.val_accuracy else None)
                end_epoch(state, correct, seen, X_val, y_val, config)
                state.history.seconds = time.perf_counter() - start
                if config.checkpoint:
                    save_checkpoint(config.checkpoint, params=state.params, opt_state=state.opt_state, rng=state.rng,
                                    history=state.history, epoch=state.epoch, iteration=state.iteration,
                                    best=state.best, config=config, run=run)
    except DivergenceError as err:
        err.params, err.history = state.params, state.history
        raise
    finally:
        progress.close()
    state.history.seconds = time.perf_counter() - start
    return outcome(state, config)


def _lr_advice(optimizer, step: int) -> str:
    """What to do after a divergence: the learning rate used at ``step``, and one 10× smaller to retry with."""
    lr = getattr(optimizer, "hyperparams", {}).get("learning_rate")
    if callable(lr):
        lr = lr(step)
    if lr is None:
        return "The learning rate is too large: retry with one 10× smaller, or a schedule with warm-up."
    return (f"The learning rate {float(lr):g} is too large: retry with one 10× smaller (--lr {float(lr) / 10:g}), "
            "or a schedule with warm-up.")
