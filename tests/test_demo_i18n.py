"""The demo page in the learners' languages: every text of the page is a catalogue message, and
GET /api/messages answers in the page's ?lang=, else the server's language."""

import json
import re
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from linclass.demo import make_server
from linclass.demo.messages import PAGE

VOID = {"meta", "link", "input", "br", "img", "hr"}
STATIC = Path(__file__).resolve().parents[1] / "src" / "linclass" / "demo" / "static"


class PageTexts(HTMLParser):
    """The words a reader sees: text nodes outside <script>/<style> and formulas (sub, sup, .math), and
    title / aria-label attributes."""

    def __init__(self):
        super().__init__()
        self.texts, self.hidden, self.stack = [], 0, []

    def handle_starttag(self, tag, attrs):
        self.texts += [v for k, v in attrs if k in ("title", "aria-label") and v]
        if tag not in VOID:
            self.stack.append(tag in ("script", "style", "sub", "sup") or ("class", "math") in attrs)
            self.hidden += self.stack[-1]

    def handle_endtag(self, tag):
        if tag not in VOID:
            self.hidden -= self.stack.pop()

    def handle_data(self, data):
        text = re.sub(r"\s+", " ", data).strip()
        if re.search(r"[A-Za-z]{2}", text) and not self.hidden:  # words, not formulas (W, x, s_k)
            self.texts.append(text)


def page_texts() -> set:
    parser = PageTexts()
    parser.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    return set(parser.texts)


def script_texts() -> set:
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    return set(re.findall(r'\bt\("([^"]+)"', js)) | set(re.findall(r"<b>([^<$]+)</b>", js))


def test_every_text_of_the_page_is_a_message():
    assert page_texts() - set(PAGE) == set()
    assert script_texts() - set(PAGE) == set()
    assert set(PAGE) - page_texts() - script_texts() == set(), "messages the page no longer shows"


@pytest.fixture
def server():
    server = make_server("127.0.0.1", 0, workers=2, lang="vi")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def get(server, path):
    with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=10) as response:
        return json.loads(response.read())


def test_messages_in_the_servers_language_and_the_pages(server):
    vi = get(server, "/api/messages")
    assert vi["lang"] == "vi" and vi["messages"]["Reset"] != "Reset"
    zh = get(server, "/api/messages?lang=zh")
    assert zh["lang"] == "zh" and set(zh["messages"]) == set(PAGE)
    translated = [k for k, v in zh["messages"].items() if v != k]
    assert len(translated) > 0.8 * len(PAGE)
    for english, text in zh["messages"].items():  # the page fills these in: none may be lost
        assert sorted(re.findall(r"\{\w+\}", english)) == sorted(re.findall(r"\{\w+\}", text))
    assert get(server, "/api/messages?lang=en")["messages"]["Reset"] == "Reset"


def test_an_unknown_language_is_a_400(server):
    with pytest.raises(urllib.error.HTTPError) as err:
        get(server, "/api/messages?lang=fr")
    assert err.value.code == 400
    assert "must be one of en, ru, vi, zh" in json.loads(err.value.read())["error"]
