"""``linclass probe``: the exact L2 softmax (a linear probe) on embedding files, one λ or a path.

The solver (:mod:`linclass.probe`, with SciPy and scikit-learn) is loaded when the
command runs, not when the parser is built: ``linclass --help`` stays fast.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import warnings
from pathlib import Path

from ..errors import ParameterError
from ..persist import write_json
from ..report import html
from ._common import Output, add_command


def register(subparsers, common):
    p = add_command(subparsers, common, "probe")
    p.add_argument("train", metavar="TRAIN", help="directory with X.npy (N×D float16/32/64) and y.npy "
                   "(ints or strings), or X-00000.npy… shards, or an .npz with X and y")
    p.add_argument("--val", metavar="VAL", help="validation split (same layout): accuracy, and λ of a path")
    p.add_argument("--test", metavar="TEST", help="test split (same layout)")
    g = p.add_argument_group("objective")
    g.add_argument("--reg-strength", type=float, default=1e-4, metavar="λ",
                   help="λ of mean loss + λ·ΣW² (default 1e-4; LogisticRegression's C = 1/(2·N·λ))")
    g.add_argument("--reg-path", metavar="LO:HI:K", help="fit K log-spaced λ from HI down to LO, warm-started, "
                   "and keep the best validation accuracy (needs --val)")
    g.add_argument("--standardize", action="store_true", help="fit on (x − mean)/std of the training rows")
    g = p.add_argument_group("solver")
    g.add_argument("--tol", type=float, help="relative gradient tolerance: stop at ‖∇L‖∞ ≤ tol·‖∇L(0)‖∞ "
                   "(default 1e-6)")
    g.add_argument("--max-iter", type=int, default=1000, help="L-BFGS iterations per λ (default 1000)")
    g.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="precision of the products (float32 finishes in float64 when round-off stalls)")
    g.add_argument("--backend", choices=["numpy", "torch"], default="numpy")
    g.add_argument("--device", default="cpu", help="cpu, cuda or cuda:i (--backend torch)")
    g.add_argument("--dask", metavar="ADDRESS", help="local, or a scheduler such as tcp://host:8786")
    g.add_argument("--chunk-rows", type=int, metavar="ROWS", help="rows per chunk (default: about 16 MiB)")
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", help="output directory (default: runs/probe-<time>)")
    p.set_defaults(run=run)


def _check(args):
    if args.tol is not None and not 0 < args.tol < 1:
        raise ParameterError(f"--tol must be in (0, 1), e.g. --tol 1e-6; got {args.tol}.")
    if args.max_iter < 1:
        raise ParameterError(f"--max-iter must be >= 1, e.g. --max-iter 1000; got {args.max_iter}.")
    if args.chunk_rows is not None and args.chunk_rows < 1:
        raise ParameterError(f"--chunk-rows must be >= 1, e.g. --chunk-rows 16384; got {args.chunk_rows}.")
    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise ParameterError(f"--out {args.out} is a file; pass a directory for the model, metrics and report.")
    if args.dask and args.backend != "numpy":
        raise ParameterError("--dask computes with NumPy on the workers; leave out --backend torch.")


def run(args) -> Output:
    _check(args)
    probe = importlib.import_module("linclass.probe")
    solver = {"tol": args.tol} if args.tol is not None else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = probe.fit(args.train, val=args.val, test=args.test, reg_strength=args.reg_strength,
                     reg_path=args.reg_path, standardize=args.standardize, backend=args.backend,
                     device=args.device, dask=args.dask, dtype=args.dtype, max_iter=args.max_iter,
                     chunk_rows=args.chunk_rows, progress=None if args.json else print, **solver)
    notes = [str(w.message) for w in caught if issubclass(w.category, (UserWarning, RuntimeWarning))]
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or f"runs/probe-{stamp}")
    model_path = result.classifier.save(out / "model.npz")
    summary = result.summary() | {"model_path": str(model_path), "report_path": str(out / "report.html"),
                                  "warnings": notes}
    write_json(out / "metrics.json", summary)
    _report(out / "report.html", args, result)
    best = result.best
    lines = [f"probe: L2 softmax, λ {best['reg_strength']:g}"
             + (f" (best of {len(result.path)} on validation)" if len(result.path) > 1 else "")
             + f", {best['iterations']} iterations ({best['precision']}), {result.seconds:.1f} s",
             f"  objective {best['objective']:.10g}   ‖∇L‖ {best['grad_norm']:.3g}"
             + (f"   ‖W − W*‖ ≤ {best['distance_bound']:.3g}" if best["distance_bound"] is not None else ""),
             f"  accuracy  train {_pct(best['train_accuracy'])}  val {_pct(best['val_accuracy'])}  "
             f"test {_pct(best['test_accuracy'])}",
             *(f"  warning: {n}" for n in notes),
             f"model:  {model_path}", f"report: {out / 'report.html'}"]
    return Output("\n".join(lines), summary)


def _pct(v):
    return "—" if v is None else f"{100 * v:.2f}%"


def _report(path, args, result):
    settings = {k: getattr(args, k) for k in ("train", "val", "test", "reg_strength", "reg_path", "standardize",
                                              "tol", "max_iter", "dtype", "backend", "device", "dask")
                if getattr(args, k) not in (None, False)}
    best = result.best
    metrics = {"objective (mean loss + λ·ΣW²)": best["objective"],
               "gradient norm ‖∇L‖ (optimality certificate)": best["grad_norm"],
               "distance bound ‖W − W*‖ ≤ ‖∇_W L‖ / 2λ": best["distance_bound"],
               "iterations": best["iterations"], "train accuracy": best["train_accuracy"],
               "validation accuracy": best["val_accuracy"], "test accuracy": best["test_accuracy"],
               "seconds": result.seconds}
    columns = ["λ", "objective", "‖∇L‖", "iterations", "val accuracy", "test accuracy", "seconds"]
    rows = [[r["reg_strength"], r["objective"], r["grad_norm"], r["iterations"], r["val_accuracy"],
             r["test_accuracy"], r["seconds"]] for r in result.path]
    html.write_report(path, title="linclass probe", settings=settings,
                      metrics={k: v for k, v in metrics.items() if v is not None},
                      tables=[("Regularization path (strong to weak; the best validation accuracy is kept)",
                               columns, rows)])
