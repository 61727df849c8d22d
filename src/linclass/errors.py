"""Errors a user can cause. Every message names the cause and the fix.

All derive from :class:`LinclassError`, so ``except LinclassError`` catches
anything the library raises on bad input; each subclass also derives from the
built-in exception a Python user would expect (``ValueError``, ``OSError``...).
"""


class LinclassError(Exception):
    """Base class of every error caused by input, files or settings."""


class InputError(LinclassError, ValueError):
    """Arrays of the wrong shape, dtype or values (NaN, inf, empty batch)."""


class LabelError(InputError):
    """Labels of the wrong type or outside ``[0, C)``."""


class ParameterError(LinclassError, ValueError):
    """A hyperparameter or option out of its range."""


class DivergenceError(LinclassError, FloatingPointError):
    """Training produced a non-finite or exploding loss."""


class ModelFileError(LinclassError, OSError):
    """A model file that is truncated, tampered with, or not linclass's."""


class DataError(LinclassError, OSError):
    """A data set that is missing, corrupt, or fails its checksum."""


class OutputError(LinclassError, OSError):
    """An output folder that cannot be written, or that another run is using."""
