"""``linclass evaluate``: accuracy, per-class precision/recall and the confusion matrix of a model."""

from __future__ import annotations

from ..classifier import Classifier
from ..errors import InputError
from ..pipeline import evaluate
from ._common import Output, add_command
from .data_options import add_data_options, load_from_args
from .model_options import add_key_option, key_from_args


def register(subparsers, common):
    p = add_command(subparsers, common, "evaluate")
    p.add_argument("model", help="a model file written by `linclass train`")
    add_data_options(p)
    p.add_argument("--seed", type=int, default=None, help="split seed (default: the one used in training)")
    add_key_option(p)
    p.set_defaults(run=run)


def run(args) -> Output:
    clf = Classifier.load(args.model, key=key_from_args(args))
    settings = clf.metadata.get("settings", {})
    if args.seed is None:
        args.seed = settings.get("seed", 0)
    if not args.dataset and not args.data and clf.metadata.get("dataset") in ("digits", "toy", "cifar10"):
        args.dataset = clf.metadata["dataset"]
    dataset = load_from_args(args)
    if list(dataset.class_names) != list(clf.class_names):
        raise InputError(f"the data's classes {dataset.class_names} differ from the model's {clf.class_names}; "
                         "evaluate on data with the same classes.")
    result = evaluate(clf, dataset.X_test, dataset.y_test)
    width = max(len(str(c)) for c in clf.class_names) + 2
    lines = [f"{args.model}: test accuracy {100 * result['accuracy']:.2f}% on {len(dataset.y_test)} "
             f"{dataset.name} examples", "", "class".ljust(width) + "precision    recall   support"]
    for row in result["per_class"]:
        lines.append(f"{row['class']:<{width}}{row['precision']:9.3f}{row['recall']:10.3f}{row['support']:10d}")
    lines += ["", "confusion matrix (rows: true class, columns: predicted)"]
    lines += [" ".join(f"{v:5d}" for v in r) for r in result["confusion_matrix"]]
    return Output("\n".join(lines), {"model": str(args.model), "dataset": dataset.name, **result})
