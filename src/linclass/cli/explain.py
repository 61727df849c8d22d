"""``linclass explain``: the slides' loss computations, term by term."""

from __future__ import annotations

from ..errors import InputError
from . import Output, add_command


def parse_matrix(text: str) -> list[list[float]]:
    """``"3.2,5.1,-1.7;1.3,4.9,2.0"`` → rows of floats (one row per example)."""
    try:
        rows = [[float(v) for v in row.split(",")] for row in text.strip().split(";") if row.strip()]
    except ValueError as err:
        raise InputError(f"--scores must be numbers, rows separated by ';' and values by ',' ({err}).") from None
    if not rows or len({len(r) for r in rows}) != 1:
        raise InputError("--scores rows must all have the same number of classes, e.g. \"3.2,5.1,-1.7;1.3,4.9,2.0\".")
    return rows


def parse_labels(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"--labels must be integers separated by ',' (class indices), got {text!r}.") from None


def register(subparsers, common):
    p = add_command(subparsers, common, "explain", "Explain a loss computation step by step, as on the slides.", [
        "linclass explain                       the slides' SVM example (cat, car, frog)",
        "linclass explain --loss softmax        exp → normalize → −log for the same scores",
        'linclass explain --scores "3.2,5.1,-1.7;1.3,4.9,2.0;2.2,2.5,-3.1" --labels 0,1,2 --classes cat,car,frog',
        "linclass explain --questions          the lecture's questions, answered numerically",
    ])
    p.add_argument("--loss", choices=["svm", "softmax"], default="svm", help="which loss (default: svm)")
    p.add_argument("--scores", help='score matrix, one row per example: "s11,s12,...;s21,s22,..."')
    p.add_argument("--labels", help="correct class of each example, e.g. 0,1,2")
    p.add_argument("--classes", help="class names, e.g. cat,car,frog")
    p.add_argument("--delta", type=float, default=1.0, help="SVM margin Δ (default 1)")
    p.add_argument("--questions", action="store_true", help="answer the lecture's questions on the slides' example")
    p.set_defaults(run=run)


def run(args) -> Output:
    from ..report import explain

    if args.questions:
        return Output(*explain.questions())
    scores = labels = None
    if args.scores is not None:
        scores = parse_matrix(args.scores)
        if args.labels is None:
            raise InputError("--scores needs --labels: the correct class index of each row, e.g. --labels 0,1,2.")
        labels = parse_labels(args.labels)
        if len(labels) != len(scores):
            raise InputError(f"--labels has {len(labels)} value(s) but --scores has {len(scores)} row(s); "
                             "give one label per row.")
    classes = args.classes.split(",") if args.classes else None
    columns = len(scores[0]) if scores is not None else len(explain.SLIDES_CLASSES)
    if classes is not None and len(classes) != columns:
        raise InputError(f"--classes names {len(classes)} class(es) but the scores have {columns} columns; "
                         "give one name per column, e.g. --classes cat,car,frog.")
    return Output(*explain.explain(args.loss, scores, labels, classes, delta=args.delta))
