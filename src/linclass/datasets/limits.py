"""Bounds on what untrusted image files and archives may cost, with the option that raises each.

One :class:`Limits` travels from the CLI (or the library call) to every reader:
folders and archives (training, ``evaluate``, ``tune``, ``knn``) and ``predict``.
Each cap is checked on what a file *declares* (an image header's size, an
archive member's size) before anything is allocated, and again while reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParameterError


@dataclass(frozen=True)
class Limits:
    """Caps on pixels per image, bytes per archive member, bytes per archive and compression ratio."""

    max_pixels: int = 1 << 26
    """Pixels (width × height) one image may declare: 67 million, 8192×8192 (``--max-pixels``)."""
    max_member_bytes: int = 1 << 28
    """Uncompressed bytes of one archive member: 256 MiB (``--max-member-bytes``)."""
    max_total_bytes: int = 1 << 36
    """Uncompressed bytes of all the members of one archive: 64 GiB (``--max-total-bytes``)."""
    max_ratio: float = 200.0
    """Uncompressed / compressed size of a member over 1 MiB, or of a compressed tar (``--max-ratio``)."""

    def __post_init__(self):
        for name in ("max_pixels", "max_member_bytes", "max_total_bytes", "max_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
                raise ParameterError(f"{name} must be a number >= 1, got {value!r}; raise it with "
                                     f"--{name.replace('_', '-')}.")


DEFAULT_LIMITS = Limits()
RATIO_FLOOR = 1 << 20
"""Members (and tar streams) smaller than this are not held to :attr:`Limits.max_ratio`."""

OPTION = {"max_pixels": "--max-pixels", "max_member_bytes": "--max-member-bytes",
          "max_total_bytes": "--max-total-bytes", "max_ratio": "--max-ratio"}
"""The command-line option that raises each limit (the library parameter is ``limits=Limits(...)``)."""


def add_limit_options(group, names=tuple(OPTION)) -> None:
    """The ``--max-*`` options of ``names`` on an argparse group (default None: the :class:`Limits` default)."""
    d = Limits()
    helps = {"max_pixels": ("N", int, f"largest image, in pixels, that is decoded (default {d.max_pixels:,})"),
             "max_member_bytes": ("N", int, f"largest archive member, uncompressed (default {d.max_member_bytes:,})"),
             "max_total_bytes": ("N", int, f"largest archive, uncompressed (default {d.max_total_bytes:,})"),
             "max_ratio": ("R", float, f"largest compression ratio of an archive member (default {d.max_ratio:g})")}
    for name in names:
        metavar, kind, text = helps[name]
        group.add_argument(OPTION[name], type=kind, metavar=metavar, help=text)


def limits_from_args(args) -> Limits:
    """:class:`Limits` from the ``--max-*`` options (those not given keep their default)."""
    given = {name: getattr(args, name, None) for name in OPTION}
    return Limits(**{k: v for k, v in given.items() if v is not None})
