"""The ``--key-file`` option of commands that write or read a model file (HMAC-SHA256 authenticity)."""

from __future__ import annotations

from .._checks import open_regular
from ..errors import ParameterError
from ..persist import KEY_ENV

MAX_KEY_BYTES = 4096
"""Largest key file read: a key is a short secret (a file larger than this is refused, never read whole)."""


def add_key_option(p, sign: bool = False) -> None:
    what = "sign the model with this secret key (HMAC-SHA256)" if sign else "the secret key of a signed model"
    p.add_argument("--key-file", metavar="PATH", help=f"{what}; default: ${KEY_ENV} if set")


def key_from_args(args) -> bytes | None:
    """The key in ``--key-file`` (trailing newline dropped), or None: then ``$LINCLASS_MODEL_KEY`` applies."""
    if not getattr(args, "key_file", None):
        return None
    try:
        with open_regular(args.key_file) as f:
            key = f.read(MAX_KEY_BYTES + 1)
    except OSError as err:
        raise ParameterError(f"cannot read --key-file {args.key_file}: {err.strerror or err}; "
                             "pass a readable file holding the key.") from None
    if len(key) > MAX_KEY_BYTES:
        raise ParameterError(f"--key-file {args.key_file} holds more than {MAX_KEY_BYTES} bytes; a key is a short "
                             "secret: pass a file holding only the key.")
    key = key.rstrip(b"\r\n")
    if not key:
        raise ParameterError(f"--key-file {args.key_file} is empty; put the secret key in it.")
    return key
