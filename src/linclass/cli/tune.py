"""``linclass tune``: search learning rate × regularization strength, in parallel, and keep the best model."""

from __future__ import annotations

import argparse

import numpy as np

from .. import _checks
from ..classifier import Classifier
from ..datasets import cache_dir
from ..defaults import value
from ..design import fit_design
from ..errors import InputError, ParameterError
from ..estimators import LinearSVM, SoftmaxClassifier
from ..features import SPECS
from ..model import LinearModel
from ..persist import write_json
from ..preprocess import PREPROCESSING
from ..report.plots import search_heatmap
from ..settings import data_kind, resolve
from ..tune import grid, log_uniform, search
from . import flags
from ._common import Output, add_command
from .data_options import add_data_options, load_from_args
from .outdir import default_out, output_dir

LR_GRID = ",".join(f"{v:g}" for v in value("tune", "lr_grid"))
REG_STRENGTH_GRID = ",".join(f"{v:g}" for v in value("tune", "reg_strength_grid"))


def register(subparsers, common):
    p = add_command(subparsers, common, "tune")
    add_data_options(p)
    g = p.add_argument_group("model")
    g.add_argument("--loss", choices=["softmax", "svm", "squared-svm"], default="softmax")
    flags.add_penalty(g, default="l2")
    # defaults None: as `linclass train` for the data set (linclass.settings)
    g.add_argument("--optimizer", help="sgd|momentum|nesterov|adagrad|rmsprop|adam|lbfgs")
    g.add_argument("--schedule", help="constant|step|exponential|cosine|cosine+warmup")
    g.add_argument("--epochs", type=int)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--dtype", choices=["float32", "float64"])
    g.add_argument("--preprocess", choices=PREPROCESSING, help="none, center (subtract the mean image) or "
                   "standardize")
    g.add_argument("--features", choices=SPECS, help="image features, as in `linclass train` (default raw pixels)")
    s = p.add_argument_group("search")
    s.add_argument("--lr", default=None, metavar="LIST", help=f"learning rates of the grid (default {LR_GRID})")
    s.add_argument("--reg-strength", default=None, metavar="LIST",
                   help=f"strengths λ (the estimators' alpha) of the grid (default {REG_STRENGTH_GRID})")
    flags.renamed(s, "tune", "--reg")
    s.add_argument("--random", type=int, metavar="N", help="N random settings instead of a grid")
    s.add_argument("--lr-range", default="1e-4:1e-1", metavar="A:B", help="random search: log-uniform range")
    s.add_argument("--reg-range", default="1e-5:1e-1", metavar="A:B", help="random search: log-uniform range")
    s.add_argument("--param", action="append", default=[], metavar="NAME=VALUES",
                   help="another estimator parameter: a list v1,v2 (grid, or random picks) or A:B (random, "
                        "log-uniform); repeatable")
    s.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation on the training split "
                   "(default: score on the validation split)")
    s.add_argument("--jobs", type=int, default=1, help="trials at once")
    s.add_argument("--threads-per-job", type=int, default=1, help="BLAS threads per trial (default 1)")
    s.add_argument("--dask", metavar="ADDRESS", help="run the trials on a Dask cluster: local (start one of --jobs "
                   "workers here), or a scheduler such as tcp://host:8786 (default: processes on this machine)")
    s.add_argument("--backend", action=DaskBackend, help=argparse.SUPPRESS)  # old: loky|dask, now --dask
    flags.renamed(s, "tune", "--scheduler")
    s.add_argument("--seed", type=int, default=0)
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", help="output directory (default: runs/tune-<dataset>-<loss>-<time>)")
    p.set_defaults(run=run)


class DaskBackend(argparse.Action):
    """The old ``--backend loky|dask``: ``dask`` is now ``--dask local`` (or ``--dask ADDRESS``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        _checks.choice(values, "--backend", ("loky", "dask"), hint="; the cluster is now --dask ADDRESS")
        flags.note(namespace, f"--backend {values} is now " + ("--dask local (or --dask ADDRESS)" if values == "dask"
                                                      else "the default: leave it out"))
        if values == "dask" and namespace.dask is None:
            namespace.dask = "local"


def _span(text: str, option: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in text.split(":"))
    except ValueError:
        raise ParameterError(f"{option} must look like 1e-4:1e-1 (low:high), got {text!r}.") from None
    return low, high


def _literal(text: str):
    """A command-line value as int, float, bool, None or string."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def settings_from_args(args) -> list[dict]:
    """The search's settings: a grid, or ``--random N`` log-uniform draws (seeded by ``--seed``)."""
    extra_lists, extra_ranges = {}, {}
    for item in args.param:
        name, sep, values = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name or not values:
            raise ParameterError(f"--param needs NAME=VALUES, e.g. batch_size=32,256, got {item!r}.")
        if args.random and ":" in values:
            extra_ranges[name] = _span(values, f"--param {name}")
        else:
            extra_lists[name] = [_literal(v) for v in values.split(",") if v.strip()]
    if args.random:
        if args.lr or args.reg_strength:
            raise ParameterError("--random draws from --lr-range and --reg-range; drop --lr / --reg-strength "
                                 "(or drop --random for a grid).")
        ranges = {"learning_rate": _span(args.lr_range, "--lr-range"),
                  "alpha": _span(args.reg_range, "--reg-range"), **extra_ranges}
        return log_uniform(args.random, ranges, seed=args.seed, choices=extra_lists)
    return grid(learning_rate=flags.numbers(args.lr or LR_GRID, "lr"),
                alpha=flags.numbers(args.reg_strength or REG_STRENGTH_GRID, "reg_strength"), **extra_lists)


