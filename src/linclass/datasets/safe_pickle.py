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
``numpy.dtype``                                a checked spec of a bool, integer or float type
                                               (object / structured refused); its one BUILD
                                               may set only the byte order
``numpy._core.numeric._frombuffer``            protocol-5 pickles written by numpy 2, same
``numpy.core.numeric._frombuffer``             dtype rule
``_codecs.encode``                             ``encode(text, "latin1")`` only: how Python 3
                                               writes ``bytes`` at protocol <= 2
=============================================  ==============================================

Everything else (``os.system``, ``builtins.eval``, ``subprocess.Popen``,
``builtins.getattr``...) raises :class:`~linclass.errors.DataError` naming the
file and the global before anything is called. The official batches hold only
dicts, lists, ints, byte strings and one ``uint8`` array of shape (N, 3072).

Bounds: every stand-in refuses ``BUILD`` except the array (once) and the dtype
(once, byte order only), so a pickle cannot change them; unwrapping visits
each shared object once (a pickle that references one list twice at each of
40 levels stays linear); hashing the dict keys and set members is charged to
:data:`HASH_BUDGET` before it happens (a tuple that holds one tuple twice at
each of 40 levels, as a key, would take 2**40 steps to hash); nesting beyond
:data:`MAX_DEPTH` and integers beyond 64 bits are refused. Every failure is one
:class:`~linclass.errors.DataError`. The unpickler is Python's own pure-Python one
(``pickle._Unpickler``), whose opcodes can be checked before they run.
"""

from __future__ import annotations

import io
import pickle

import numpy as np

from ..errors import DataError

_reconstruct = np.ndarray.__reduce__(np.zeros(0))[0]
"""numpy's own ``_reconstruct``, found without naming its (version-dependent) module."""

_NUMERIC_KINDS = "biuf"
MAX_DEPTH = 64
"""Deepest nesting of containers accepted (a CIFAR-10 batch nests 2 deep)."""
_INT64 = (-(1 << 63), 1 << 63)
HASH_BUDGET = 1 << 16
"""Elements that hashing every dict key and set member of one pickle may visit (a tuple or frozenset counts
its elements, recursively; shared ones each time, as hashing does). A CIFAR-10 batch's keys are 4 byte strings."""


class _Refusing:
    """Base of every object the unpickler hands out: ``BUILD`` on it is refused unless the class allows it."""

    def __setstate__(self, state):
        raise pickle.UnpicklingError(f"BUILD on {self!r} is not allowed")


class _NdarrayToken(_Refusing):
    """Stands in for ``numpy.ndarray`` inside a pickle; refuses to be called or built."""

    def __repr__(self) -> str:
        return "numpy.ndarray (token)"


_NDARRAY = _NdarrayToken()


class _Admitted(_Refusing):
    """A checked callable standing in for an allowed global; ``BUILD`` cannot change it."""

    def __init__(self, function):
        self._function = function

    def __call__(self, *args):
        return self._function(*args)

    def __repr__(self) -> str:
        return f"{self._function.__name__} (checked)"


def _numeric_dtype(dt) -> np.dtype:
    dt = np.dtype(dt)
    if (dt.kind not in _NUMERIC_KINDS or dt.hasobject or dt.fields is not None
            or dt.subdtype is not None):
        raise pickle.UnpicklingError(f"array dtype {dt!r} is not a plain bool / integer / float type")
    return dt


class _DtypeSpec(_Refusing):
    """``numpy.dtype(spec, align, copy)`` as the pickle asks for it, plus numpy's one ``BUILD`` state.

    Only the byte order is taken from the state (a numeric dtype has no fields,
    sub-array or names), and only once; the checked dtype is replaced, never
    changed, so nothing can alter a dtype already in use.
    """

    def __init__(self, spec, align=False, copy=False):
        if isinstance(spec, bytes):
            spec = spec.decode("ascii")
        if not isinstance(spec, str):
            raise pickle.UnpicklingError(f"dtype spec must be a string, got {type(spec).__name__}")
        self.dtype = _numeric_dtype(np.dtype(spec))
        self.built = False

    def __setstate__(self, state):
        if self.built:
            raise pickle.UnpicklingError("a dtype was built twice")
        bad = "dtype state is not that of a plain numeric type"
        if not isinstance(state, tuple) or len(state) not in (8, 9):
            raise pickle.UnpicklingError(bad)
        order = state[1].decode("latin1") if isinstance(state[1], bytes) else state[1]  # Python 2: bytes
        if (state[0] not in (3, 4) or order not in ("<", ">", "|", "=")
                or any(v is not None for v in state[2:5]) or state[5:7] != (-1, -1)):
            raise pickle.UnpicklingError(bad)
        self.built = True
        if order in "<>":
            self.dtype = self.dtype.newbyteorder(order)

    def __repr__(self) -> str:
        return f"dtype {self.dtype} (checked)"


