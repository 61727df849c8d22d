"""Real-browser tests: Debian's Chromium (``/usr/bin/chromium``), headless, driven by Playwright.

Install: ``apt-get install -y chromium chromium-driver`` and ``pip install playwright
pytest-playwright`` (never ``playwright install``: it downloads a browser). The
tests skip when ``/usr/bin/chromium`` or pytest-playwright is missing.
"""

import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
"""Screenshots land here (git-ignored; CI can upload the folder)."""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Point pytest-playwright at Debian's Chromium instead of a downloaded browser."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--disable-quic"]}


@pytest.fixture
def demo_url():
    """The demo served on 127.0.0.1 at a free port, for the test's duration."""
    from linclass.demo import make_server

    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
