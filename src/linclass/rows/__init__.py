"""Rows: where a design matrix's rows come from (arrays, memory maps, embedding files), and how they are read.

:mod:`.source` is the row-source protocol (spans, read, release, page release, the standardizer's
statistics, one accuracy); :mod:`.files` opens embedding files (``X.npy``/shards/``.npz``) as row
sources; :mod:`.batches` cuts a row source into the training loop's shuffled minibatches.
"""

from .batches import Blocks, Permuted, batch_source, steps_per_epoch
from .files import Rows, Split, open_split
from .labeled import Labeled
from .source import Standardized, accuracy, feature_stats, read_rows, release_rows, spans, streamed

__all__ = ["Blocks", "Labeled", "Permuted", "Rows", "Split", "Standardized", "accuracy", "batch_source",
           "feature_stats", "open_split", "read_rows", "release_rows", "spans", "steps_per_epoch", "streamed"]
