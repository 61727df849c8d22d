"""Linear probes on embedding files: ``linclass probe`` and :func:`fit` (see :mod:`linclass.probe.core`)."""

from ..rows.files import Rows, Split, open_split
from .core import BACKENDS, ProbeResult, accuracy, fit, parse_reg_path

__all__ = ["BACKENDS", "ProbeResult", "Rows", "Split", "accuracy", "fit", "open_split", "parse_reg_path"]
