"""``linclass strategies``: the lecture's optimization strategies side by side on one data set."""

from __future__ import annotations

from ..pipeline import evaluate, fit_classifier
from ..settings import Settings, data_kind, resolve
from ._common import Output, add_command
from .data_options import add_data_options, load_from_args

LECTURE = {"random search": "15.5%", "random local search": "21.4%", "minibatch gradient descent": "—"}


def register(subparsers, common):
    p = add_command(subparsers, common, "strategies")
    add_data_options(p)
    p.add_argument("--budget", type=int, default=1000, help="loss evaluations for the two search strategies")
    p.add_argument("--loss", choices=["svm", "softmax"], default="svm", help="the lecture used the SVM loss")
    p.add_argument("--epochs", type=int, default=None, help="gradient descent epochs (default: as `linclass train`)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def strategy_settings(loss: str, budget: int, seed: int, gd: Settings) -> dict:
    """The three runs, with the lecture's settings for the searches (mean-subtracted pixels, no
    regularization, W ~ 1e-4·randn for random search, W₀ ~ 1e-3·randn and steps of 1e-4·randn for
    random local search). ``gd``: the gradient descent run's settings (:func:`linclass.settings.resolve`)."""
    return {
        "random search": Settings(loss=loss, penalty="none", optimizer="random-search", budget=budget,
                                  init_scale=1e-4, seed=seed),
        "random local search": Settings(loss=loss, penalty="none", optimizer="random-local-search", budget=budget,
                                        init_scale=1e-3, step_size=1e-4, seed=seed),
        "minibatch gradient descent": gd,
    }


def run(args) -> Output:
    dataset = load_from_args(args)
    gd, _ = resolve(data_kind(dataset.name), {"loss": args.loss, "seed": args.seed, "epochs": args.epochs})
    rows = []
    for name, settings in strategy_settings(args.loss, args.budget, args.seed, gd).items():
        clf, outcome = fit_classifier(dataset, settings, progress=False if args.json else None)
        acc = evaluate(clf, dataset.X_test, dataset.y_test)["accuracy"]
        rows.append({"strategy": name, "test_accuracy": acc, "final_loss": float(outcome.history.loss[-1]),
                     "seconds": outcome.seconds, "evaluations": outcome.evaluations,
                     "iterations": outcome.iterations, "lecture": LECTURE[name]})
    lines = [f"{args.loss} loss on {dataset.name} ({len(dataset.y_train)} train, {len(dataset.y_test)} test); "
             f"search budget {args.budget} loss evaluations", "",
             f"{'strategy':28}{'test acc.':>10}{'loss':>9}{'time':>9}   lecture (CIFAR-10)"]
    for r in rows:
        lines.append(f"{r['strategy']:28}{100 * r['test_accuracy']:9.1f}%{r['final_loss']:9.3f}"
                     f"{r['seconds']:8.1f}s   {r['lecture']}")
    lines.append(f"{'state of the art (lecture)':28}{'~95-99%':>10}")
    return Output("\n".join(lines), {"dataset": dataset.name, "loss": args.loss, "budget": args.budget,
                                     "strategies": rows})
