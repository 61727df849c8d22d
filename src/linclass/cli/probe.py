"""``linclass probe``: the exact L2 softmax (a linear probe) on embedding files, one λ or a path."""

from __future__ import annotations

import warnings

from ..datasets.limits import add_limit_options, limits_from_args
from ..defaults import TABLE
from ..errors import ParameterError
from ..optim import OPTIMIZERS
from ..persist import write_json
from ..probe import BACKENDS, SELECT_BY, fit, parse_reg_path
from ..probe.resume import Progress
from ..probe.search import parse_reg_search
from ..report import html
from ..rows.files import open_split
from ._common import Output, add_command
from .outdir import default_out, output_dir

PROBE = TABLE["probe"]
"""The probe's defaults (:mod:`linclass.defaults`), shown in ``--help``."""


def register(subparsers, common):
    p = add_command(subparsers, common, "probe")
    p.add_argument("train", metavar="TRAIN", help="directory with X.npy (N×D float16/32/64) and y.npy "
                   "(ints or strings), or X-00000.npy… shards, or an .npz with X and y")
    p.add_argument("--val", metavar="VAL", help="validation split (same layout): accuracy, and λ of a path")
    p.add_argument("--test", metavar="TEST", help="test split (same layout)")
    add_limit_options(p.add_argument_group("bounds on the labels inside an .npz"),
                      ("max_member_bytes", "max_ratio"))
    g = p.add_argument_group("objective")
    g.add_argument("--reg-strength", type=float, default=PROBE["reg_strength"], metavar="λ",
                   help=f"λ of mean loss + λ·ΣW² (default {PROBE['reg_strength']:g}; LogisticRegression's "
                        "C = 1/(2·N·λ))")
    g.add_argument("--reg-path", metavar="LO:HI:K", help="fit K log-spaced λ from HI down to LO, warm-started, "
                   "and keep the best on validation (needs --val); warns when the best is an end of the range")
    g.add_argument("--reg-search", metavar="LO:HI[:RES]", help="search λ in [LO, HI] as CLIP did: one λ per "
                   "decade, then halve the interval around the best on validation until RES decades (default "
                   "0.1); every fit warm-started, every λ listed in path (needs --val)")
    g.add_argument("--select-by", choices=SELECT_BY, default="accuracy", help="the validation metric that picks λ "
                   "of a path or search (default accuracy; balanced_accuracy: the mean per-class recall)")
    g.add_argument("--standardize", action="store_true", help="fit on (x − mean)/std of the training rows")
    g.add_argument("--shots", type=int, metavar="K", help="few-shot: train on K rows of each class, drawn with "
                   "--seed (stratified, read from the files without a copy)")
    g.add_argument("--class-weight", choices=["balanced"], help="balanced: weigh each row by N/(C·n_class), "
                   "scikit-learn's class_weight='balanced' (imbalanced data; L-BFGS, numpy backend)")
    g = p.add_argument_group("solver")
    g.add_argument("--tol", type=float, help="relative gradient tolerance: stop at ‖∇L‖∞ ≤ tol·‖∇L(0)‖∞ "
                   f"(default {PROBE['lbfgs_tol']:g})")
    g.add_argument("--max-iter", type=int, help=f"L-BFGS iterations per λ (default {PROBE['lbfgs_max_iter']})")
    g.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="precision of the products (float32 finishes in float64 when round-off stalls)")
    g.add_argument("--backend", choices=BACKENDS, default="numpy")
    g.add_argument("--device", default="cpu", help="cpu, cuda or cuda:i (--backend torch)")
    g.add_argument("--dask", metavar="ADDRESS", help="local, or a scheduler such as tcp://host:8786")
    g.add_argument("--chunk-rows", type=int, metavar="ROWS", help="rows per chunk (default: about 16 MiB)")
    g = p.add_argument_group("minibatch optimizers (instead of L-BFGS, for the largest runs: epochs of shuffled "
                             "blocks streamed from the files)")
    g.add_argument("--optimizer", choices=["lbfgs", *OPTIMIZERS], default="lbfgs",
                   help="lbfgs: the exact optimum (default); or a minibatch optimizer")
    g.add_argument("--lr", type=float, help="learning rate (default: the optimizer's)")
    g.add_argument("--schedule", help="constant (default), step, exponential, cosine, cosine+warmup")
    g.add_argument("--batch-size", type=int, help=f"rows per step (default {PROBE['batch_size']})")
    g.add_argument("--epochs", type=int, help=f"passes over the training rows (default {PROBE['epochs']})")
    g.add_argument("--seed", type=int, default=0, help="the order of the blocks and rows, and the --shots draw "
                   "(default 0)")
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", help="output directory (default: runs/probe-<time>)")
    o.add_argument("--resume", action="store_true", help="continue the interrupted run in --out: its finished λ "
                   "are read back, a minibatch λ goes on from its last epoch (refused if an input differs)")
    o.add_argument("--overwrite", action="store_true", help="replace the finished run in --out (refused without "
                   "it: its model.npz would be lost)")
    o.add_argument("--full-digest", action="store_true", help="identify the inputs for --resume by hashing every "
                   "byte (default: shapes, sizes, dates and sampled rows)")
    p.set_defaults(run=run)


