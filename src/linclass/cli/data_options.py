"""Command-line options shared by every command that reads a data set."""

from __future__ import annotations

from .._checks import parse_image_size
from ..datasets import load_dataset
from ..datasets.limits import add_limit_options, limits_from_args
from ..errors import InputError


def add_data_options(p):
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=["digits", "toy", "cifar10"], default=None,
                   help="a built-in data set (default: digits, offline)")
    g.add_argument("--data", metavar="PATH", help="a folder of images, or a .zip/.tar/.tar.gz of one "
                   "(ROOT/<class>/* or ROOT/<split>/<class>/*)")
    g.add_argument("--data-dir", metavar="DIR", help="download/cache directory (default: $LINCLASS_DATA or "
                   "the user cache dir)")
    g.add_argument("--mirror", metavar="URL", help="CIFAR-10: download from this mirror instead")
    g.add_argument("--image-size", metavar="HxW", help="resize images to this size (default: the most common)")
    g.add_argument("--skip-bad", action="store_true", help="skip unreadable images (listed in the report)")
    g.add_argument("--subset", type=int, metavar="N", help="train on a stratified subset of N images (dev runs)")
    g.add_argument("--val-size", type=int, metavar="N", help="validation images taken from training")
    add_limit_options(g)


def load_from_args(args):
    size = parse_image_size(args.image_size) if args.image_size else None
    if args.dataset and args.data:
        raise InputError("give either --dataset or --data, not both.")
    return load_dataset(args.dataset, args.data, data_dir=args.data_dir, seed=args.seed,
                        val_size=args.val_size, image_size=size, skip_bad=args.skip_bad, subset=args.subset,
                        mirror=args.mirror, limits=limits_from_args(args))
