"""``linclass predict``: the top classes of image files, with probabilities (softmax) or scores (SVM)."""

from __future__ import annotations

from ._common import Output, add_command


def register(subparsers, common):
    p = add_command(subparsers, common, "predict", "Classify image files with a trained model.", [
        "linclass predict runs/cifar/model.npz cat.jpg ship.png",
        "linclass predict model.npz *.jpg --top 3 --json",
    ])
    p.add_argument("model", help="a model file written by `linclass train`")
    p.add_argument("images", nargs="+", help="image files (PNG, JPEG, BMP, GIF, WebP)")
    p.add_argument("--top", type=int, default=3, help="how many classes to show (default 3)")
    p.set_defaults(run=run)


def load_images(paths, image_shape):
    """Image files → (N, H, W, C) uint8 in the model's input shape."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from ..errors import DataError, InputError
    if image_shape is None:
        raise InputError("this model was trained on feature vectors, not images; it cannot classify image files.")
    H, W, C = image_shape
    out = np.empty((len(paths), H, W, C), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as im:
                im = im.convert("L" if C == 1 else "RGB")
                if im.size != (W, H):
                    im = im.resize((W, H), Image.BILINEAR)
                out[i] = np.asarray(im).reshape(H, W, C)
        except (OSError, UnidentifiedImageError) as err:
            raise DataError(f"cannot read image {path}: {err}; pass a PNG, JPEG, BMP, GIF or WebP file.") from None
    return out


def run(args) -> Output:
    import numpy as np

    from ..classifier import Classifier
    clf = Classifier.load(args.model)
    images = load_images(args.images, clf.image_shape)
    scores = clf.scores(images)
    softmax = clf.loss == "softmax"
    values = clf.predict_proba(images) if softmax else scores
    k = max(1, min(args.top, len(clf.class_names)))
    results, lines = [], []
    for path, row in zip(args.images, values):
        top = np.argsort(-row, kind="stable")[:k]
        entries = [{"class": str(clf.class_names[j]), ("probability" if softmax else "score"): float(row[j])}
                   for j in top]
        results.append({"image": path, "top": entries})
        shown = ", ".join(f"{e['class']} {100 * e['probability']:.1f}%" if softmax else f"{e['class']} {e['score']:.3g}"
                          for e in entries)
        lines.append(f"{path}: {shown}")
    return Output("\n".join(lines), {"model": str(args.model), "predictions": results})
