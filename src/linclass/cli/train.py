"""``linclass train``: the main job — train, evaluate, and write a report."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..features import SPECS
from ..losses import LOSSES
from ..optim import METHODS
from ..persist import write_bytes, write_json
from ..pipeline import evaluate, fit_classifier
from ..preprocess import PREPROCESSING
from ..report import html, plots
from ..rows.batches import SHUFFLES
from ..settings import FIELDS, data_kind, resolve
from . import flags
from ._common import Output, add_command
from .data_options import add_data_options, load_from_args
from .model_options import add_key_option, key_from_args
from .outdir import default_out, output_dir


def register(subparsers, common):
    p = add_command(subparsers, common, "train")
    add_data_options(p)
    add_key_option(p, sign=True)
    # Every default is None: the defaults live in linclass.settings (by data kind, loss and features) and
    # resolve() records which values were given.
    g = p.add_argument_group("model and optimization (defaults: by data set, loss and features; "
                             "metrics.json lists each value's source)")
    g.add_argument("--loss", choices=list(LOSSES), help="default softmax")
    flags.add_penalty(g, help="R(W) of mean loss + λ·R(W) (default l2; elasticnet: the lecture's Σ W² + Σ|W|)")
    g.add_argument("--reg-strength", type=float, metavar="λ", help="the regularization strength λ")
    flags.renamed(g, "train", "--reg")
    g.add_argument("--optimizer", choices=list(METHODS))
    g.add_argument("--lr", type=float, help="learning rate")
    g.add_argument("--schedule", help="constant|step|exponential|cosine|cosine+warmup (default: cosine on images, "
                   "else constant)")
    g.add_argument("--batch-size", type=int)
    g.add_argument("--epochs", type=int)
    g.add_argument("--iterations", type=int, help="a budget in steps instead of epochs")
    g.add_argument("--replacement", action="store_true", default=None, help="sample minibatches with replacement")
    g.add_argument("--shuffle", choices=list(SHUFFLES), help="the order of an epoch: rows (default: a permutation of "
                   "the rows, the exact order a --resume repeats) or blocks (shuffled blocks of rows, the rows of "
                   "about 64 blocks shuffled together)")
    g.add_argument("--early-stopping", action="store_true", default=None, help="stop when validation accuracy "
                   "stops improving and restore the best weights")
    g.add_argument("--patience", type=int, help="default 5")
    g.add_argument("--preprocess", choices=PREPROCESSING, help="none, center (subtract the training mean) or "
                   "standardize (and divide by the std); default: standardize on digits and images, else center")
    g.add_argument("--features", choices=SPECS, help="image features (default raw pixels)")
    g.add_argument("--n-words", type=int, help="bag of visual words: codebook size (default 1600)")
    g.add_argument("--encoding", choices=["triangle", "soft"],
                   help="bag of visual words: triangle (default) or soft-threshold encoding")
    g.add_argument("--augment", choices=["none", "flip"], help="flip: add mirrored training images")
    g.add_argument("--budget", type=int, help="loss evaluations for the search strategies (default 1000)")
    g.add_argument("--dtype", choices=["float32", "float64"], help="default float32")
    g.add_argument("--seed", type=int, help="default 0")
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", help="output directory (default: runs/<dataset>-<loss>-<time>)")
    o.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    o.add_argument("--overwrite", action="store_true", help="replace the finished run in --out (refused without "
                   "it: its model.npz would be lost)")
    o.add_argument("--keep", choices=["best", "last"], help="the weights to save: best (the epoch of the highest "
                   "validation accuracy) or last (default: best with --early-stopping, else last)")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def settings_from_args(args, dataset_name: str):
    """``(settings, sources)`` for ``dataset_name`` from the parsed arguments (None = not given)."""
    return resolve(data_kind(dataset_name), {name: getattr(args, name, None) for name in FIELDS})


def run(args) -> Output:
    key = key_from_args(args)  # a bad key file fails before training
    dataset = load_from_args(args)
    settings, sources = settings_from_args(args, dataset.name)
    finished = None if args.resume or args.overwrite else "model.npz"
    with output_dir(args.out or default_out(f"{dataset.name}-{settings.loss}"), finished=finished) as out:
        return _train(args, dataset, settings, sources, out, key)


def _train(args, dataset, settings, sources, out: Path, key) -> Output:
    progress = False if args.no_progress or args.json else None
    # On divergence fit_classifier raises: nothing is written but the last good checkpoint.
    clf, outcome = fit_classifier(dataset, settings, checkpoint=out / "checkpoint.npz", resume=args.resume,
                                  progress=progress, data_dir=args.data_dir)
    model_path = clf.save(out / "model.npz", key=key)
    train_metrics = outcome.optimality["accuracy"]
    val = evaluate(clf, dataset.X_val, dataset.y_val) if len(dataset.X_val) else None
    test = evaluate(clf, dataset.X_test, dataset.y_test) if len(dataset.X_test) else None
    metrics = {
        "dataset": dataset.name, "train_accuracy": train_metrics,
        "val_accuracy": val["accuracy"] if val else None, "test_accuracy": test["accuracy"] if test else None,
        "final_loss": outcome.history.loss[-1], "grad_norm": outcome.optimality["grad_norm"],
        "distance_bound": outcome.optimality["distance_bound"], "objective": outcome.optimality["loss"],
        "seconds": outcome.seconds, "iterations": outcome.iterations, "evaluations": outcome.evaluations,
        "kept": outcome.kept, "best_epoch": outcome.best_epoch, "stopped_early": outcome.stopped_early,
        "warnings": outcome.warnings,
        "model_path": str(model_path), "report_path": str(out / "report.html"),
        "settings": asdict(settings), "sources": sources, "notes": list(dataset.notes),
        "test": test,
    }
    write_json(out / "metrics.json", metrics)
    _write_history(out / "history.csv", outcome.history)
    _write_report(out, clf, dataset, settings, sources, metrics, outcome.history, test)
    (out / "checkpoint.npz").unlink(missing_ok=True)  # the run finished: the model file is the result
    n_train = len(dataset.y_train) * (2 if settings.augment == "flip" else 1)
    applied = applied_settings(settings)
    used = ", ".join([settings.optimizer] + [f"{name} {applied[key]:g}" for key, name in
                                             (("lr", "lr"), ("step_size", "step"), ("reg_strength", "λ"))
                                             if applied.get(key) is not None])
    lines = [f"trained {settings.loss} ({used}) "
             f"on {dataset.name}: {n_train} train / {len(dataset.X_val)} val / "
             f"{len(dataset.X_test)} test examples in {outcome.seconds:.1f} s",
             f"  accuracy  train {_pct(train_metrics)}  val {_pct(metrics['val_accuracy'])}  "
             f"test {_pct(metrics['test_accuracy'])}",
             f"  objective on the whole training set {metrics['objective']:.4f}   ‖∇L‖ {metrics['grad_norm']:.3g}"
             + (f"   ‖W − W*‖ ≤ {metrics['distance_bound']:.3g}" if metrics["distance_bound"] is not None else ""),
             f"  weights kept: {_kept_text(outcome)}",
             *(f"  note: {n}" for n in dataset.notes),
             *(f"  warning: {w}" for w in outcome.warnings),
             f"model:  {model_path}", f"report: {out / 'report.html'}"]
    return Output("\n".join(lines), {k: v for k, v in metrics.items() if k != "test"} | {"test": test})


def _kept_text(outcome) -> str:
    """``"best (epoch 7 of 60, highest validation accuracy)"`` or ``"last (epoch 60)"``."""
    epochs = len(outcome.history.train_accuracy)
    if outcome.kept == "best":
        return f"best (epoch {outcome.best_epoch} of {epochs}, highest validation accuracy)"
    return f"last (epoch {epochs})" if epochs > 1 else "last"


def applied_settings(settings) -> dict:
    """The settings that took part in the run (those of another optimizer, features or penalty left out)."""
    shown = asdict(settings)
    method = METHODS[settings.optimizer]
    minibatch = not method.full_batch
    drop = set()
    if not minibatch:
        drop |= {"lr", "schedule", "batch_size", "epochs", "replacement", "shuffle", "early_stopping", "patience"}
    if not method.gradient:
        drop.add("iterations")
    else:
        drop.add("budget")
    if settings.optimizer != "random-local-search":
        drop.add("step_size")
    if minibatch and settings.iterations is not None:
        drop.add("epochs")  # a budget in steps replaces the epochs
    if minibatch and settings.iterations is None:
        drop.add("iterations")
    if not settings.early_stopping:
        drop.add("patience")
    if not minibatch or settings.keep is None:
        drop.add("keep")
    if settings.features != "bovw":
        drop |= {"n_words", "encoding"}
    if settings.augment in (None, "none"):
        drop.add("augment")
    if settings.penalty == "none":
        drop.add("reg_strength")
    return {k: v for k, v in shown.items() if k not in drop}


def _pct(v):
    return "—" if v is None else f"{100 * v:.1f}%"


def _write_history(path, history):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["step", "loss", "epoch", "train_accuracy", "val_accuracy"])
    epochs = len(history.train_accuracy)
    per_epoch = max(1, len(history.loss) // max(1, epochs))
    for i, loss in enumerate(history.loss):
        e = (i + 1) // per_epoch if (i + 1) % per_epoch == 0 and (i + 1) // per_epoch <= epochs else None
        row = [i + 1, f"{loss:.8g}", e or "", "", ""]
        if e:
            row[3] = f"{history.train_accuracy[e - 1]:.6f}"
            if history.val_accuracy:
                row[4] = f"{history.val_accuracy[e - 1]:.6f}"
        w.writerow(row)
    write_bytes(path, buf.getvalue().encode())


def _write_report(out, clf, dataset, settings, sources, metrics, history, test):
    images = [("Training loss per step", plots.loss_curve(history.loss, out / "loss.png").name)]
    if len(history.train_accuracy) > 1:
        kept_epoch = metrics["best_epoch"] if metrics["kept"] == "best" else len(history.train_accuracy)
        images.append(("Accuracy per epoch", plots.accuracy_curves(
            history.train_accuracy, history.val_accuracy or None, out / "accuracy.png",
            kept_epoch=kept_epoch, kept=metrics["kept"]).name))
    if dataset.image_shape is not None and clf.features is None:
        images.append(("Learned weights as class templates", plots.weight_templates(
            clf.model.W, dataset.image_shape, clf.class_names, out / "templates.png").name))
    elif dataset.image_shape is None and dataset.X_train.shape[1] == 2:
        images.append(("Decision regions", plots.decision_regions(
            clf.predict, dataset.X_train, dataset.y_train, out / "regions.png",
            class_names=clf.class_names).name))
    if test is not None:
        images.append(("Confusion matrix (test)", plots.confusion_matrix(
            np.asarray(test["confusion_matrix"]), clf.class_names, out / "confusion.png").name))
    shown = {k: v for k, v in metrics.items()
             if k not in ("settings", "sources", "test", "notes", "warnings") and v is not None}
    tables = []
    if test is not None:
        tables.append(("Per class (test)", ["class", "precision", "recall", "support"],
                       [[c["class"], f"{c['precision']:.3f}", f"{c['recall']:.3f}", c["support"]]
                        for c in test["per_class"]]))
    if dataset.notes:
        tables.append(("Notes", ["note"], [[n] for n in dataset.notes]))
    if metrics["warnings"]:
        tables.append(("Warnings", ["warning"], [[w] for w in metrics["warnings"]]))
    html.write_report(out / "report.html", title=f"linclass: {settings.loss} on {dataset.name}",
                      settings={k: f"{v}   ({sources[k]})" for k, v in applied_settings(settings).items()},
                      metrics=shown, images=images, tables=tables)