def _check(args):
    if args.reg_path is not None:
        parse_reg_path(args.reg_path)  # before any file is opened
    if args.reg_search is not None:
        parse_reg_search(args.reg_search)
    if args.class_weight and (args.dask or args.backend != "numpy" or args.optimizer != "lbfgs"):
        raise ParameterError("--class-weight is fitted by L-BFGS on the numpy backend; leave out --dask, --backend "
                             "torch and --optimizer.")
    if args.dask and args.backend != "numpy":
        raise ParameterError("--dask computes with NumPy on the workers; leave out --backend torch.")
    if args.optimizer != "lbfgs" and (args.tol is not None or args.max_iter is not None):
        raise ParameterError(f"--tol and --max-iter are L-BFGS's; --optimizer {args.optimizer} runs --epochs: "
                             "leave them out.")


def run(args) -> Output:
    _check(args)
    if args.resume and not args.out:
        raise ParameterError("--resume continues the run in --out DIR: give the same --out as the run to continue.")
    solver = {k: getattr(args, k) for k in ("tol", "max_iter") if getattr(args, k) is not None}
    finished = None if args.resume or args.overwrite else "model.npz"
    with output_dir(args.out or default_out("probe"), finished=finished) as out, \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        limits = limits_from_args(args)
        splits = {k: open_split(getattr(args, k), limits) if getattr(args, k) else None
                  for k in ("train", "val", "test")}
        result = fit(splits["train"], val=splits["val"], test=splits["test"], reg_strength=args.reg_strength,
                     reg_path=args.reg_path, reg_search=args.reg_search, select_by=args.select_by,
                     shots=args.shots, class_weight=args.class_weight,
                     standardize=args.standardize, backend=args.backend,
                     device=args.device, dask=args.dask, dtype=args.dtype, chunk_rows=args.chunk_rows,
                     progress=None if args.json else print, optimizer=args.optimizer, lr=args.lr,
                     schedule=args.schedule, batch_size=args.batch_size, epochs=args.epochs, seed=args.seed,
                     checkpoint=out, resume=args.resume, full_digest=args.full_digest, **solver)
        notes = [str(w.message) for w in caught if issubclass(w.category, (UserWarning, RuntimeWarning))]
        model_path = result.classifier.save(out / "model.npz")
        summary = result.summary() | {"model_path": str(model_path), "report_path": str(out / "report.html"),
                                      "warnings": notes}
        write_json(out / "metrics.json", summary)
        _report(out / "report.html", args, result)
        Progress(out, {}).clear()  # the run finished: the model file is the result
    best = result.best
    chosen = f" (best {result.selected_by.replace('_', ' ')} of {len(result.path)} on validation, " \
        f"{result.selection})" if len(result.path) > 1 else ""
    lines = [f"probe: L2 softmax, λ {best['reg_strength']:g}{chosen}, {_steps(args, best)} ({best['precision']}); "
             f"run {result.seconds:.1f} s",
             f"  objective {best['objective']:.10g}   ‖∇L‖ {best['grad_norm']:.3g}"
             + (f"   ‖W − W*‖ ≤ {best['distance_bound']:.3g}" if best["distance_bound"] is not None else ""),
             f"  train accuracy {_pct(best['train_accuracy'])}",
             *(f"  {name:5s} top-1 {_pct(best[f'{split}_accuracy'])}"
               + (f"  top-5 {_pct(best[f'{split}_top5_accuracy'])}" if best[f"{split}_top5_accuracy"] is not None
                  else "") + f"  balanced {_pct(best[f'{split}_balanced_accuracy'])}"
               for split, name in (("val", "val"), ("test", "test")) if best[f"{split}_accuracy"] is not None),
             *(f"  warning: {n}" for n in notes),
             f"model:  {model_path}", f"report: {summary['report_path']}"]
    return Output("\n".join(lines), summary)


