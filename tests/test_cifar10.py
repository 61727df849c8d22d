"""load_cifar10() on small archives in the exact official format, served over local HTTP.

References: the images and labels the archive writer generated, the official
row layout written by explicit indexing (``images_to_rows``), ``hashlib`` for
checksums, and plain ``pickle`` on the trusted test payloads (to prove a
refused payload is live).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import sys
import tarfile

import cifar_official_format as fmt
import numpy as np
import pytest
from cifar_official_format import FileServer, Global, Reduce, closed_port_url

from linclass.datasets.cifar10 import ARCHIVE_NAME, CACHE_NAME, OFFICIAL_MD5, OFFICIAL_URL, load_cifar10
from linclass.datasets.safe_pickle import safe_loads
from linclass.errors import DataError, ParameterError

URL_PATH = "/~kriz/cifar-10-python.tar.gz"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def archive_bytes(members: dict, tmp_path) -> bytes:
    path = fmt.write_archive(tmp_path / "build.tar.gz", members)
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.fixture(scope="module")
def generated():
    return fmt.generate(n_per_batch=20, n_test=20, seed=0)


@pytest.fixture
def archive(generated, tmp_path):
    return archive_bytes(generated.members, tmp_path)


@pytest.fixture
def server(archive):
    srv = FileServer({URL_PATH: archive})
    yield srv
    srv.stop()


def place(tmp_path, data: bytes):
    """An archive placed by hand in the cache directory."""
    (tmp_path / ARCHIVE_NAME).write_bytes(data)
    return tmp_path / ARCHIVE_NAME


def assert_matches(result, generated):
    X_train, y_train, X_test, y_test, class_names = result
    assert X_train.shape == (100, 32, 32, 3) and X_train.dtype == np.uint8
    assert X_test.shape == (20, 32, 32, 3) and X_test.dtype == np.uint8
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(X_train, generated.X_train)
    np.testing.assert_array_equal(y_train, generated.y_train)
    np.testing.assert_array_equal(X_test, generated.X_test)
    np.testing.assert_array_equal(y_test, generated.y_test)
    assert class_names == fmt.CLASS_NAMES


# ----------------------------------------------------------------------------- happy paths
def test_download_parse_and_cache_round_trip(server, archive, generated, tmp_path):
    result = load_cifar10(tmp_path, url=server.url(URL_PATH), checksum=md5(archive), progress=False)
    assert_matches(result, generated)
    assert (tmp_path / ARCHIVE_NAME).read_bytes() == archive
    assert sorted(p.name for p in (tmp_path / CACHE_NAME).iterdir()) == [
        "X_test.npy", "X_train.npy", "meta.json", "y_test.npy", "y_train.npy"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp dirs left


@pytest.mark.parametrize("n, i, j", [(0, 0, 0), (0, 0, 31), (7, 31, 0), (19, 13, 21)])
def test_pixels_follow_the_official_channel_major_rows(server, archive, generated, tmp_path, n, i, j):
    """Official row: 1024 red values (row-major 32x32), then 1024 green, then 1024 blue."""
    X_test = load_cifar10(tmp_path, url=server.url(URL_PATH), checksum=md5(archive), progress=False)[2]
    rows = pickle.loads(generated.members["test_batch"], encoding="bytes")[b"data"]  # trusted test data
    k = i * 32 + j
    assert tuple(X_test[n, i, j]) == (rows[n, k], rows[n, 1024 + k], rows[n, 2048 + k])


def test_second_load_reads_the_cache_without_archive_or_server(server, archive, generated, tmp_path):
    url = server.url(URL_PATH)
    load_cifar10(tmp_path, url=url, checksum=md5(archive), progress=False)
    server.stop()
    server.stop = lambda: None
    (tmp_path / ARCHIVE_NAME).unlink()
    result = load_cifar10(tmp_path, url=url, checksum=md5(archive), progress=False)
    assert_matches(result, generated)
    assert all(isinstance(a, np.memmap) for a in result[:4])
    assert len(server.requests) == 1


def test_archive_placed_by_hand_is_used_without_network(archive, generated, tmp_path):
    place(tmp_path, archive)
    result = load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(archive), progress=False)
    assert_matches(result, generated)


def test_cache_dir_comes_from_the_environment(monkeypatch, archive, generated, tmp_path):
    monkeypatch.setenv("LINCLASS_DATA", str(tmp_path))
    place(tmp_path, archive)
    assert_matches(load_cifar10(url=closed_port_url(), checksum=md5(archive), progress=False), generated)


@pytest.mark.parametrize("as_dir", [False, True], ids=["file", "directory"])
def test_local_mirror_is_used_before_the_url(server, archive, generated, tmp_path, as_dir):
    mirror_dir = tmp_path / "usb"
    mirror_dir.mkdir()
    (mirror_dir / ARCHIVE_NAME).write_bytes(archive)
    cache = tmp_path / "cache"
    result = load_cifar10(cache, url=server.url(URL_PATH), checksum=md5(archive), progress=False,
                          mirror=mirror_dir if as_dir else mirror_dir / ARCHIVE_NAME)
    assert_matches(result, generated)
    assert server.requests == []


def test_unreachable_mirror_falls_back_to_the_url(server, archive, generated, tmp_path):
    result = load_cifar10(tmp_path, url=server.url(URL_PATH), checksum=md5(archive), progress=False,
                          mirror=closed_port_url())
    assert_matches(result, generated)
    assert len(server.requests) == 1


def test_http_mirror_base_url_gets_the_archive_name(archive, generated, tmp_path):
    srv = FileServer({"/mirror/" + ARCHIVE_NAME: archive})
    try:
        result = load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(archive), progress=False,
                              mirror=srv.url("/mirror/"))
    finally:
        srv.stop()
    assert_matches(result, generated)


def test_partial_download_is_resumed_with_a_range_request(server, archive, generated, tmp_path):
    half = len(archive) // 2
    (tmp_path / (ARCHIVE_NAME + ".part")).write_bytes(archive[:half])
    result = load_cifar10(tmp_path, url=server.url(URL_PATH), checksum=md5(archive), progress=False)
    assert server.requests == [(URL_PATH, f"bytes={half}-")]
    assert_matches(result, generated)


def test_sha256_checksum_is_accepted(server, archive, generated, tmp_path):
    sha = hashlib.sha256(archive).hexdigest()
    assert_matches(load_cifar10(tmp_path, url=server.url(URL_PATH), checksum=sha, progress=False), generated)


def test_cache_of_another_archive_is_rebuilt(archive, generated, tmp_path):
    other = fmt.generate(n_per_batch=3, n_test=4, seed=1)
    other_archive = archive_bytes(other.members, tmp_path)
    place(tmp_path, other_archive)
    load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(other_archive), progress=False)
    place(tmp_path, archive)
    result = load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(archive), progress=False)
    assert_matches(result, generated)


@pytest.mark.parametrize("damage", ["truncate-npy", "delete-npy", "bad-json", "planted-arrays"])
def test_broken_cache_is_rebuilt_from_the_archive(archive, generated, tmp_path, damage):
    """Including a planted cache: other images and labels of the same shapes under the same meta.json."""
    place(tmp_path, archive)
    load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(archive), progress=False)
    cache = tmp_path / CACHE_NAME
    if damage == "truncate-npy":
        data = (cache / "X_train.npy").read_bytes()
        (cache / "X_train.npy").write_bytes(data[: len(data) // 2])
    elif damage == "delete-npy":
        (cache / "y_test.npy").unlink()
    elif damage == "bad-json":
        (cache / "meta.json").write_text("{not json")
    else:
        for name in ("X_train", "y_train"):
            planted = np.load(cache / f"{name}.npy")
            np.save(cache / f"{name}.npy", planted[::-1] ^ 1)  # other images and labels, the same shapes
    result = load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(archive), progress=False)
    assert_matches(result, generated)


# ----------------------------------------------------------------------------- errors
def test_download_with_wrong_checksum_removes_the_file(server, archive, tmp_path):
    with pytest.raises(DataError) as info:
        load_cifar10(tmp_path, url=server.url(URL_PATH), checksum="f" * 32, progress=False)
    msg = str(info.value)
    assert md5(archive) in msg and "f" * 32 in msg and ARCHIVE_NAME in msg and "removed" in msg
    assert list(tmp_path.iterdir()) == []


def test_archive_in_place_with_wrong_checksum_names_file_and_fix(archive, tmp_path):
    path = place(tmp_path, archive)
    with pytest.raises(DataError) as info:
        load_cifar10(tmp_path, url=closed_port_url(), progress=False)  # the official md5
    msg = str(info.value)
    assert str(path) in msg and OFFICIAL_MD5 in msg and md5(archive) in msg and "delete it" in msg
    assert path.exists()  # a file the user placed is not deleted behind their back


def test_no_network_says_where_to_place_the_archive_by_hand(tmp_path):
    url = closed_port_url()
    with pytest.raises(DataError) as info:
        load_cifar10(tmp_path, url=url, progress=False)
    msg = str(info.value)
    for text in ("refused", url, OFFICIAL_URL, OFFICIAL_MD5, ARCHIVE_NAME, str(tmp_path),
                 str(tmp_path / ARCHIVE_NAME), "by hand"):
        assert text in msg


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.95])
def test_truncated_archive_is_refused(archive, tmp_path, fraction):
    cut = archive[: int(len(archive) * fraction)]
    path = place(tmp_path, cut)
    with pytest.raises(DataError) as info:
        load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(cut), progress=False)
    assert str(path) in str(info.value) and "truncated" in str(info.value)
    assert not (tmp_path / CACHE_NAME).exists()


@pytest.mark.parametrize("missing", ["data_batch_3", "test_batch", "batches.meta"])
def test_missing_batch_is_named(generated, tmp_path, missing):
    data = archive_bytes({k: v for k, v in generated.members.items() if k != missing}, tmp_path)
    place(tmp_path, data)
    with pytest.raises(DataError, match=f"lacks cifar-10-batches-py/{missing}"):
        load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(data), progress=False)


def _bad_batch(kind):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    batch = fmt.batch_dict(images, [0, 1, 2, 3], "training batch 2 of 5")
    if kind == "float-data":
        batch[b"data"] = batch[b"data"].astype(np.float64)
    elif kind == "short-rows":
        batch[b"data"] = batch[b"data"][:, :3000]
    elif kind == "1d-data":
        batch[b"data"] = batch[b"data"].ravel()
    elif kind == "label-count":
        batch[b"labels"] = [0, 1, 2]
    elif kind == "label-range":
        batch[b"labels"] = [0, 1, 2, 10]
    elif kind == "label-type":
        batch[b"labels"] = b"0123"
    elif kind == "no-data":
        del batch[b"data"]
    elif kind == "not-a-dict":
        batch = [1, 2, 3]
    return fmt.py2_pickle(batch)


@pytest.mark.parametrize("kind", ["float-data", "short-rows", "1d-data", "label-count", "label-range",
                                  "label-type", "no-data", "not-a-dict"])
def test_wrong_shapes_and_dtypes_are_refused(generated, tmp_path, kind):
    data = archive_bytes({**generated.members, "data_batch_2": _bad_batch(kind)}, tmp_path)
    place(tmp_path, data)
    with pytest.raises(DataError, match="cifar-10-batches-py/data_batch_2"):
        load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(data), progress=False)


def test_member_that_is_a_link_is_refused(generated, tmp_path):
    path = tmp_path / ARCHIVE_NAME
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in generated.members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            if name == "test_batch":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(DataError, match="test_batch is not a regular file"):
        load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(path.read_bytes()), progress=False)


def test_expected_counts_are_checked(archive, tmp_path):
    place(tmp_path, archive)
    with pytest.raises(DataError, match="100 training / 20 test images, expected 50000 / 10000"):
        load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(archive), progress=False,
                     expected_counts=(50000, 10000))


@pytest.mark.parametrize("checksum", ["abc", "", "0" * 40])
def test_checksum_of_unknown_length_is_a_parameter_error(tmp_path, checksum):
    with pytest.raises(ParameterError, match="md5"):
        load_cifar10(tmp_path, checksum=checksum, progress=False)


# ----------------------------------------------------------------------------- malicious pickles
def _payloads(marker):
    py = sys.executable
    create = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": (Reduce(Global("os", "system"), (f"touch '{marker}'",)), True),
        "posix.system": (Reduce(Global("posix", "system"), (f"touch '{marker}'",)), True),
        "builtins.eval": (Reduce(Global("builtins", "eval"), (create,)), True),
        "builtins.exec": (Reduce(Global("builtins", "exec"), (create,)), True),
        "builtins.open": (Reduce(Global("builtins", "open"), (str(marker), "w")), True),
        "subprocess.Popen": (Reduce(Global("subprocess", "Popen"), ([py, "-c", create],)), False),
    }


@pytest.mark.parametrize("where", ["whole-batch", "inside-labels"])
@pytest.mark.parametrize("name", ["os.system", "posix.system", "builtins.eval", "builtins.exec",
                                  "builtins.open", "subprocess.Popen"])
def test_pickle_asking_to_run_code_is_refused_and_nothing_runs(generated, tmp_path, name, where):
    marker = tmp_path / "pwned"
    payload, live = _payloads(marker)[name]
    if live:  # the payload really is code: plain pickle would run it
        pickle.loads(fmt.py2_pickle(payload), encoding="latin1")
        assert marker.exists()
        marker.unlink()
    if where == "whole-batch":
        blob = fmt.py2_pickle(payload)
    else:
        batch = pickle.loads(generated.members["data_batch_1"], encoding="bytes")
        batch[b"labels"] = payload
        blob = fmt.py2_pickle(batch)
    data = archive_bytes({**generated.members, "data_batch_1": blob}, tmp_path)
    place(tmp_path, data)
    with pytest.raises(DataError) as info:
        load_cifar10(tmp_path, url=closed_port_url(), checksum=md5(data), progress=False)
    msg = str(info.value)
    assert name in msg and "cifar-10-batches-py/data_batch_1" in msg and "nothing was executed" in msg
    assert not marker.exists()
    assert not (tmp_path / CACHE_NAME).exists()


def test_python3_pickle_with_reduce_method_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(DataError, match=r"io\.open|builtins\.open"):
            safe_loads(pickle.dumps({b"data": Evil()}, protocol=protocol), source="batch")
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    Reduce(Global("numpy", "ndarray"), ((10,),)),  # the class itself is never callable
    Reduce(Global("numpy.core.multiarray", "_reconstruct"), (Global("numpy", "ndarray"), (2**30,), b"b")),
    Reduce(Global("numpy.core.multiarray", "_reconstruct"), (Global("numpy", "dtype"), (0,), b"b")),
], ids=["call-ndarray", "huge-empty-array", "not-ndarray"])
def test_numpy_globals_only_rebuild_arrays_the_way_numpy_writes_them(payload):
    with pytest.raises(DataError, match="batch"):
        safe_loads(fmt.py2_pickle(payload), source="batch")


@pytest.mark.parametrize("array", [np.array([1, "x"], dtype=object), np.zeros(3, dtype=[("a", "u1")])],
                         ids=["object", "structured"])
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_object_and_structured_arrays_are_refused(array, protocol):
    with pytest.raises(DataError, match="batch"):
        safe_loads(pickle.dumps(array, protocol=protocol), source="batch")


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.int64, np.float32])
def test_numpy_arrays_of_every_pickle_protocol_load(protocol, dtype):
    rows = np.arange(24, dtype=dtype).reshape(4, 6)
    batch = {b"data": rows, b"fortran": np.asfortranarray(rows), b"labels": [1, 2], "name": "x"}
    out = safe_loads(pickle.dumps(batch, protocol=protocol), source="batch")
    reference = pickle.loads(pickle.dumps(batch, protocol=protocol))
    assert out.keys() == reference.keys() and out[b"labels"] == reference[b"labels"]
    for key in (b"data", b"fortran"):
        assert out[key].dtype == reference[key].dtype
        np.testing.assert_array_equal(out[key], reference[key])


def test_official_format_batches_load_like_plain_pickle(generated):
    """Python-2 pickles (numpy.core.multiarray, U/T strings) read as plain pickle reads them."""
    for name, blob in generated.members.items():
        if name == "readme.html":
            continue
        out = safe_loads(blob, source=name)
        reference = pickle.loads(blob, encoding="bytes")
        assert out.keys() == reference.keys()
        for key, value in reference.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(out[key], value)
                assert out[key].dtype == value.dtype
            else:
                assert out[key] == value
