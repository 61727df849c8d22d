"""The ``--key-file`` option of commands that write or read a model file (HMAC-SHA256 authenticity)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ParameterError
from ..persist import KEY_ENV


def add_key_option(p, sign: bool = False) -> None:
    what = "sign the model with this secret key (HMAC-SHA256)" if sign else "the secret key of a signed model"
    p.add_argument("--key-file", metavar="PATH", help=f"{what}; default: ${KEY_ENV} if set")


def key_from_args(args) -> bytes | None:
    """The key in ``--key-file`` (trailing newline dropped), or None: then ``$LINCLASS_MODEL_KEY`` applies."""
    if not getattr(args, "key_file", None):
        return None
    try:
        key = Path(args.key_file).read_bytes().rstrip(b"\r\n")
    except OSError as err:
        raise ParameterError(f"cannot read --key-file {args.key_file}: {err.strerror or err}; "
                             "pass a readable file holding the key.") from None
    if not key:
        raise ParameterError(f"--key-file {args.key_file} is empty; put the secret key in it.")
    return key
