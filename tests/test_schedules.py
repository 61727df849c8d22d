"""Learning-rate schedules: values from their formulas, warm-up, the command-line spec."""

import math
import pickle

import pytest

from linclass import ParameterError
from linclass.optim import (
    Constant,
    Cosine,
    Exponential,
    StepDecay,
    Warmup,
    as_schedule,
    constant,
    cosine,
    exponential,
    parse_schedule,
    step_decay,
    warmup,
)

VALUES = [  # (schedule, step, value from the formula)
    (constant(0.3), 0, 0.3),
    (constant(0.3), 10_000, 0.3),
    (step_decay(0.1, every=10), 9, 0.1),
    (step_decay(0.1, every=10), 10, 0.05),
    (step_decay(0.1, every=10, factor=0.1), 35, 0.1 * 0.1 ** 3),
    (exponential(0.1, rate=0.99), 0, 0.1),
    (exponential(0.1, rate=0.99), 7, 0.1 * 0.99 ** 7),
    (exponential(0.1, rate=0.5, every=100), 250, 0.1 * 0.5 ** 2.5),
    (cosine(0.1, total_steps=100), 0, 0.1),
    (cosine(0.1, total_steps=100), 25, 0.05 * (1 + math.cos(math.pi / 4))),
    (cosine(0.1, total_steps=100), 50, 0.05),
    (cosine(0.1, total_steps=100, final_lr=0.01), 50, 0.01 + 0.5 * 0.09),
    (cosine(0.1, total_steps=100, final_lr=0.01), 100, 0.01),
    (cosine(0.1, total_steps=100, final_lr=0.01), 500, 0.01),
    (warmup(0.2, warmup_steps=4), 0, 0.2 / 5),
    (warmup(0.2, warmup_steps=4), 3, 0.2 * 4 / 5),
    (warmup(0.2, warmup_steps=4), 4, 0.2),
    (warmup(cosine(0.2, 10), warmup_steps=4), 9, 0.1 * (1 + math.cos(math.pi * 5 / 10))),
    (warmup(step_decay(0.2, every=3), warmup_steps=0), 3, 0.1),
]


@pytest.mark.parametrize("schedule, step, expected", VALUES,
                         ids=[f"{type(s).__name__}-{t}" for s, t, _ in VALUES])
def test_schedule_value_follows_its_formula(schedule, step, expected):
    assert schedule(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert isinstance(schedule(step), float)


@pytest.mark.parametrize("base", [0.1, cosine(0.1, 1000), exponential(0.1, 0.999)],
                         ids=["constant", "cosine", "exponential"])
@pytest.mark.parametrize("n_warmup", [1, 10, 100])
def test_warmup_starts_near_zero_and_climbs_linearly_to_the_rate(base, n_warmup):
    s = warmup(base, n_warmup)
    rates = [s(t) for t in range(n_warmup + 1)]
    assert rates[0] <= 0.1 / (n_warmup + 1) + 1e-15
    assert all(b > a for a, b in zip(rates, rates[1:]))
    steps = [b - a for a, b in zip(rates, rates[1:-1])]
    assert steps == pytest.approx([0.1 / (n_warmup + 1)] * len(steps))
    assert rates[-1] == pytest.approx(0.1)


def test_cosine_decreases_monotonically_to_the_final_rate():
    s = cosine(1.0, total_steps=50, final_lr=0.1)
    rates = [s(t) for t in range(60)]
    assert all(b <= a for a, b in zip(rates, rates[1:]))
    assert rates[50:] == [0.1] * 10


SPECS = [  # (spec, lr, total_steps, the schedule written out)
    ("constant", 0.1, 100, Constant(0.1)),
    ("step", 0.1, 300, StepDecay(0.1, 100, 0.5)),
    ("step:every=7,factor=0.25", 0.1, 300, StepDecay(0.1, 7, 0.25)),
    ("exponential:rate=0.9", 0.1, 300, Exponential(0.1, 0.9)),
    ("cosine", 0.1, 300, Cosine(0.1, 300)),
    ("cosine:final=0.001", 0.1, 300, Cosine(0.1, 300, 0.001)),
    ("cosine+warmup", 0.1, 400, Warmup(Cosine(0.1, 380), 20)),
    ("cosine+warmup:warmup=50,final=0.01", 0.1, 400, Warmup(Cosine(0.1, 350, 0.01), 50)),
    ("constant+warmup:warmup=5", 0.1, 400, Warmup(Constant(0.1), 5)),
]


@pytest.mark.parametrize("spec, lr, total, expected", SPECS, ids=[s[0] for s in SPECS])
def test_parse_schedule_builds_the_documented_schedule(spec, lr, total, expected):
    s = parse_schedule(spec, lr, total)
    assert s == expected
    assert [s(t) for t in (0, total // 2, total)] == [expected(t) for t in (0, total // 2, total)]


def test_parsed_exponential_ends_at_one_percent_of_the_rate():
    assert parse_schedule("exponential", 0.5, 1000)(1000) == pytest.approx(0.005)


def test_parsed_cosine_with_warmup_peaks_after_warmup_and_ends_at_zero():
    s = parse_schedule("cosine+warmup:warmup=10", 0.1, 110)
    assert s(0) < 0.01 and s(10) == 0.1 and s(110) == pytest.approx(0.0, abs=1e-15)
    assert max(s(t) for t in range(111)) == 0.1


@pytest.mark.parametrize("spec, match", [
    ("linear", "unknown schedule"),
    ("cosine+restarts", "unknown schedule"),
    ("step:gamma=0.5", "unknown schedule option"),
    ("cosine:final=abc", "needs a number"),
    ("constant:warmup=3", "unknown schedule option"),
    ("cosine+warmup:warmup=100", "warmup=100"),
])
def test_parse_schedule_rejects_bad_specs_naming_the_choices(spec, match):
    with pytest.raises(ParameterError, match=match):
        parse_schedule(spec, 0.1, 100)


BAD = [
    (constant, (0.0,)),
    (constant, (float("inf"),)),
    (step_decay, (0.1, 0)),
    (step_decay, (0.1, 10, 1.5)),
    (exponential, (0.1, 0.0)),
    (exponential, (0.1, 1.01)),
    (cosine, (0.1, 0)),
    (cosine, (0.1, 10, 0.2)),
    (warmup, (0.1, -1)),
    (warmup, (-0.1, 5)),
]


@pytest.mark.parametrize("factory, args", BAD, ids=[f"{f.__name__}-{a}" for f, a in BAD])
def test_bad_schedule_settings_raise_parameter_error(factory, args):
    with pytest.raises(ParameterError):
        factory(*args)


def test_negative_step_raises():
    with pytest.raises(ParameterError, match="step"):
        cosine(0.1, 10)(-1)


def test_as_schedule_wraps_numbers_and_keeps_callables():
    assert as_schedule(0.25)(123) == 0.25
    s = cosine(0.1, 10)
    assert as_schedule(s) is s
    with pytest.raises(ParameterError, match="learning_rate"):
        as_schedule("0.1x")


@pytest.mark.parametrize("schedule", [constant(0.1), step_decay(0.1, 5), exponential(0.1, 0.9),
                                      cosine(0.1, 10), warmup(cosine(0.1, 10), 3)],
                         ids=lambda s: type(s).__name__)
def test_schedules_pickle(schedule):
    again = pickle.loads(pickle.dumps(schedule))
    assert again == schedule and [again(t) for t in range(15)] == [schedule(t) for t in range(15)]
