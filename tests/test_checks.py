"""The validators of _checks: one function per kind of check, each message naming the cause and the fix."""

import math
import re

import numpy as np
import pytest

from linclass import _checks
from linclass.errors import InputError, ParameterError


@pytest.mark.parametrize("value, kwargs, ok", [
    (0.0, {"low": 0}, True), (0.0, {"low": 0, "low_open": True}, False),
    (1.0, {"low": 0, "high": 1}, True), (1.0, {"low": 0, "high": 1, "high_open": True}, False),
    (0.5, {"low": 0, "high": 1, "high_open": True}, True), (-1e-9, {"low": 0}, False),
    (math.inf, {}, False), (math.nan, {}, False), (True, {}, False), ("0.1", {}, False), (None, {}, False),
    (np.float32(0.25), {"low": 0}, True), (3, {"low": 0}, True),
])
def test_number_accepts_exactly_the_finite_reals_within_its_bounds(value, kwargs, ok):
    if ok:
        assert _checks.number(value, "x", **kwargs) == float(value)
    else:
        with pytest.raises(ParameterError, match="x must be a finite number"):
            _checks.number(value, "x", **kwargs)


def test_number_message_states_the_interval_with_its_open_and_closed_ends():
    with pytest.raises(ParameterError, match=r"mu must be a finite number in \[0, 1\), got 1.0; typical"):
        _checks.number(1.0, "mu", low=0, high=1, high_open=True, hint="; typical values are 0.9")
    with pytest.raises(ParameterError, match=r"rate must be a finite number in \(0, 1\], got 0"):
        _checks.number(0, "rate", low=0, low_open=True, high=1)


@pytest.mark.parametrize("value, minimum, ok", [
    (1, 1, True), (0, 1, False), (0, 0, True), (np.int64(5), 1, True), (True, 0, False), (2.0, 1, False),
    ("3", 1, False),
])
def test_integer_refuses_bools_floats_and_values_below_the_minimum(value, minimum, ok):
    if ok:
        assert _checks.integer(value, "n", minimum) == int(value)
    else:
        with pytest.raises(ParameterError, match=f"n must be an integer >= {minimum}"):
            _checks.integer(value, "n", minimum)


def test_choice_lists_the_choices_and_suggests_the_closest():
    assert _checks.choice("l1", "metric", ("l2", "l1")) == "l1"
    suggestion = r"unknown optimizer 'adma'; choose one of sgd, adam \(did you mean 'adam'\?\)"
    with pytest.raises(ParameterError, match=suggestion):
        _checks.choice("adma", "optimizer", ["sgd", "adam"])
    with pytest.raises(ParameterError, match=r"choose one of sgd, adam\.$"):
        _checks.choice("zzz", "optimizer", ["sgd", "adam"])
    with pytest.raises(ParameterError, match="unknown metric"):
        _checks.choice(["l2"], "metric", ("l2", "l1"))  # unhashable: simply unknown


def test_seed_takes_ints_generators_and_none():
    assert _checks.seed(7) == 7 and _checks.seed(np.int32(3)) == 3
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    assert _checks.seed(a) == int(b.integers(2**32))
    assert isinstance(_checks.seed(None), int)
    for bad in (-1, 1.5, True, "0"):
        with pytest.raises(ParameterError, match=r"random_state must be None or an integer in \[0, "):
            _checks.seed(bad, "random_state")


def test_derived_and_child_seeds_match_numpy_seed_sequences():
    assert _checks.derived_seed(4, 2) == int(np.random.SeedSequence([4, 2]).generate_state(1)[0])
    ref = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence([9, 1]).spawn(3)]
    assert _checks.child_seeds(9, 1, n=3) == ref and len(set(ref)) == 3


def test_images_and_param_dicts():
    with pytest.raises(InputError, match="uint8"):
        _checks.images(np.zeros((1, 4, 4, 3)))
    with pytest.raises(InputError, match="at least 8x8"):
        _checks.images(np.zeros((1, 4, 4, 3), np.uint8), (8, 8))
    with pytest.raises(InputError, match="float numpy array"):
        _checks.param_dict({"W": np.zeros(3, int)})
    with pytest.raises(InputError, match="keys of the parameters"):
        _checks.same_keys({"W": 0}, {"W": 0, "b": 0})
    assert _checks.log_range((1e-3, 1e-1), "lr") == (1e-3, 1e-1)
    with pytest.raises(ParameterError, match="0 < low <= high"):
        _checks.log_range((0, 1), "lr")


@pytest.mark.parametrize("shape", [(0, 3), (3,), (3, 0), (2, 3, 4)])
def test_row_matrix_refuses_what_is_not_n_rows_of_d(shape):
    with pytest.raises(InputError, match=r"non-empty \(N, D\) matrix.*" + re.escape(str(shape))):
        _checks.row_matrix(np.zeros(shape))


def test_row_matrix_reads_only_the_shape():
    class Rows:  # a row source: a shape, and no data to read
        shape = (5, 2)

    assert _checks.row_matrix(Rows()) == (5, 2)


@pytest.mark.parametrize("value", [-1e-3, float("nan"), None, True])
def test_reg_strength_is_a_finite_number_at_least_zero(value):
    with pytest.raises(ParameterError, match="reg_strength"):
        _checks.reg_strength(value)


@pytest.mark.parametrize("dtype, expected", [("float32", np.float32), (np.float64, np.float64)])
def test_precision_takes_the_two_float_types(dtype, expected):
    assert _checks.precision(dtype) == np.dtype(expected)
    with pytest.raises(ParameterError, match="float32 or float64"):
        _checks.precision("int8")


def test_a_seed_beyond_what_numpy_and_scikit_learn_take_is_refused():
    assert _checks.seed(_checks.MAX_SEED) == 2**32 - 1
    with pytest.raises(ParameterError, match=r"\[0, 4294967295\]"):
        _checks.seed(2**32)
