"""download(): streaming, resume with Range, checksum, atomic rename, offline messages, progress bar."""

from __future__ import annotations

import hashlib
import io
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest
from cifar_official_format import FileServer, closed_port_url

from linclass.datasets import download as dl
from linclass.datasets.download import NetworkError, download, file_checksum
from linclass.errors import DataError, ParameterError

PATH = "/files/blob.bin"
CONTENT = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
MD5 = hashlib.md5(CONTENT).hexdigest()


@pytest.fixture
def server():
    srv = FileServer({PATH: CONTENT})
    yield srv
    srv.stop()


@pytest.fixture
def dest(tmp_path):
    return tmp_path / "sub" / "blob.bin"


def part_of(dest):
    return dest.with_name(dest.name + ".part")


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_file_checksum_matches_hashlib(tmp_path, algorithm):
    path = tmp_path / "f"
    path.write_bytes(CONTENT)
    assert file_checksum(path, algorithm) == hashlib.new(algorithm, CONTENT).hexdigest()


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_download_writes_the_verified_file_and_leaves_no_part(server, dest, algorithm):
    checksum = hashlib.new(algorithm, CONTENT).hexdigest()
    out = download(server.url(PATH), dest, checksum=checksum, algorithm=algorithm, progress=False)
    assert out == dest
    assert dest.read_bytes() == CONTENT
    assert not part_of(dest).exists()


def test_verified_file_already_there_is_not_downloaded_again(server, dest):
    download(server.url(PATH), dest, checksum=MD5, progress=False)
    n = len(server.requests)
    download(server.url(PATH), dest, checksum=MD5.upper(), progress=False)
    assert len(server.requests) == n


def test_wrong_checksum_removes_the_file_and_names_the_fix(server, dest):
    wrong = "0" * 32
    with pytest.raises(DataError) as info:
        download(server.url(PATH), dest, checksum=wrong, progress=False)
    msg = str(info.value)
    assert not dest.exists() and not part_of(dest).exists()
    for text in (wrong, MD5, dest.name, "removed", "mirror", "again"):
        assert text in msg


@pytest.mark.parametrize("have", [1, len(CONTENT) // 2, len(CONTENT) - 1])
def test_partial_download_resumes_with_a_range_request(server, dest, have):
    dest.parent.mkdir(parents=True)
    part_of(dest).write_bytes(CONTENT[:have])
    download(server.url(PATH), dest, checksum=MD5, progress=False)
    assert server.requests == [(PATH, f"bytes={have}-")]
    assert dest.read_bytes() == CONTENT


def test_server_ignoring_range_gets_a_full_download(server, dest):
    server.ignore_range = True
    dest.parent.mkdir(parents=True)
    part_of(dest).write_bytes(CONTENT[:1000])
    download(server.url(PATH), dest, checksum=MD5, progress=False)
    assert server.requests[0][1] == "bytes=1000-"
    assert dest.read_bytes() == CONTENT


def test_part_holding_the_whole_file_is_verified_after_a_416(server, dest):
    dest.parent.mkdir(parents=True)
    part_of(dest).write_bytes(CONTENT)
    download(server.url(PATH), dest, checksum=MD5, progress=False)
    assert dest.read_bytes() == CONTENT


def test_corrupt_part_fails_its_checksum_then_a_fresh_download_succeeds(server, dest):
    dest.parent.mkdir(parents=True)
    part_of(dest).write_bytes(b"\x00" * 5000)
    with pytest.raises(DataError, match="removed"):
        download(server.url(PATH), dest, checksum=MD5, progress=False)
    assert not part_of(dest).exists()
    download(server.url(PATH), dest, checksum=MD5, progress=False)
    assert server.requests[-1] == (PATH, None)
    assert dest.read_bytes() == CONTENT


def test_broken_transfer_keeps_the_part_and_the_next_call_resumes(server, dest):
    server.cut_after = 120_000
    with pytest.raises(NetworkError, match="broke off"):
        download(server.url(PATH), dest, checksum=MD5, progress=False)
    assert part_of(dest).read_bytes() == CONTENT[:120_000]
    assert not dest.exists()
    server.cut_after = None
    download(server.url(PATH), dest, checksum=MD5, progress=False)
    assert server.requests[-1] == (PATH, "bytes=120000-")
    assert dest.read_bytes() == CONTENT


@pytest.fixture
def sockets():
    """Sockets a test opens, closed when it ends."""
    opened = []
    yield opened
    for sock in opened:
        sock.close()


def _refused(monkeypatch, sockets):
    return closed_port_url(PATH)


def _dns(monkeypatch, sockets):
    def fail(*args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))
    monkeypatch.setattr(urllib.request, "urlopen", fail)
    return "https://unreachable.example/files/blob.bin"


def _silent(monkeypatch, sockets):
    """A server that accepts the connection (backlog) and never answers: the read times out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sockets.append(sock)
    return f"http://127.0.0.1:{sock.getsockname()[1]}{PATH}"


@pytest.mark.parametrize("make_url, cause",
                         [(_refused, "refused"), (_dns, "resolved"), (_silent, "timed out")],
                         ids=["connection-refused", "no-dns", "timeout"])
def test_no_network_says_how_to_place_the_file_by_hand(monkeypatch, sockets, dest, make_url, cause):
    url = make_url(monkeypatch, sockets)
    with pytest.raises(NetworkError) as info:
        download(url, dest, checksum=MD5, progress=False, timeout=0.5)
    msg = str(info.value)
    for text in (cause, url, dest.name, str(dest.parent), "by hand"):
        assert text in msg
    assert not dest.exists()


def test_http_error_names_the_status(server, dest):
    with pytest.raises(NetworkError, match="HTTP 404"):
        download(server.url("/missing.bin"), dest, checksum=MD5, progress=False)


def test_unknown_algorithm_is_a_parameter_error(server, dest):
    with pytest.raises(ParameterError, match="sha256"):
        download(server.url(PATH), dest, checksum=MD5, algorithm="crc32", progress=False)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "pipe"])
def test_progress_bar_only_on_a_terminal(monkeypatch, server, dest, tty):
    stream = FakeTerminal() if tty else io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    download(server.url(PATH), dest, checksum=MD5, progress=True)
    out = stream.getvalue()
    if tty:
        last = out.rstrip("\n").split("\r")[-1]
        assert "100%" in last
        assert f"{len(CONTENT) / 1e6:.1f}/{len(CONTENT) / 1e6:.1f} MB" in last
        assert "MB/s" in last
    else:
        assert out == ""


def test_progress_line_shows_bytes_percent_and_rate():
    clock = iter([10.0, 12.0]).__next__
    bar = dl._ProgressBar(total=8_000_000, start=0, stream=io.StringIO(), clock=clock)
    # 2,000,000 bytes in 2 s: 25 %, 1.0 MB/s
    line = bar.line(2_000_000, clock())
    assert " 25%" in line and "2.0/8.0 MB" in line and "1.0 MB/s" in line
    assert line.count("#") == 30 // 4
