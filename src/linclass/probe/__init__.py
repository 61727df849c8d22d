"""Linear probes on embedding files: ``linclass probe`` and :func:`fit` (see :mod:`linclass.probe.core`)."""

from ..rows.files import Rows, Split, open_split
from ..rows.source import accuracy
from .core import BACKENDS, SELECT_BY, ProbeResult, fit, parse_reg_path

__all__ = ["BACKENDS", "SELECT_BY", "ProbeResult", "Rows", "Split", "accuracy", "fit", "open_split", "parse_reg_path"]
