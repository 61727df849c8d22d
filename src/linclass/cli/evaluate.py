"""``linclass evaluate``: top-1, top-5 and balanced accuracy, per-class precision/recall, the confusion matrix
and the most confused pairs of a model, on images (a data set's test split) or on embedding files."""

from __future__ import annotations

from pathlib import Path

from ..classifier import Classifier
from ..embeddings import evaluate_split
from ..errors import InputError
from ..metrics import headline_text, text_lines
from ..pipeline import evaluate
from ..rows.files import is_embedding_path
from ._common import Output, add_command
from .data_options import add_data_options, load_from_args
from .model_options import add_key_option, key_from_args

BUILT_IN = ("digits", "toy", "cifar10")
EMBEDDINGS_WANTED = ("this model was trained on embeddings ({D} features per row); evaluate it on embedding files: "
                     "--data DIR (X.npy or X-00000.npy… shards, and y.npy) or --data FILE.npz")


def register(subparsers, common):
    p = add_command(subparsers, common, "evaluate")
    p.add_argument("model", help="a model file written by `linclass train` or `linclass probe`")
    add_data_options(p)
    p.add_argument("--seed", type=int, default=None, help="split seed (default: the one used in training)")
    add_key_option(p)
    p.set_defaults(run=run)


def takes_embeddings(clf) -> bool:
    """Whether the model classifies feature rows (a probe's, or one trained on points) rather than images."""
    return clf.image_shape is None


def run(args) -> Output:
    clf = Classifier.load(args.model, key=key_from_args(args))
    trained_on = clf.metadata.get("dataset")
    if takes_embeddings(clf) and (args.data or trained_on not in BUILT_IN):
        return _on_embeddings(args, clf)
    if args.data and is_embedding_path(args.data):
        raise InputError(f"this model was trained on {_images(clf)}; it evaluates images (--data with a folder or "
                         "archive of class folders, or --dataset), not embedding files.")
    settings = clf.metadata.get("settings", {})
    if args.seed is None:
        args.seed = settings.get("seed", 0)
    if not args.dataset and not args.data and trained_on is not None:
        if trained_on not in BUILT_IN:
            raise InputError(f"this model was trained on {trained_on!r}, not a built-in data set: give its data "
                             "with --data PATH (the folder or archive given to train).")
        args.dataset = trained_on
    dataset = load_from_args(args)
    if list(dataset.class_names) != list(clf.class_names):
        raise InputError(f"the data's classes {dataset.class_names} differ from the model's {clf.class_names}; "
                         "evaluate on data with the same classes.")
    result = evaluate(clf, dataset.X_test, dataset.y_test)
    lines = [f"{args.model}: test {headline_text(result)} on {len(dataset.y_test)} {dataset.name} examples", "",
             *text_lines(result), "", "confusion matrix (rows: true class, columns: predicted)"]
    lines += [" ".join(f"{v:5d}" for v in r) for r in result["confusion_matrix"]]
    return Output("\n".join(lines), {"model": str(args.model), "dataset": dataset.name, **result})


def _on_embeddings(args, clf) -> Output:
    if not args.data or args.dataset or (Path(args.data).exists() and not is_embedding_path(args.data)):
        raise InputError(EMBEDDINGS_WANTED.format(D=clf.model.n_features) + ".")
    result = evaluate_split(clf, args.data)
    lines = [f"{args.model}: {headline_text(result)} on {result['examples']} rows of {result['data']}", "",
             *text_lines(result)]
    return Output("\n".join(lines), {"model": str(args.model), "dataset": result["data"], **result})


def _images(clf) -> str:
    H, W, C = clf.image_shape
    return f"{H}×{W} images"
