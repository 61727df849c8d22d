"""Hostile pickles against the restricted unpickler: bounded time, one DataError each, nothing changed."""

from __future__ import annotations

import pickle
import signal
import struct
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linclass.datasets import safe_pickle
from linclass.datasets.safe_pickle import MAX_DEPTH, safe_loads
from linclass.errors import DataError


@contextmanager
def at_most(seconds: int):
    """Fail (instead of hanging) when the block runs longer than ``seconds``: the issue's bound for bombs."""
    def expire(*_):
        raise AssertionError(f"took more than {seconds} s")
    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def shared_bomb(depth: int, container=list):
    """One container holding the previous level twice, ``depth`` times: 2**depth paths, ~5·depth bytes."""
    obj = container()
    for _ in range(depth):
        obj = container([obj, obj]) if container is not dict else {"a": obj, "b": obj}
    return obj


@pytest.mark.parametrize("container", [list, tuple, dict])
def test_shared_reference_bomb_loads_in_linear_time(container):
    blob = pickle.dumps(shared_bomb(39, container), protocol=2)
    assert len(blob) < 600
    with at_most(5):
        out = safe_loads(blob, source="bomb.pkl")
    # the structure is the same as plain pickle's, and sharing is kept
    level = out
    for _ in range(39):
        first, second = (level["a"], level["b"]) if container is dict else level
        assert first is second
        level = first
    assert level == container()


def hashed_dag_pickle(depth: int, container: str) -> bytes:
    """A dict key / set member t_depth with t_k = (t_{k-1}, t_{k-1}): 2**depth leaves in ~17·depth bytes, written
    opcode by opcode (building it in Python would hash it)."""
    out = b"\x80\x04" + b")r\x00\x00\x00\x000"  # EMPTY_TUPLE, LONG_BINPUT 0, POP
    for k in range(depth):
        get = b"j" + k.to_bytes(4, "little")
        out += get + get + b"\x86r" + (k + 1).to_bytes(4, "little") + b"0"  # TUPLE2, LONG_BINPUT k+1, POP
    key = b"j" + depth.to_bytes(4, "little")
    return out + {"dict": b"}" + key + b"Ns", "dict-items": b"}(" + key + b"Nu", "dict-mark": b"(" + key + b"Nd",
                  "set": b"\x8f(" + key + b"\x90", "frozenset": b"(" + key + b"\x91"}[container] + b"."


@pytest.mark.parametrize("container", ["dict", "dict-items", "dict-mark", "set", "frozenset"])
def test_a_tuple_dag_as_dict_key_or_set_member_is_refused_in_bounded_time(container):
    blob = hashed_dag_pickle(26, container)  # 2**26 leaves to hash: seconds before, and 40 levels never end
    assert len(blob) < 500
    with at_most(2), pytest.raises(DataError, match="too deeply to hash"):
        safe_loads(blob, source="dag.pkl")
    small = safe_loads(hashed_dag_pickle(3, container))  # a small tuple key is data like any other
    key = ((((), ()), ((), ())), (((), ()), ((), ())))
    assert small == ({key: None} if container.startswith("dict") else {key} if container == "set"
                     else frozenset([key]))


def deep_list_pickle(depth: int) -> bytes:
    """``[[[...]]]`` ``depth`` deep, written opcode by opcode (pickle.dumps itself would recurse)."""
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


def test_deeply_nested_list_is_one_data_error():
    with at_most(5), pytest.raises(DataError, match=rf"deep\.pkl.*more than {MAX_DEPTH} levels"):
        safe_loads(deep_list_pickle(200_000), source="deep.pkl")
    assert safe_loads(deep_list_pickle(MAX_DEPTH - 1), source="ok.pkl") is not None


def test_integer_beyond_64_bits_is_refused():
    with pytest.raises(DataError, match=r"labels\.pkl.*64 bits"):
        safe_loads(pickle.dumps({b"labels": [1, 2**70]}), source="labels.pkl")
    assert safe_loads(pickle.dumps({b"labels": [2**63 - 1, -2**63]}))[b"labels"] == [2**63 - 1, -2**63]


@pytest.mark.parametrize("blob", [b"\x80\x02\xff.", b"\x80\x02", b"", b"\x80\x09N."],
                         ids=["unknown-opcode", "truncated", "empty", "future-protocol"])
