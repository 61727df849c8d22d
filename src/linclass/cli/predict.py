"""``linclass predict``: the top classes of image files, or of the rows of embedding files, with probabilities
(softmax) or scores (SVM).

Images are decoded by :mod:`linclass.datasets.images`, the decoder training and
``evaluate`` use (EXIF orientation, RGB, bicubic resize to the model's size), so
``predict`` on a data set's test files agrees with ``evaluate`` on them. Embedding
files (a probe's inputs: :mod:`linclass.embeddings`) are memory-mapped and scored
chunk by chunk; ``--out preds.csv`` or ``preds.npy`` receives every row.
"""

from __future__ import annotations

from ..classifier import Classifier
from ..datasets.images import FORMAT_NAMES, load_image_files
from ..datasets.limits import add_limit_options, limits_from_args
from ..embeddings import predict_file, top_classes
from ..errors import InputError, ParameterError
from ..rows.files import is_embedding_path
from ._common import Output, add_command
from .evaluate import takes_embeddings
from .model_options import add_key_option, key_from_args


def register(subparsers, common):
    p = add_command(subparsers, common, "predict")
    p.add_argument("model", help="a model file written by `linclass train` or `linclass probe`")
    p.add_argument("inputs", nargs="+",
                   help=f"image files ({FORMAT_NAMES}); or, for a model trained on embeddings, one embedding "
                   "file or directory (X.npy, X-00000.npy… shards, .npz or a bare .npy)")
    p.add_argument("--top", type=int, default=3, help="how many classes to show per input (default 3)")
    p.add_argument("--out", metavar="FILE", help="embeddings: write every row's top classes to FILE.csv or "
                   "FILE.npy (a structured array: class, index, probability or score)")
    add_key_option(p)
    add_limit_options(p.add_argument_group("limits"))
    p.set_defaults(run=run)


def run(args) -> Output:
    clf = Classifier.load(args.model, key=key_from_args(args))
    if takes_embeddings(clf):
        return _on_embeddings(args, clf)
    if len(args.inputs) == 1 and is_embedding_path(args.inputs[0]):
        H, W, _ = clf.image_shape
        raise InputError(f"this model was trained on {H}×{W} images; it classifies image files ({FORMAT_NAMES}), "
                         "not embedding files.")
    if args.out:
        raise ParameterError("--out writes the predictions of embedding rows; for images use --json.")
    images = load_image_files(args.inputs, clf.image_shape, limits_from_args(args))
    idx, values = top_classes(clf, clf.scores(images), max(1, min(args.top, len(clf.class_names))))
    value = "probability" if clf.loss == "softmax" else "score"
    results = [{"path": path, "class": str(clf.class_names[i[0]]),
                "top": [{"class": str(clf.class_names[j]), value: float(v)} for j, v in zip(i, vs)]}
               for path, i, vs in zip(args.inputs, idx, values)]
    lines = [f"{r['path']}: {_shown(r['top'], value)}" for r in results]
    return Output("\n".join(lines), {"model": str(args.model), "predictions": results})


def _on_embeddings(args, clf) -> Output:
    if len(args.inputs) != 1 or not (is_embedding_path(args.inputs[0]) or args.inputs[0].endswith((".npy", ".npz"))):
        raise InputError(f"this model was trained on embeddings ({clf.model.n_features} features per row); pass one "
                         "embedding file or directory (X.npy or X-00000.npy… shards, an .npz or a .npy), not "
                         "image files.")
    result = predict_file(clf, args.inputs[0], top=args.top, out=args.out)
    lines = [f"row {p['row']}: {_shown(p['top'], result['value'])}" for p in result["predictions"]]
    if result["out"]:
        lines = [f"{result['rows']} rows of {result['data']}: top {args.top} classes written to {result['out']}"]
    elif result["rows"] > len(lines):
        lines.append(f"… {result['rows'] - len(lines)} more rows: --out preds.csv (or .npy) writes them all")
    return Output("\n".join(lines), {"model": str(args.model), **result})


def _shown(top, value) -> str:
    if value == "probability":
        return ", ".join(f"{e['class']} {100 * e['probability']:.1f}%" for e in top)
    return ", ".join(f"{e['class']} {e['score']:.3g}" for e in top)

