"""``linclass predict``: the top classes of image files, with probabilities (softmax) or scores (SVM).

Images are decoded by :mod:`linclass.datasets.images`, the decoder training and
``evaluate`` use (EXIF orientation, RGB, bicubic resize to the model's size), so
``predict`` on a data set's test files agrees with ``evaluate`` on them.
"""

from __future__ import annotations

import numpy as np

from ..classifier import Classifier
from ..datasets.images import FORMAT_NAMES, load_image_files
from ..datasets.limits import add_limit_options, limits_from_args
from ..errors import InputError
from ._common import Output, add_command
from .model_options import add_key_option, key_from_args


def register(subparsers, common):
    p = add_command(subparsers, common, "predict")
    p.add_argument("model", help="a model file written by `linclass train`")
    p.add_argument("images", nargs="+", help=f"image files ({FORMAT_NAMES})")
    p.add_argument("--top", type=int, default=3, help="how many classes to show (default 3)")
    add_key_option(p)
    add_limit_options(p.add_argument_group("limits"))
    p.set_defaults(run=run)


def run(args) -> Output:
    clf = Classifier.load(args.model, key=key_from_args(args))
    if clf.image_shape is None:
        raise InputError("this model was trained on feature vectors, not images; it cannot classify image files.")
    images = load_image_files(args.images, clf.image_shape, limits_from_args(args))
    softmax = clf.loss == "softmax"
    values = clf.predict_proba(images) if softmax else clf.scores(images)
    k = max(1, min(args.top, len(clf.class_names)))
    results, lines = [], []
    for path, row in zip(args.images, values):
        top = np.argsort(-row, kind="stable")[:k]
        entries = [{"class": str(clf.class_names[j]), ("probability" if softmax else "score"): float(row[j])}
                   for j in top]
        results.append({"path": path, "class": entries[0]["class"], "top": entries})
        shown = ", ".join(f"{e['class']} {100 * e['probability']:.1f}%" if softmax else f"{e['class']} {e['score']:.3g}"
                          for e in entries)
        lines.append(f"{path}: {shown}")
    return Output("\n".join(lines), {"model": str(args.model), "predictions": results})
