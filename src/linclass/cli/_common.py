"""What every command module shares: its :class:`Output` and the way it adds its parser."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from ..i18n import LANGUAGES

COMMANDS = {
    "train": ("Train a linear classifier, evaluate it, write a report.", """
linclass train                                   softmax on scikit-learn's digits (offline)
linclass train --loss svm --optimizer adam --lr 1e-3
linclass train --penalty l1 --reg-strength 1e-3
linclass train --data data/cifar10-jpg --loss softmax
linclass train --dataset cifar10 --features hog+hist
linclass train --optimizer random-search --budget 1000
"""),
    "evaluate": ("Evaluate a trained model: top-1, top-5, balanced accuracy, per class, most confused.", """
linclass evaluate runs/digits-softmax-*/model.npz
linclass evaluate model.npz --data data/cifar10-jpg --json
linclass evaluate runs/probe-*/model.npz --data emb/test          a probe's model on embedding files
"""),
    "predict": ("Classify image files, or the rows of embedding files, with a trained model.", """
linclass predict runs/cifar/model.npz cat.jpg ship.png
linclass predict model.npz *.jpg --top 3 --json
linclass predict runs/probe-*/model.npz emb/new --top 5 --out preds.csv   every row (or preds.npy)
"""),
    "strategies": ("Random search vs random local search vs minibatch gradient descent, as in the lecture.", """
linclass strategies --data data/cifar10-jpg
linclass strategies --dataset cifar10 --budget 1000 --json
"""),
    "explain": ("Explain the lecture step by step, with its numbers.", """
linclass explain                       the lecture's SVM example (cat, car, frog)
linclass explain --loss softmax --log-base 10   exp → normalize → −log10 for the same scores
linclass explain --scores "-3.45,-8.87,0.09;2.9,4.48,8.02" --labels 0,2
linclass explain --questions          the lecture's questions, answered numerically
linclass explain --gradient           the numerical-gradient walk, the lecture's and a live one
linclass explain --entropy --log-base 10   entropy H(Q), cross-entropy H(Q,P), KL divergence
linclass explain --features-of cat.jpg   hue histogram and HOG of an image, as pictures
linclass explain --lr-lab             the learning-rate lab: four rates, one plot
linclass explain --landscape          the loss along a random line and plane through W: convex bowls
linclass explain --bias-trick         W x + b as one product [W | b] [x; 1] (10 × 3073 for CIFAR-10)
linclass explain --occam              train vs validation accuracy against λ on digits, plotted
"""),
    "exercise": ("A fresh exercise on the SVM or softmax loss: a score table, its questions, the key, a check.", """
linclass exercise --seed 7                      a score table and its questions (same seed, same exercise)
linclass exercise --seed 7 --answers            the worked key, as `linclass explain` writes it
linclass exercise --seed 7 --check "2.9, 0, 12.9"   which term of your answer is first wrong, and why
linclass exercise --loss softmax --seed 3
"""),
    "gradcheck": ("Check the analytic gradient against centered differences on random data.", """
linclass gradcheck --loss svm --penalty l2
linclass gradcheck --loss softmax --penalty elasticnet --dtype float64 --checks 50
"""),
    "knn": ("k-nearest neighbours: choose k by cross-validation, report test accuracy, plot accuracy vs k.", """
linclass knn                                     scikit-learn's digits (offline)
linclass knn --data data/cifar10-jpg --train-size 5000 --test-size 500
linclass knn --dataset cifar10 --k 1,3,5,8,10,12,15,20,50,100 --metric l1
"""),
    "demo": ("Open the interactive 2-D linear classifier page (loss, gradient, optimizer steps)", """
linclass demo                      serve on 127.0.0.1:8000 and open the browser
linclass demo --port 0 --no-browser   a free port, print the URL only
linclass demo --host 0.0.0.0      reachable from other machines (no authentication!)
linclass demo --lang vi           the page in Vietnamese (also ru, zh; or open it with ?lang=ru)
"""),
    "tune": ("Search learning rate × regularization on a validation split or by k-fold CV, in parallel.", """
linclass tune                                    4×4 grid, softmax on digits
linclass tune --loss svm --lr 1e-3,1e-2,1e-1 --reg-strength 1e-4,1e-2 --jobs 2
linclass tune --random 20 --lr-range 1e-4:1e-1 --reg-range 1e-5:1 --cv 5
linclass tune --data data/cifar10-jpg --subset 10000 --epochs 5 --jobs 2
linclass tune --dask tcp://scheduler-host:8786   on a Dask cluster (--dask local: one started here)
linclass tune --param batch_size=32,256             any other estimator parameter
"""),
    "data": ("Write a data set as class folders of image files, with a checksum list.", """
linclass data export cifar10 data/cifar10-jpg                 the official download as 60,000 JPEGs
linclass data export cifar10 data/cifar10-png --format png    the exact pixels, as PNG
linclass data export cifar10 data/cifar10-jpg --mirror /media/usb/cifar-10-python.tar.gz
"""),
    "probe": ("Fit a linear probe (L2 softmax, scikit-learn's LogisticRegression objective) on embeddings.", """
linclass probe emb/train --val emb/val --test emb/test          λ = 1e-4
linclass probe emb/train --val emb/val --reg-path 1e-6:1e-2:8   best of 8 λ on val
linclass probe train.npz --backend torch --device cuda
linclass probe emb/train --val emb/val --dask tcp://scheduler:8786
linclass probe emb/train --val emb/val --optimizer adam --lr 3e-3 --epochs 3   minibatch, streamed
"""),
}
"""Every subcommand: its one-line help and the example invocations its ``--help`` ends with, in the
order ``linclass --help`` lists them. The module
``linclass.cli.<name>`` provides ``register(subparsers, common)``; it is imported only when that command
runs (:func:`linclass.cli.app.main`), so each command pays only for the libraries it uses."""


@dataclass
class Output:
    """What a command returns: text for people, data for ``--json``."""

    text: str
    data: dict = field(default_factory=dict)


def add_lang(parser) -> None:
    """``--lang``: the language of a teaching display (``explain``, ``exercise``, ``demo``)."""
    parser.add_argument("--lang", choices=LANGUAGES,
                        help="language: en, ru, vi or zh (default: $LINCLASS_LANG, else the locale, else en)")


def add_command(subparsers, common, name: str):
    """The parser of subcommand ``name``: its help and examples from :data:`COMMANDS`, the shared options."""
    summary, example_lines = COMMANDS[name]
    return subparsers.add_parser(name, parents=[common], help=summary, description=summary,
                                 epilog="examples:" + example_lines.replace("\n", "\n  ").rstrip(" "),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
