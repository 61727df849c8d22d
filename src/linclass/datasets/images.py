"""The one image decoder: folders, archives, ``evaluate`` and ``predict`` all read images here.

:func:`decode_image` reads only regular files (a FIFO or a device is refused,
never waited on), only the formats in :data:`IMAGE_FORMATS`, refuses an image
whose header declares more than ``limits.max_pixels`` pixels before decoding
it, applies the EXIF orientation, converts to RGB (or grey for a 1-channel
model) and resizes with one filter, :data:`RESAMPLE` (bicubic). Errors are
:class:`ImageError` with a message that names the cause; callers add the file
name and the fix.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .._checks import open_regular
from ..errors import DataError
from .archive import Unreadable
from .limits import DEFAULT_LIMITS, OPTION, Limits

IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
"""The image formats Pillow is allowed to open (others are reported as bad files)."""
FORMAT_NAMES = "PNG, JPEG, BMP, GIF, WebP"
RESAMPLE = Image.Resampling.BICUBIC
"""The one resize filter."""
_ORIENTATION = 0x0112
_TURNED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


class ImageError(DataError):
    """One image that cannot be read; the message is the reason (callers name the file)."""


def read_file(path, limit: int | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (at most ``limit``); ImageError for anything else.

    Opened without blocking, so a FIFO or a device is refused instead of waited on.
    """
    try:
        f = open_regular(path)
    except OSError as err:
        raise ImageError(err.strerror or str(err)) from None
    with f:
        size = os.fstat(f.fileno()).st_size
        if limit is not None and size > limit:
            raise ImageError(f"the file has {size:,} bytes, more than the limit of {limit:,}; raise it "
                             f"with {OPTION['max_member_bytes']} if the file is genuine")
        return f.read() if limit is None else f.read(limit + 1)


def payload_bytes(payload, limits: Limits) -> bytes:
    """A payload (path, bytes or :class:`Unreadable`) as bytes; a file over ``limits.max_member_bytes`` is refused."""
    if isinstance(payload, Unreadable):
        raise ImageError(payload.message)
    if isinstance(payload, bytes):
        return payload
    data = read_file(payload, limits.max_member_bytes)
    if len(data) > limits.max_member_bytes:  # grew since its size was read
        raise ImageError(f"the file has more than {limits.max_member_bytes:,} bytes")
    return data


def _open(data: bytes, limits: Limits) -> Image.Image:
    """Pillow's image from the header alone, its pixel count checked against the limit."""
    try:
        with warnings.catch_warnings():  # the pixel count is checked here, against our own limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError:  # beyond Pillow's own hard limit, which no option raises
        hard = 2 * Image.MAX_IMAGE_PIXELS
        raise ImageError(f"it declares more than {min(hard, limits.max_pixels):,} pixels (a decompression bomb?); "
                         f"raise the limit with {OPTION['max_pixels']} (up to Pillow's own {hard:,}) if the image "
                         "is genuine") from None
    except UnidentifiedImageError:
        raise ImageError(f"not a {FORMAT_NAMES.replace(', ', ' / ')} image") from None
    if im.width * im.height > limits.max_pixels:
        im.close()
        raise _too_many_pixels(im.size, limits)
    return im


def _too_many_pixels(size, limits: Limits) -> ImageError:
    return ImageError(f"it declares {size[0]:,}x{size[1]:,} pixels, more than the limit of {limits.max_pixels:,} "
                      f"(a decompression bomb?); raise the limit with {OPTION['max_pixels']} if the image is genuine")


def header_size(payload, limits: Limits = DEFAULT_LIMITS) -> tuple[int, int] | None:
    """An image's upright ``(h, w)`` from its header alone (EXIF orientation applied), or None."""
    try:
        with _open(payload_bytes(payload, limits), limits) as im:
            turned = "exif" in im.info and im.getexif().get(_ORIENTATION, 1) in _TURNED
            return (im.width, im.height) if turned else (im.height, im.width)
    except Exception:  # noqa: BLE001 - a bad file is reported by the decoding pass
        return None


def decode_image(payload, size=None, *, limits: Limits = DEFAULT_LIMITS, channels: int = 3
                 ) -> tuple[np.ndarray, tuple[int, int]]:
    """``(image (H, W, channels) uint8, native upright (h, w))`` from a path or bytes.

    Resized to ``size=(H, W)`` with :data:`RESAMPLE` when given and different.
    Raises :class:`ImageError` (or whatever Pillow raises on a corrupt stream:
    callers report any exception as a bad file).
    """
    with _open(payload_bytes(payload, limits), limits) as im:
        im.load()
        if "exif" in im.info:  # cheap test first: a full EXIF parse costs ~40% on small JPEGs
            im = ImageOps.exif_transpose(im)
        mode = "L" if channels == 1 else "RGB"
        out = im if im.mode == mode else im.convert(mode)
        native = (out.height, out.width)
        if size is not None and native != tuple(size):
            out = out.resize((size[1], size[0]), RESAMPLE)
        return np.asarray(out).reshape(out.height, out.width, channels), native


def bad_reason(err: Exception) -> str:
    """A one-line reason for a bad image file."""
    text = str(err) or type(err).__name__
    return text.splitlines()[0] if text.strip() else type(err).__name__


def load_image_files(paths, image_shape, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """Image files → ``(N, H, W, C)`` uint8 in ``image_shape``, decoded as training decodes them.

    Raises DataError naming the first file that cannot be read, and the fix.
    """
    H, W, C = image_shape
    out = np.empty((len(paths), H, W, C), dtype=np.uint8)
    for i, path in enumerate(paths):
        if not Path(path).exists():
            raise DataError(f"no such file {str(path)!r}; check the path (and the current folder).")
        try:
            out[i] = decode_image(str(Path(path)), (H, W), limits=limits, channels=C)[0]
        except Exception as err:  # noqa: BLE001 - Pillow raises many types on bad files
            raise DataError(f"cannot read image {str(path)!r}: {bad_reason(err)}; pass a {FORMAT_NAMES} file."
                            ) from None
    return out
