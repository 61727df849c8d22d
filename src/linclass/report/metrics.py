"""What each number of a run's report means: a human label and a one-line explanation per metric key.

The keys are those of ``metrics.json`` (what ``linclass train --json`` prints); the
report shows the label and the explanation next to each value.
"""

from __future__ import annotations

METRICS = {
    "dataset": ("Data set", "where the examples came from"),
    "train_accuracy": ("Training accuracy", "fraction of the training examples the kept weights classify "
                       "correctly"),
    "val_accuracy": ("Validation accuracy", "on the validation split, held out from training and used to choose "
                     "settings and the best epoch"),
    "test_accuracy": ("Test accuracy", "on the test split, never used for any choice: the figure to quote"),
    "final_loss": ("Final minibatch loss", "data loss + regularization on the last step's minibatch (noisy with "
                   "small batches)"),
    "objective": ("Objective on the training set", "data loss + λ·R(W) over the whole training set at the kept "
                  "weights: what the optimizer minimizes"),
    "grad_norm": ("Gradient norm ‖∇L‖", "optimality certificate: 0 exactly at the minimum of the objective; the "
                  "smaller, the closer to it"),
    "distance_bound": ("Distance to the optimum ‖W − W*‖ ≤", "optimality certificate: with L2 the objective is "
                       "2λ-strongly convex, so the weights are within ‖∇_W L‖ / 2λ of the exact optimum W*"),
    "kept": ("Weights kept", "best: those of the epoch with the highest validation accuracy; last: those after "
             "the final step (choose with --keep best|last)"),
    "best_epoch": ("Best validation epoch", "the epoch whose weights reached the highest validation accuracy"),
    "stopped_early": ("Stopped early", "whether early stopping ended the run before its epoch budget"),
    "seconds": ("Training time (s)", "wall-clock seconds for features, preprocessing and optimization"),
    "iterations": ("Optimizer steps", "parameter updates made (minibatch steps, or L-BFGS iterations)"),
    "evaluations": ("Loss evaluations", "full evaluations of the loss spent by random search / random local "
                    "search"),
    "model_path": ("Model file", "the trained classifier: load it with `linclass evaluate` or `predict`"),
    "report_path": ("Report", "this page"),
}
"""Metric key → (label, one-line explanation)."""


def describe(key: str) -> tuple[str, str]:
    """``(label, explanation)`` of a metric key; an unknown key is its own label, without explanation."""
    return METRICS.get(key, (key, ""))
