"""``linclass gradcheck``: analytic vs numerical gradient of the full objective on random data."""

from __future__ import annotations

import numpy as np

from ..defaults import value
from ..gradcheck import check_objective
from ..losses import LOSSES
from ..objective import Objective
from ..regularizers import get_regularizer
from . import flags
from ._common import Output, add_command

REG_STRENGTH = value("gradcheck", "reg_strength")


def register(subparsers, common):
    p = add_command(subparsers, common, "gradcheck")
    p.add_argument("--loss", choices=list(LOSSES), default="softmax")
    flags.add_penalty(p, default="l2")
    p.add_argument("--reg-strength", type=float, default=REG_STRENGTH, metavar="λ",
                   help=f"the regularization strength λ (default {REG_STRENGTH:g})")
    flags.renamed(p, "gradcheck", "--reg")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                   help="float64 (default) checks to ~1e-7; float32 only to ~1e-2")
    p.add_argument("--examples", type=int, default=20, help="N (default 20)")
    p.add_argument("--dimensions", type=int, default=10, metavar="D", help="D (default 10)")
    flags.renamed(p, "gradcheck", "--features")
    p.add_argument("--classes", type=int, default=4, help="C (default 4)")
    p.add_argument("--checks", type=int, default=20, help="random coordinates per parameter (default 20)")
    p.add_argument("--step", type=float, default=None,
                   help="base step h (default 1e-5 for float64, 1e-2 for float32); W is stepped by h / max(1, rms(X))")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args) -> Output:
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.examples, args.dimensions)).astype(dtype)
    y = rng.integers(0, args.classes, args.examples)
    params = {"W": (0.1 * rng.standard_normal((args.dimensions, args.classes))).astype(dtype),
              "b": (0.1 * rng.standard_normal(args.classes)).astype(dtype)}
    objective = Objective(args.loss, get_regularizer(args.penalty), args.reg_strength)
    result = check_objective(objective, params, X, y, num_checks=args.checks, h=args.step, seed=args.seed)
    tol = result.tol
    penalty = "penalty=none" if args.penalty == "none" else f"penalty={args.penalty} (λ={args.reg_strength:g})"
    steps = ", ".join(f"h({name})={step:.3g}" for name, step in result.steps.items())
    lines = [f"gradient check: loss={args.loss}, {penalty}, {args.dtype}, "
             f"N={args.examples} D={args.dimensions} C={args.classes}, {steps}",
             f"{'param':6} {'index':10} {'analytic':>14} {'numerical':>14} {'rel. error':>11}"]
    for c in result.coordinates:
        flag = "  kink crossed: the numerical gradient straddles a max(0,·)/|·|" if c.kink else ""
        lines.append(f"{c.param:6} {str(c.index):10} {c.analytic:14.8g} {c.numeric:14.8g} "
                     f"{c.relative_error:11.2e}{flag}")
    verdict = "PASS" if result.passed() else "FAIL"
    lines.append(f"max relative error (away from kinks): {result.max_relative_error:.3e}  "
                 f"[{verdict} at {tol:g}]")
    if result.kinks:
        worst = max(c.relative_error for c in result.kinks)
        lines.append(f"{len(result.kinks)} coordinate(s) crossed a kink within ±h (worst error there {worst:.2e}); "
                     "that is expected for hinge/L1 terms, not a bug: try a smaller --step.")
    data = {"loss": args.loss, "penalty": args.penalty, "dtype": args.dtype, "steps": result.steps,
            "max_relative_error": result.max_relative_error, "passed": result.passed(),
            "tolerance": tol, "checked": len(result.coordinates), "kink_crossings": len(result.kinks),
            "coordinates": [{"param": c.param, "index": [int(i) for i in c.index], "analytic": c.analytic,
                             "numeric": c.numeric, "relative_error": c.relative_error, "kink": c.kink}
                            for c in result.coordinates]}
    return Output("\n".join(lines), data)