def make_estimator(args, settings):
    """The estimator of every trial: ``settings`` (:func:`linclass.settings.resolve`) give the optimizer,
    schedule, batch size, epochs and dtype."""
    common = dict(penalty=None if args.penalty == "none" else args.penalty, optimizer=settings.optimizer,
                  schedule=settings.schedule, batch_size=settings.batch_size, max_iter=settings.epochs,
                  dtype=settings.dtype)
    if args.loss == "softmax":
        return SoftmaxClassifier(**common)
    return LinearSVM(loss=args.loss, **common)


def run(args) -> Output:
    settings = settings_from_args(args)
    if args.dask is not None:
        _checks.dask_address(args.dask)  # before the data is read
    dataset = load_from_args(args)
    fixed, _ = resolve(data_kind(dataset.name), {name: getattr(args, name) for name in (
        "loss", "optimizer", "schedule", "epochs", "batch_size", "dtype", "preprocess", "features", "seed")})
    estimator = make_estimator(args, fixed)
    if args.cv is None and not len(dataset.X_val):
        raise InputError(f"{dataset.name} has no validation split; give --val-size N or use --cv K.")
    design, X, _, others = fit_design(dataset.X_train, dataset.y_train, fixed, others={"val": dataset.X_val},
                                      cache_dir=cache_dir(args.data_dir) / "features")
    X_val = others.get("val")
    y_val = dataset.y_val if X_val is not None else None
    with output_dir(args.out or default_out(f"tune-{dataset.name}-{args.loss}")) as out:
        result = search(estimator, settings, X, dataset.y_train, X_val=None if args.cv else X_val,
                        y_val=None if args.cv else y_val, cv=args.cv, n_jobs=args.jobs, dask=args.dask,
                        seed=args.seed, threads_per_job=args.threads_per_job)
        scoring = f"{args.cv}-fold CV" if args.cv else "validation"
        data = {"dataset": dataset.name, "loss": args.loss, "scoring": scoring,
                "jobs": args.jobs, "dask": args.dask, **result.to_dict(),
                "heatmap_path": None, "model_path": None, "test_accuracy": None}
        best = result.best
        if best is not None:
            data["heatmap_path"] = str(_heatmap(result, out / "heatmap.png", args))
        if result.best_estimator is not None:
            est = result.best_estimator
            if not np.array_equal(est.classes_, np.arange(dataset.n_classes)):
                raise InputError("some classes have no training example; use a larger --subset.")
            model = LinearModel(est.coef_.T, est.intercept_)
            clf = Classifier(model, design.preprocessor, list(dataset.class_names), args.loss, dataset.image_shape,
                             design.features, {"settings": {**est.get_params(), "dtype": fixed.dtype,
                                                            "preprocess": fixed.preprocess, "features": fixed.features},
                                               "search": best.to_dict(),
                              "dataset": dataset.name, "fingerprint": dataset.fingerprint})
            data["model_path"] = str(clf.save(out / "model.npz"))
            if len(dataset.X_test):
                data["test_accuracy"] = float(np.mean(clf.predict(dataset.X_test) == dataset.y_test))
        write_json(out / "search.json", data)
        data["results_path"] = str(out / "search.json")
    return Output(_text(result, data), data)


def _heatmap(result, path, args):
    lrs, regs, acc = result.heatmap("learning_rate", "alpha")
    what = f"{args.cv}-fold CV accuracy" if args.cv else "Validation accuracy"
    return search_heatmap(lrs, regs, acc, path, title=f"{what}, {args.loss} ({len(result.trials)} trials)")


def _text(result, data) -> str:
    lines = [result.table(), ""]
    status = (f"interrupted: {len(result.trials)} of {result.n_settings} trials finished (kept below)"
              if result.interrupted else f"{len(result.trials)} trials")
    where = f"Dask ({data['dask']})" if data["dask"] else "loky"
    lines.append(f"{status} in {result.seconds:.1f} s on {data['jobs']} job(s), {where}; scored by {data['scoring']}")
    best = result.best
    if best is None:
        lines.append("no trial succeeded (each diverged or failed: see status and message): try smaller learning "
                     "rates.")
    else:
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items())
        lines.append(f"best: trial {best.index} ({params}) val accuracy {best.score:.4f}"
                     + (f", test accuracy {data['test_accuracy']:.4f}" if data["test_accuracy"] is not None else ""))
    for key, label in (("heatmap_path", "heat map"), ("model_path", "model"), ("results_path", "results")):
        if data.get(key):
            lines.append(f"{label}: {data[key]}")
    return "\n".join(lines)
