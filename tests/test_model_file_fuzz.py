"""Property-based fuzz of the model-file loader: any byte mutation, or any re-sealed metadata edit,
loads a valid classifier or raises one ModelFileError; nothing else escapes."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linclass import persist
from linclass.classifier import Classifier
from linclass.errors import ModelFileError
from linclass.model import LinearModel
from linclass.preprocess import Preprocessor


def _valid_entries() -> dict:
    """The ``.npy`` entries of a small valid model file, written once by the real writer."""
    rng = np.random.default_rng(0)
    model = LinearModel(rng.standard_normal((12, 3)).astype(np.float32), np.zeros(3, np.float32))
    clf = Classifier(model, Preprocessor(rng.standard_normal(12).astype(np.float32), None), ["a", "b", "c"],
                     "softmax", (2, 2, 3), None, {"settings": {"lr": 0.1}})
    with tempfile.TemporaryDirectory() as tmp:
        path = clf.save(Path(tmp) / "m.npz")
        with zipfile.ZipFile(path) as zf:
            return {i.filename: zf.read(i) for i in zf.infolist()}


ENTRIES = _valid_entries()


def _zip(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, raw in entries.items():
            zf.writestr(name, raw)
    return buf.getvalue()


VALID = _zip(ENTRIES)


def _load(tmp_path, data: bytes):
    """Classifier.load on ``data``: a classifier whose names match its weights, or one ModelFileError."""
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    try:
        clf = Classifier.load(path)
    except ModelFileError as err:
        assert "fuzz.npz" in str(err) and "\n" not in str(err)
        return None
    assert len(clf.class_names) == clf.model.n_classes
    return clf


def test_the_unmutated_file_loads(tmp_path):
    assert _load(tmp_path, VALID).class_names == ["a", "b", "c"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=4),
       cut=st.integers(1, len(VALID)))
def test_fuzz_byte_mutations(tmp_path, flips, cut):
    blob = bytearray(VALID)
    for pos, value in flips:
        blob[pos] = value
    _load(tmp_path, bytes(blob[:cut]))


SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=8)
           | st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(SCALARS, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                    max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["class_names", "loss", "image_shape", "features", "arrays", "format",
                            "format_version", "kind", "settings"]), value=JSON)
def test_fuzz_resealed_metadata(tmp_path, key, value):
    """Metadata edited and re-sealed with a correct SHA-256 (anyone can): schema checks catch it."""
    meta = json.loads(np.load(io.BytesIO(ENTRIES["__linclass__.npy"])).tobytes())
    meta[key] = value
    blob = persist.canonical_json(meta)
    entries = dict(ENTRIES)
    for name, raw in (("__linclass__.npy", blob), ("__linclass_seal__.npy",
                                                   persist.canonical_json(persist._seal(blob, None)))):
        buf = io.BytesIO()
        np.save(buf, np.frombuffer(raw, np.uint8))
        entries[name] = buf.getvalue()
    _load(tmp_path, _zip(entries))
