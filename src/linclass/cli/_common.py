"""What every command module shares: its :class:`Output` and the way it adds its parser."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

COMMANDS = {
    "train": ("Train a linear classifier, evaluate it, write a report.", """
linclass train                                   softmax on scikit-learn's digits (offline)
linclass train --loss svm --optimizer adam --lr 1e-3
linclass train --penalty l1 --reg-strength 1e-3
linclass train --data ../shared/data/cifar10-jpg.tar.gz --loss softmax
linclass train --dataset cifar10 --features hog+hist
linclass train --optimizer random-search --budget 1000
"""),
    "evaluate": ("Evaluate a trained model on a data set's test split.", """
linclass evaluate runs/digits-softmax-*/model.npz
linclass evaluate model.npz --data ../shared/data/cifar10-jpg.tar.gz --json
"""),
    "predict": ("Classify image files with a trained model.", """
linclass predict runs/cifar/model.npz cat.jpg ship.png
linclass predict model.npz *.jpg --top 3 --json
"""),
    "strategies": ("Random search vs random local search vs minibatch gradient descent, as in the lecture.", """
linclass strategies --data ../shared/data/cifar10-jpg.tar.gz
linclass strategies --dataset cifar10 --budget 1000 --json
"""),
    "explain": ("Explain the lecture step by step, with its numbers.", """
linclass explain                       the slides' SVM example (cat, car, frog)
linclass explain --loss softmax --log-base 10   exp → normalize → −log10 for the same scores
linclass explain --scores "-3.45,-8.87,0.09;2.9,4.48,8.02" --labels 0,2
linclass explain --questions          the lecture's questions, answered numerically
linclass explain --gradient           the numerical-gradient walk, the slides' and a live one
linclass explain --entropy --log-base 10   the weather example: H(Q), H(Q,P), KL
linclass explain --features-of cat.jpg   hue histogram and HOG of an image, as pictures
linclass explain --lr-lab             the learning-rate lab: four rates, one plot
"""),
    "gradcheck": ("Check the analytic gradient against centered differences on random data.", """
linclass gradcheck --loss svm --penalty l2
linclass gradcheck --loss softmax --penalty elasticnet --dtype float64 --checks 50
"""),
    "knn": ("k-nearest neighbours: choose k by cross-validation, report test accuracy, plot accuracy vs k.", """
linclass knn                                     scikit-learn's digits (offline)
linclass knn --data ../shared/data/cifar10-jpg.tar.gz --train-size 5000 --test-size 500
linclass knn --dataset cifar10 --k 1,3,5,8,10,12,15,20,50,100 --metric l1
"""),
    "demo": ("Open the interactive 2-D linear classifier page (loss, gradient, optimizer steps)", """
linclass demo                      serve on 127.0.0.1:8000 and open the browser
linclass demo --port 0 --no-browser   a free port, print the URL only
linclass demo --host 0.0.0.0      reachable from other machines (no authentication!)
"""),
    "tune": ("Search learning rate × regularization on a validation split or by k-fold CV, in parallel.", """
linclass tune                                    4×4 grid, softmax on digits
linclass tune --loss svm --lr 1e-3,1e-2,1e-1 --reg-strength 1e-4,1e-2 --jobs 2
linclass tune --random 20 --lr-range 1e-4:1e-1 --reg-range 1e-5:1 --cv 5
linclass tune --data ../shared/data/cifar10-jpg.tar.gz --subset 10000 --epochs 5 --jobs 2
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


def add_command(subparsers, common, name: str):
    """The parser of subcommand ``name``: its help and examples from :data:`COMMANDS`, the shared options."""
    summary, example_lines = COMMANDS[name]
    return subparsers.add_parser(name, parents=[common], help=summary, description=summary,
                                 epilog="examples:" + example_lines.replace("\n", "\n  ").rstrip(" "),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
