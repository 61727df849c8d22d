"""``linclass data export``: a data set written out as class folders of image files, with checksums."""

from __future__ import annotations

from ..datasets.export import FORMATS, SUMS_NAME, export_cifar10
from ._common import Output, add_command


def register(subparsers, common):
    p = add_command(subparsers, common, "data")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export", parents=[common], help="write CIFAR-10 as train/<class>/ and test/<class>/ image files",
        description="Download the official CIFAR-10 once (checksum, resumable, progress bar) and write it as "
                    "DIR/train/<class>/NNNN.jpg (5,000 per class) and DIR/test/<class>/NNNN.jpg (1,000 per "
                    f"class), with DIR/{SUMS_NAME} (check it with `sha256sum -c {SUMS_NAME}` inside DIR). "
                    "DIR must be new or empty; it appears only when complete.")
    export.add_argument("dataset", choices=["cifar10"], help="the data set (cifar10)")
    export.add_argument("dir", metavar="DIR", help="the folder to create, e.g. data/cifar10-jpg")
    export.add_argument("--format", choices=list(FORMATS), default="jpg",
                        help="jpg: quality 75, as the JPEG copy the benchmarks use (default); png: the exact pixels")
    export.add_argument("--data-dir", metavar="DIR", help="download/cache directory (default: $LINCLASS_DATA or "
                        "the user cache dir)")
    export.add_argument("--mirror", metavar="URL", help="download from this mirror (URL or local file) first")
    p.set_defaults(run=run)


def run(args) -> Output:
    done = export_cifar10(args.dir, args.format, data_dir=args.data_dir, mirror=args.mirror)
    data = {"path": str(done.path), "format": done.format, "n_train": done.n_train, "n_test": done.n_test,
            "class_names": done.class_names, "checksums": str(done.path / SUMS_NAME), "sha256": done.digest}
    text = (f"wrote {done.n_train:,} training and {done.n_test:,} test images ({done.format}, "
            f"{len(done.class_names)} classes) to {done.path}/train/<class>/ and {done.path}/test/<class>/\n"
            f"checksums: {done.path / SUMS_NAME} (sha256 {done.digest})\n"
            f"use it with: linclass train --data {done.path}")
    return Output(text, data)
