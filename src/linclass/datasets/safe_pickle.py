"""A restricted unpickler for the official CIFAR-10 batches: data, never code.

A pickle is a small program: its ``GLOBAL`` / ``STACK_GLOBAL`` opcodes import
any callable by name and ``REDUCE`` calls it, so ``pickle.load`` on a tampered
file runs whatever the file asks for (``os.system``, ``builtins.eval``...).
:class:`RestrictedUnpickler` refuses every global except the few that numpy
needs to rebuild a plain numeric array, and hands out *checked wrappers*, not
the real callables:

=============================================  ==============================================
global named in the pickle                     what it is admitted as
=============================================  ==============================================
``numpy.core.multiarray._reconstruct``         ``_reconstruct(ndarray, shape, typecode)`` for
``numpy._core.multiarray._reconstruct``        exactly ``numpy.ndarray`` and shape ``(0,)``, as
                                               numpy writes it (the official batches were
                                               written by Python 2 with the first name)
``numpy.ndarray``                              a token: only ``_reconstruct`` accepts it; it
                                               cannot be called
``numpy.dtype``                                ``dtype(spec, align, copy)`` of a bool, integer
                                               or float type; object / structured refused
``numpy._core.numeric._frombuffer``            protocol-5 pickles written by numpy 2, same
``numpy.core.numeric._frombuffer``             dtype rule
``_codecs.encode``                             ``encode(text, "latin1")`` only: how Python 3
                                               writes ``bytes`` at protocol <= 2
=============================================  ==============================================

Everything else (``os.system``, ``builtins.eval``, ``subprocess.Popen``,
``builtins.getattr``...) raises :class:`~linclass.errors.DataError` naming the
file and the global before anything is called. The official batches hold only
dicts, lists, ints, byte strings and one ``uint8`` array of shape (N, 3072).
"""

from __future__ import annotations

import io
import pickle

import numpy as np

from ..errors import DataError

_reconstruct = np.ndarray.__reduce__(np.zeros(0))[0]
"""numpy's own ``_reconstruct``, found without naming its (version-dependent) module."""

_NUMERIC_KINDS = "biuf"


class _NdarrayToken:
    """Stands in for ``numpy.ndarray`` inside a pickle; refuses to be called."""

    def __repr__(self) -> str:
        return "numpy.ndarray (token)"


_NDARRAY = _NdarrayToken()


def _numeric_dtype(dt) -> np.dtype:
    dt = np.dtype(dt)
    if (dt.kind not in _NUMERIC_KINDS or dt.hasobject or dt.fields is not None
            or dt.subdtype is not None):
        raise pickle.UnpicklingError(f"array dtype {dt!r} is not a plain bool / integer / float type")
    return dt


def _safe_dtype(spec, align=False, copy=False):
    """``numpy.dtype(spec, align, copy)`` restricted to numeric types (``spec`` may be bytes)."""
    if isinstance(spec, bytes):
        spec = spec.decode("ascii")
    if not isinstance(spec, str):
        raise pickle.UnpicklingError(f"dtype spec must be a string, got {type(spec).__name__}")
    return _numeric_dtype(np.dtype(spec, bool(align), bool(copy)))


def _safe_reconstruct(subtype, shape, typecode):
    """``_reconstruct`` for plain ``numpy.ndarray`` only; its dtype is checked when BUILD sets it."""
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError(f"_reconstruct may only build numpy.ndarray, got {subtype!r}")
    if tuple(shape) != (0,):  # numpy always writes an empty start; BUILD brings the data
        raise pickle.UnpicklingError(f"_reconstruct with shape {shape!r} instead of numpy's (0,)")
    return _CheckedArrayState(_reconstruct(np.ndarray, shape, typecode))


class _CheckedArrayState:
    """Receives the array's ``BUILD`` state, checks its dtype, then fills the array.

    :func:`safe_loads` swaps every wrapper for its filled array once loading ends.
    """

    def __init__(self, array: np.ndarray):
        self.array = array

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("malformed ndarray state")
        dtype = state[-3]
        if not isinstance(dtype, np.dtype):
            raise pickle.UnpicklingError("ndarray state without a numpy dtype")
        _numeric_dtype(dtype)
        self.array.__setstate__(state)


def _safe_frombuffer(buf, dtype, shape, order):
    dtype = _numeric_dtype(dtype)
    if order not in ("C", "F"):
        raise pickle.UnpicklingError(f"bad array order {order!r}")
    return np.frombuffer(memoryview(buf), dtype=dtype).reshape(shape, order=order).copy()


def _safe_codecs_encode(text, encoding="utf-8", errors="strict"):
    if encoding not in ("latin1", "latin-1") or errors != "strict" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode admitted for (str, 'latin1') only, got {encoding!r}")
    return text.encode("latin1")


ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _safe_dtype,
    ("numpy.core.numeric", "_frombuffer"): _safe_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _safe_frombuffer,
    ("_codecs", "encode"): _safe_codecs_encode,
}
"""``(module, name)`` -> the checked stand-in handed to the pickle instead of the real global."""


class _RefusedGlobal(pickle.UnpicklingError):
    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.qualname = f"{module}.{name}"


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _RefusedGlobal(module, name) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed")


def _unwrap(obj):
    """Replace every :class:`_CheckedArrayState` left in containers by its array."""
    if isinstance(obj, _CheckedArrayState):
        return obj.array
    if isinstance(obj, dict):
        return {_unwrap(k): _unwrap(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unwrap(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_unwrap(v) for v in obj)
    return obj


def safe_loads(data: bytes, *, source: str = "<bytes>", encoding: str = "bytes"):
    """Unpickle ``data`` (e.g. one CIFAR-10 batch) with :class:`RestrictedUnpickler`.

    ``encoding="bytes"`` reads Python-2 byte strings as ``bytes`` (keys like
    ``b"data"``), as the official CIFAR-10 page recommends. Raises
    :class:`DataError` naming ``source`` and the cause on any refused global or
    malformed pickle; nothing named in the pickle outside the allow-list is ever
    imported or called.
    """
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()
    except _RefusedGlobal as exc:
        raise DataError(
            f"{source} asks to run {exc.qualname}, which a data batch never needs; refused and "
            "nothing was executed. The file is tampered with or not a CIFAR-10 batch: delete it "
            "and download the archive again from the official site."
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError, OverflowError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{source} is not a valid CIFAR-10 batch pickle ({type(exc).__name__}: {exc}); "
            "the archive is corrupt or truncated: delete it and download it again."
        ) from None
    return _unwrap(obj)