def _dtype_of(value) -> np.dtype:
    if isinstance(value, _DtypeSpec):
        return value.dtype
    raise pickle.UnpicklingError(f"expected a numpy dtype, got {type(value).__name__}")


class _CheckedArray(_Refusing):
    """An array being rebuilt: ``_reconstruct`` makes it empty, one ``BUILD`` fills it (dtype checked).

    :func:`safe_loads` swaps every wrapper for its array once loading ends.
    """

    def __init__(self, array: np.ndarray, filled: bool):
        self.array, self.filled = array, filled

    def __setstate__(self, state):
        if self.filled:
            raise pickle.UnpicklingError("an array was built twice")
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("malformed ndarray state")
        shape, dtype, fortran, data = state[-4:]
        if not isinstance(data, (bytes, bytearray, str)):
            raise pickle.UnpicklingError(f"ndarray data must be bytes, got {type(data).__name__}")
        self.array.__setstate__((*state[:-3], _dtype_of(dtype), bool(fortran), data))
        self.filled = True

    def __repr__(self) -> str:
        return "numpy array (checked)"


def _safe_reconstruct(subtype, shape, typecode):
    """``_reconstruct`` for plain ``numpy.ndarray`` only; its dtype is checked when BUILD sets it."""
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError(f"_reconstruct may only build numpy.ndarray, got {subtype!r}")
    if not isinstance(shape, tuple) or shape != (0,):  # numpy writes an empty start; BUILD brings the data
        raise pickle.UnpicklingError(f"_reconstruct with shape {shape!r} instead of numpy's (0,)")
    if not isinstance(typecode, (bytes, str)) or len(typecode) != 1:
        raise pickle.UnpicklingError(f"_reconstruct with typecode {typecode!r}")
    return _CheckedArray(_reconstruct(np.ndarray, (0,), typecode), filled=False)


def _safe_frombuffer(buf, dtype, shape, order):
    dtype = _dtype_of(dtype)
    if not isinstance(buf, (bytes, bytearray)):
        raise pickle.UnpicklingError(f"array buffer must be bytes, got {type(buf).__name__}")
    if order not in ("C", "F") or not isinstance(shape, tuple):
        raise pickle.UnpicklingError(f"bad array order {order!r} or shape {shape!r}")
    array = np.frombuffer(memoryview(buf), dtype=dtype).reshape(shape, order=order).copy(order="K")
    return _CheckedArray(array, filled=True)


def _safe_codecs_encode(text, encoding="utf-8", errors="strict"):
    if encoding not in ("latin1", "latin-1") or errors != "strict" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode admitted for (str, 'latin1') only, got {encoding!r}")
    return text.encode("latin1")


_RECONSTRUCT, _DTYPE, _FROMBUFFER = _Admitted(_safe_reconstruct), _Admitted(_DtypeSpec), _Admitted(_safe_frombuffer)
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DTYPE,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("_codecs", "encode"): _Admitted(_safe_codecs_encode),
}
"""``(module, name)`` -> the checked stand-in handed to the pickle instead of the real global."""


class _RefusedGlobal(pickle.UnpicklingError):
    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.qualname = f"{module}.{name}"


def _hash_cost(obj, budget: int) -> int:
    """How many objects hashing ``obj`` visits (tuples and frozensets are walked), counted up to ``budget + 1``."""
    count, stack = 0, [obj]
    while stack and count <= budget:
        item = stack.pop()
        count += 1
        if type(item) in (tuple, frozenset):
            stack.extend(item)
    return count


class RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python ``pickle`` unpickler whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`, and whose
    opcodes that hash (``SETITEM(S)``, ``DICT``, ``ADDITEMS``, ``FROZENSET``) are charged to :data:`HASH_BUDGET`
    first."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, *, encoding: str = "bytes"):
        super().__init__(file, encoding=encoding)
        self._hash_left = HASH_BUDGET

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _RefusedGlobal(module, name) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed")

    def _charge(self, keys) -> None:
        for key in keys:
            self._hash_left -= _hash_cost(key, self._hash_left)
            if self._hash_left < 0:
                raise pickle.UnpicklingError(f"dict keys or set members nest tuples too deeply to hash (more than "
                                             f"{HASH_BUDGET:,} elements in all)")

    def _hashing(opcode: bytes, keys):  # noqa: N805 - a decorator factory used in the class body
        base = pickle._Unpickler.dispatch[opcode[0]]

        def load(self):
            self._charge(keys(self))
            base(self)
        return load

    dispatch[pickle.SETITEM[0]] = _hashing(pickle.SETITEM, lambda self: self.stack[-2:-1])
    dispatch[pickle.SETITEMS[0]] = _hashing(pickle.SETITEMS, lambda self: self.stack[0::2])  # after the mark
    dispatch[pickle.DICT[0]] = _hashing(pickle.DICT, lambda self: self.stack[0::2])
    dispatch[pickle.ADDITEMS[0]] = _hashing(pickle.ADDITEMS, lambda self: self.stack)
    dispatch[pickle.FROZENSET[0]] = _hashing(pickle.FROZENSET, lambda self: self.stack)
    del _hashing


def _unwrap(obj, memo: dict, depth: int = 0):
    """``obj`` with every checked wrapper replaced by its array; each shared object is visited once.

    Only plain data passes: dicts, lists, tuples, sets of str / bytes / int (within
    int64) / float / bool / None and filled numeric arrays. Raises UnpicklingError
    on anything else, and beyond :data:`MAX_DEPTH` levels of nesting.
    """
    if obj is None or isinstance(obj, (bool, float, str, bytes)):
        return obj
    if type(obj) is int:
        if not _INT64[0] <= obj < _INT64[1]:
            raise pickle.UnpicklingError("an integer does not fit in 64 bits")
        return obj
    key = id(obj)
    if key in memo:
        return memo[key]
    if depth >= MAX_DEPTH:
        raise pickle.UnpicklingError(f"containers nested more than {MAX_DEPTH} levels deep")
    if isinstance(obj, _CheckedArray):
        if not obj.filled:
            raise pickle.UnpicklingError("an array was never filled")
        out = obj.array
    elif type(obj) is dict:
        out = {_unwrap(k, memo, depth + 1): _unwrap(v, memo, depth + 1) for k, v in obj.items()}
    elif type(obj) is list:
        out = [_unwrap(v, memo, depth + 1) for v in obj]
    elif type(obj) in (tuple, set, frozenset, bytearray):
        out = obj if type(obj) is bytearray else type(obj)(_unwrap(v, memo, depth + 1) for v in obj)
    else:
        raise pickle.UnpicklingError(f"{obj!r} is not plain data")
    memo[key] = out
    return out


def safe_loads(data: bytes, *, source: str = "<bytes>", encoding: str = "bytes"):
    """Unpickle ``data`` (e.g. one CIFAR-10 batch) with :class:`RestrictedUnpickler`.

    ``encoding="bytes"`` reads Python-2 byte strings as ``bytes`` (keys like
    ``b"data"``), as the official CIFAR-10 page recommends. Raises
    :class:`DataError` naming ``source`` and the cause on any refused global,
    malformed pickle, unknown opcode, nesting beyond :data:`MAX_DEPTH`, integer
    beyond 64 bits or non-numeric array; nothing named in the pickle outside the
    allow-list is ever imported or called. Time is linear in the pickle's size.
    """
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()
        return _unwrap(obj, {})
    except _RefusedGlobal as exc:
        name = exc.qualname if exc.qualname.isprintable() else repr(exc.qualname)  # one line, whatever it names
        raise DataError(
            f"{source} asks to run {name}, which a data batch never needs; refused and "
            "nothing was executed. The file is tampered with or not a CIFAR-10 batch: delete it "
            "and download the archive again from the official site."
        ) from None
    except Exception as exc:  # noqa: BLE001 - any failure of a hostile pickle is a bad file
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        raise DataError(
            f"{source} is not a valid CIFAR-10 batch pickle ({reason}); "
            "the archive is corrupt or truncated: delete it and download it again."
        ) from None
