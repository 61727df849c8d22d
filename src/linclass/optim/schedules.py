"""Learning-rate schedules: callables ``step -> lr``.

A schedule is accepted wherever a learning rate is (optax's convention): the
optimizers of :mod:`linclass.optim.gradient` call ``schedule(t)`` with the
number ``t = 0, 1, 2, ...`` of updates made before the current one, so
``schedule(0)`` is the rate of the first update. Each schedule is a small frozen
dataclass: it prints its settings, compares equal by value and pickles.

=================  ==========================================================
``constant``       ``α_t = α``
``step_decay``     ``α_t = α · factor^⌊t / every⌋`` (a staircase)
``exponential``    ``α_t = α · rate^(t / every)`` (smooth)
``cosine``         ``α_t = α_end + ½ (1 + cos(π t / T)) (α − α_end)``, ``α_end`` after T
``warmup``         ``α (t + 1) / (W + 1)`` for ``t < W``, then ``base(t − W)``
=================  ==========================================================

>>> s = warmup(cosine(0.1, total_steps=100), warmup_steps=10)
>>> [round(s(t), 4) for t in (0, 9, 10, 60, 110)]
[0.0091, 0.0909, 0.1, 0.05, 0.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

from .. import _checks
from ..errors import ParameterError

Schedule = Callable[[int], float]
LearningRate = Union[float, Schedule]


def _step(step) -> int:
    return _checks.integer(step, "a schedule's step", 0, hint="; count updates from 0")


def _rate(lr, name: str = "learning_rate") -> float:
    return _checks.number(lr, name, low=0, low_open=True,
                          hint="; pass a number (typical values are 1e-4 ... 1e-1) or a schedule (step -> lr)")


def _factor(value, name: str) -> float:
    return _checks.number(value, name, low=0, low_open=True, high=1, hint=" (the rate only decays)")


@dataclass(frozen=True)
class Constant:
    """``α_t = α`` for every step."""

    lr: float

    def __post_init__(self):
        object.__setattr__(self, "lr", _rate(self.lr, "lr"))

    def __call__(self, step: int) -> float:
        _step(step)
        return self.lr  # the same rate at every step


@dataclass(frozen=True)
class StepDecay:
    """``α_t = α · factor^⌊t / every⌋``: the rate is multiplied by ``factor`` every ``every`` steps.

    >>> [step_decay(0.1, every=10)(t) for t in (0, 9, 10, 25)]
    [0.1, 0.1, 0.05, 0.025]
    """

    lr: float
    every: int
    factor: float = 0.5

    def __post_init__(self):
        object.__setattr__(self, "lr", _rate(self.lr, "lr"))
        object.__setattr__(self, "every", _checks.integer(self.every, "every", 1))
        object.__setattr__(self, "factor", _factor(self.factor, "factor"))

    def __call__(self, step: int) -> float:
        _step(step)
        return self.lr * self.factor ** (step // self.every)  # one more factor per finished block


@dataclass(frozen=True)
class Exponential:
    """``α_t = α · rate^(t / every)``, a smooth exponential decay.

    With ``every=1`` the rate is multiplied by ``rate`` at each step; with
    ``every`` = steps per epoch, ``rate`` is the factor per epoch, spread evenly
    over its steps (use :func:`step_decay` with ``factor=rate`` for the
    staircase that jumps once per epoch).

    >>> round(exponential(0.1, rate=0.5, every=100)(150), 6)
    0.035355
    """

    lr: float
    rate: float
    every: int = 1

    def __post_init__(self):
        object.__setattr__(self, "lr", _rate(self.lr, "lr"))
        object.__setattr__(self, "rate", _factor(self.rate, "rate"))
        object.__setattr__(self, "every", _checks.integer(self.every, "every", 1))

    def __call__(self, step: int) -> float:
        _step(step)
        return self.lr * self.rate ** (step / self.every)  # smooth decay, `rate` per `every` steps


@dataclass(frozen=True)
class Cosine:
    """``α_t = α_end + ½ (1 + cos(π t / T)) (α − α_end)`` for ``t ≤ T``, then ``α_end``.

    Starts at ``lr``, ends at ``final_lr`` after ``total_steps`` (T) steps
    (Loshchilov & Hutter, SGDR, without restarts).
    """

    lr: float
    total_steps: int
    final_lr: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "lr", _rate(self.lr, "lr"))
        object.__setattr__(self, "total_steps", _checks.integer(self.total_steps, "total_steps", 1))
        final_lr = float(self.final_lr)
        if not 0 <= final_lr <= self.lr:
            raise ParameterError(f"final_lr must be in [0, lr={self.lr}], got {final_lr}.")
        object.__setattr__(self, "final_lr", final_lr)

    def __call__(self, step: int) -> float:
        _step(step)
        if step >= self.total_steps:  # 1) after the decay: hold the final rate
            return self.final_lr
        coeff = 0.5 * (1.0 + math.cos(math.pi * step / self.total_steps))  # 2) cosine from 1 to 0
        return self.final_lr + coeff * (self.lr - self.final_lr)


@dataclass(frozen=True)
class Warmup:
    """Linear warm-up over ``warmup_steps`` (W) steps, then ``base`` shifted by W.

    ``α_t = base(0) · (t + 1) / (W + 1)`` for ``t < W`` (as nanoGPT's ``get_lr``:
    the first step is small but not wasted), then ``α_t = base(t − W)``: the
    base schedule starts when the warm-up ends. ``warmup_steps=0`` is ``base``.
    """

    base: Schedule
    warmup_steps: int

    def __post_init__(self):
        object.__setattr__(self, "base", as_schedule(self.base))
        object.__setattr__(self, "warmup_steps", _checks.integer(self.warmup_steps, "warmup_steps", 0))

    def __call__(self, step: int) -> float:
        _step(step)
        if step < self.warmup_steps:  # 1) linear warm-up towards the base schedule's first rate
            return float(self.base(0)) * (step + 1) / (self.warmup_steps + 1)
        return float(self.base(step - self.warmup_steps))  # 2) then the base schedule, restarted


constant = Constant
step_decay = StepDecay
exponential = Exponential
cosine = Cosine
warmup = Warmup


def as_schedule(lr: LearningRate) -> Schedule:
    """``lr`` as a schedule: a number becomes :func:`constant`; a callable is returned as is."""
    if callable(lr):
        return lr
    return Constant(_rate(lr))


def _parse_options(text: str, allowed: dict) -> dict:
    options = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in allowed:
            raise ParameterError(f"unknown schedule option {item!r}; options are "
                                 f"{', '.join(f'{k}=...' for k in allowed) or 'none'}.")
        try:
            options[key] = allowed[key](value)
        except ValueError:
            raise ParameterError(f"schedule option {key} needs a number, got {value!r}.") from None
    return options


SCHEDULES = ("constant", "step", "exponential", "cosine")
"""Base names :func:`parse_schedule` accepts; each may take the suffix ``+warmup``."""


def parse_schedule(spec: str, lr: float, total_steps: int) -> Schedule:
    """A schedule from a command-line spec ``NAME[+warmup][:key=value,...]``.

    ``lr`` is the peak rate, ``total_steps`` the number of updates of the run.

    =======================  ==================================================
    ``constant``             ``lr`` throughout
    ``step``                 halve every ``every`` steps: ``every`` (default
                             ``total_steps // 3``), ``factor`` (default 0.5)
    ``exponential``          ``rate`` per step (default: the rate that ends at
                             1% of ``lr`` after ``total_steps``)
    ``cosine``               to ``final`` (default 0) at ``total_steps``
    ``NAME+warmup``          NAME after a linear warm-up of ``warmup`` steps
                             (default 5% of ``total_steps``); NAME then runs
                             over the remaining steps
    =======================  ==================================================

    >>> parse_schedule("cosine+warmup:warmup=10,final=1e-4", 0.1, 110)
    Warmup(base=Cosine(lr=0.1, total_steps=100, final_lr=0.0001), warmup_steps=10)
    >>> parse_schedule("step:every=50", 0.1, 1000)
    StepDecay(lr=0.1, every=50, factor=0.5)
    """
    total_steps = _checks.integer(total_steps, "total_steps", 1)
    head, _, option_text = str(spec).strip().partition(":")
    name, plus, suffix = head.partition("+")
    if name not in SCHEDULES or (plus and suffix != "warmup"):
        raise ParameterError(f"unknown schedule {spec!r}; choose one of "
                             f"{', '.join(SCHEDULES)}, optionally with +warmup (e.g. cosine+warmup).")
    allowed = {"constant": {}, "step": {"every": int, "factor": float},
               "exponential": {"rate": float}, "cosine": {"final": float}}[name]
    if plus:
        allowed = {**allowed, "warmup": int}
    options = _parse_options(option_text, allowed)
    n_warmup = options.pop("warmup", max(1, total_steps // 20)) if plus else 0
    if n_warmup >= total_steps:
        raise ParameterError(f"warmup={n_warmup} leaves no steps of {total_steps} for the schedule; "
                             "use fewer warm-up steps or more steps in total.")
    steps = total_steps - n_warmup  # the base schedule runs after the warm-up
    if name == "constant":
        base = Constant(lr)
    elif name == "step":
        base = StepDecay(lr, options.get("every", max(1, steps // 3)), options.get("factor", 0.5))
    elif name == "exponential":
        base = Exponential(lr, options.get("rate", 0.01 ** (1 / steps)))
    else:
        base = Cosine(lr, steps, options.get("final", 0.0))
    return Warmup(base, n_warmup) if plus else base