def test_malformed_pickles_are_one_data_error(blob):
    with pytest.raises(DataError, match=r"^batch\.pkl is not a valid") as info:
        safe_loads(blob, source="batch.pkl")
    assert "\n" not in str(info.value)


def build(global_name: bytes, state: bytes) -> bytes:
    """``GLOBAL`` followed by ``BUILD state``: what changes attributes of an unpickled object."""
    return b"\x80\x02c" + global_name + b"\n" + state + b"b."


def short_str(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


SLOT_STATE = b"N}" + short_str("__defaults__") + b")s\x86"  # (None, {"__defaults__": ()})


@pytest.mark.parametrize("target", [b"numpy\ndtype", b"numpy\nndarray", b"numpy.core.multiarray\n_reconstruct",
                                    b"numpy._core.numeric\n_frombuffer", b"_codecs\nencode"])
@pytest.mark.parametrize("state", [SLOT_STATE, b"}" + short_str("x") + b"Ns"], ids=["slots", "dict"])
def test_build_on_the_admitted_globals_is_refused(target, state):
    before = {k: (type(v), vars(v).copy() if hasattr(v, "__dict__") else None)
              for k, v in safe_pickle.ALLOWED_GLOBALS.items()}
    with pytest.raises(DataError, match="BUILD"):
        safe_loads(build(target, state), source="build.pkl")
    after = {k: (type(v), vars(v).copy() if hasattr(v, "__dict__") else None)
             for k, v in safe_pickle.ALLOWED_GLOBALS.items()}
    assert after == before
    # and arrays still load as plain pickle loads them
    rows = np.arange(6, dtype=">i4").reshape(2, 3)
    out = safe_loads(pickle.dumps(rows, protocol=2))
    np.testing.assert_array_equal(out, rows)
    assert out.dtype == pickle.loads(pickle.dumps(rows, protocol=2)).dtype


def test_an_array_cannot_be_built_twice():
    blob = bytearray(pickle.dumps(np.arange(3, dtype=np.uint8), protocol=2))
    assert blob.endswith(b"b.")
    state = pickle.dumps((1, (3,), np.dtype("O"), False, [1, 2, 3]), protocol=2)[2:-1]
    twice = bytes(blob[:-1]) + state + b"b."
    with pytest.raises(DataError, match="twice|dtype"):
        safe_loads(twice, source="twice.pkl")


def test_object_dtype_is_refused_in_every_protocol():
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(DataError, match="obj.pkl"):
            safe_loads(pickle.dumps(np.array([None, 1], dtype=object), protocol=protocol), source="obj.pkl")


VALID = [pickle.dumps({b"data": np.arange(12, dtype=np.uint8).reshape(2, 6), b"labels": [0, 1],
                       b"batch_label": b"x"}, protocol=p) for p in range(2, pickle.HIGHEST_PROTOCOL + 1)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
       st.integers(0, 10**6), st.binary(max_size=40))
def test_fuzz_mutated_pickles_load_or_raise_data_error(blob, flips, cut, tail):
    """Any mutation of a valid batch (bytes changed, cut short, extended) loads or is one DataError."""
    data = bytearray(blob)
    for pos, value in flips:
        data[pos % len(data)] = value
    data = bytes(data[: max(1, cut % (len(data) + 1))]) + tail
    try:
        out = safe_loads(data, source="fuzz.pkl")
    except DataError as err:
        assert "fuzz.pkl" in str(err) and "\n" not in str(err)
        return
    # what loads is plain data only
    stack = [out]
    while stack:
        obj = stack.pop()
        assert isinstance(obj, (dict, list, tuple, set, frozenset, bytes, bytearray, str, int, float,
                                type(None), np.ndarray))
        if isinstance(obj, np.ndarray):
            assert obj.dtype.kind in "biuf"
        elif isinstance(obj, dict):
            stack.extend([*obj.keys(), *obj.values()])
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_load_or_raise_data_error(data):
    try:
        safe_loads(b"\x80\x02" + data, source="fuzz.pkl")
    except DataError as err:
        assert "\n" not in str(err)


def test_a_refused_global_with_a_line_break_in_its_name_is_still_one_line():
    """Found by the fuzz test above: STACK_GLOBAL takes any string, line breaks included."""
    data = b"\x80\x04\x8c\x06\nposix\x8c\x06system\x93."
    with pytest.raises(DataError) as info:
        safe_loads(data, source="evil.pkl")
    assert "evil.pkl" in str(info.value) and "\n" not in str(info.value) and "posix" in str(info.value)