def _steps(args, best) -> str:
    if args.optimizer == "lbfgs":
        return f"{best['iterations']} iterations"
    return f"{args.optimizer}, {best['epochs']} epochs, {best['iterations']} steps"


def _pct(v):
    return "—" if v is None else f"{100 * v:.2f}%"


def _report(path, args, result):
    settings = {k: getattr(args, k) for k in ("train", "val", "test", "reg_strength", "reg_path", "reg_search",
                                              "select_by", "shots", "class_weight", "standardize",
                                              "tol", "max_iter", "dtype", "backend", "device", "dask",
                                              "optimizer", "lr", "schedule", "batch_size", "epochs", "seed")
                if getattr(args, k) not in (None, False)}
    best = result.best
    metrics = {"objective (mean loss + λ·ΣW²)": best["objective"],
               "gradient norm ‖∇L‖ (optimality certificate)": best["grad_norm"],
               "distance bound ‖W − W*‖ ≤ ‖∇_W L‖ / 2λ": best["distance_bound"],
               "iterations (the chosen λ)": best["iterations"], "train accuracy": best["train_accuracy"],
               **{f"{name} {label}": best[f"{split}_{key}"] for split, name in (("val", "validation"), ("test", "test"))
                  for key, label in (("accuracy", "accuracy (top-1)"), ("top5_accuracy", "top-5 accuracy"),
                                     ("balanced_accuracy", "balanced accuracy (mean per-class recall)"))},
               "seconds (the whole run)": result.seconds}
    columns = ["λ", "objective", "‖∇L‖", "iterations", "val accuracy", "val balanced", "test accuracy",
               "test balanced", "seconds"]
    rows = [[r["reg_strength"], r["objective"], r["grad_norm"], r["iterations"], r["val_accuracy"],
             r["val_balanced_accuracy"], r["test_accuracy"], r["test_balanced_accuracy"], r["seconds"]]
            for r in result.path]
    tables = [(f"Regularization path: every λ fitted, in order ({result.selection}; the best validation "
               f"{result.selected_by.replace('_', ' ')} is kept)", columns, rows)]
    if best.get("val_accuracy_per_epoch"):
        tables.append((f"Validation accuracy per epoch ({args.optimizer}, λ {best['reg_strength']:g})",
                       ["epoch", "val accuracy"], [[k + 1, a] for k, a in enumerate(best["val_accuracy_per_epoch"])]))
    html.write_report(path, title="linclass probe", settings=settings,
                      metrics={k: v for k, v in metrics.items() if v is not None}, tables=tables)
