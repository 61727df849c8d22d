"""The demo page in a real headless Chromium: steps lower the loss, softmax and dragging update the table."""

import json
import re
import urllib.request
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytest.importorskip("pytest_playwright", reason="pytest-playwright is not installed "
                    "(pip install playwright pytest-playwright)")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent; install it with "
                       "apt-get install -y chromium chromium-driver"),
]

SETTLED = "() => document.body.dataset.pending === '0' && document.querySelector('#total-loss').textContent !== '…'"


def svm_total_loop(X, y, W, b, reg, delta=1.0):
    """Weston–Watkins SVM + λ Σ W² with plain loops; ``W`` (3 classes, 2 features) as the page shows it."""
    total = 0.0
    for x, label in zip(X, y):
        s = [W[k][0] * x[0] + W[k][1] * x[1] + b[k] for k in range(3)]
        total += sum(max(0.0, s[j] - s[label] + delta) for j in range(3) if j != label)
    return total / len(X) + reg * sum(w * w for row in W for w in row)


def number(text: str) -> float:
    """A number as the page shows it, with the typographic minus (U+2212)."""
    assert "-" not in text, f"ASCII minus in {text!r}: the page uses −"
    return float(text.replace("−", "-"))


def table_rows(page):
    return page.eval_on_selector_all(
        "#points-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")


def settle(page):
    page.wait_for_function(SETTLED)


def test_steps_lower_the_shown_loss_and_a_drag_changes_the_table(page, demo_url, artifacts_dir):
    problems = []
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("request", lambda req: problems.append(f"off-site request: {req.url}")
            if not req.url.startswith(demo_url) else None)
    with urllib.request.urlopen(demo_url + "api/defaults", timeout=10) as response:
        defaults = json.load(response)

    page.set_viewport_size({"width": 1280, "height": 1100})
    page.goto(demo_url)
    settle(page)
    initial_total = number(page.text_content("#total-loss"))
    expected = svm_total_loop(defaults["X"], defaults["y"], defaults["W"], defaults["b"],
                              defaults["reg_strength"])
    assert initial_total == pytest.approx(expected, abs=1e-4)
    initial_rows = table_rows(page)
    assert len(initial_rows) == len(defaults["X"])

    for _ in range(10):
        page.click("#step")
    page.wait_for_function("() => document.querySelector('#step-count').textContent === '10'")
    settle(page)
    stepped_total = number(page.text_content("#total-loss"))
    assert stepped_total < initial_total
    stepped_rows = table_rows(page)
    assert stepped_rows != initial_rows
    page.screenshot(path=str(artifacts_dir / "demo-browser-svm-10-steps.png"), full_page=True)

    page.check("#loss-softmax")
    page.wait_for_function("() => document.querySelector('#loss-formula').textContent.includes('softmax')")
    settle(page)
    softmax_rows = table_rows(page)
    assert softmax_rows != stepped_rows
    assert all(number(row[7]) > 0 for row in softmax_rows)  # softmax never reaches L_i = 0

    # drag point 0 to a new place, through the canvas
    box = page.locator("#canvas").bounding_box()
    x0, y0 = defaults["X"][0]
    to_px = lambda x, y: (box["x"] + (x + 1) / 2 * box["width"], box["y"] + (1 - y) / 2 * box["height"])  # noqa: E731
    target = (-0.6, -0.8)
    page.mouse.move(*to_px(x0, y0))
    page.mouse.down()
    page.mouse.move(*to_px(*target), steps=8)
    page.mouse.up()
    settle(page)
    dragged_rows = table_rows(page)
    assert dragged_rows != softmax_rows
    assert number(dragged_rows[0][2]) == pytest.approx(target[0], abs=0.02)
    assert number(dragged_rows[0][3]) == pytest.approx(target[1], abs=0.02)
    assert dragged_rows[1:] == softmax_rows[1:]  # the parameters did not move: only point 0's row changes
    # the mean L_i shown is the mean of the L_i shown
    shown = np.array([number(row[7]) for row in dragged_rows])
    assert number(page.text_content("#mean-li")) == pytest.approx(shown.mean(), abs=2e-3)

    page.screenshot(path=str(artifacts_dir / "demo-browser-softmax-dragged.png"), full_page=True)
    assert problems == []


def test_points_parameters_and_buttons_all_work(page, demo_url):
    problems = []
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    with urllib.request.urlopen(demo_url + "api/defaults", timeout=10) as response:
        defaults = json.load(response)
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.goto(demo_url)
    settle(page)
    initial_total = page.text_content("#total-loss")
    n = len(defaults["X"])
    box = page.locator("#canvas").bounding_box()
    to_px = lambda x, y: (box["x"] + (x + 1) / 2 * box["width"], box["y"] + (1 - y) / 2 * box["height"])  # noqa: E731

    # add a point of class 2 by clicking an empty spot, then remove it with shift-click
    page.select_option("#new-class", "2")
    page.mouse.click(*to_px(0.9, -0.9))
    settle(page)
    rows = table_rows(page)
    assert len(rows) == n + 1 and rows[-1][1] == "2"
    assert (number(rows[-1][2]), number(rows[-1][3])) == pytest.approx((0.9, -0.9), abs=0.02)
    page.keyboard.down("Shift")
    page.mouse.click(*to_px(0.9, -0.9))
    page.keyboard.up("Shift")
    settle(page)
    assert len(table_rows(page)) == n
    # remove point 0 with its table button
    page.click("#points-table tbody tr:first-child button.remove")
    settle(page)
    rows = table_rows(page)
    assert len(rows) == n - 1
    X, y = defaults["X"][1:], defaults["y"][1:]

    # edit W[0][x] directly and b[1] with "+": the scores shown follow s_k = W_k · x + b_k
    page.fill("input[aria-label='W[0][x]']", "0.5")
    page.press("input[aria-label='W[0][x]']", "Enter")
    page.click("button[aria-label='increase b[1]']")
    page.wait_for_function("() => document.querySelector(\"input[aria-label='b[1]']\").value === '0.550'")
    settle(page)
    W = [row[:] for row in defaults["W"]]
    W[0][0] = 0.5
    b = defaults["b"][:]
    b[1] += 0.1
    rows = table_rows(page)
    for (x0, x1), row in zip(X, rows):
        for k in range(3):
            assert number(row[4 + k]) == pytest.approx(W[k][0] * x0 + W[k][1] * x1 + b[k], abs=0.006)
    edited_total = number(page.text_content("#total-loss"))
    assert edited_total == pytest.approx(svm_total_loop(X, y, W, b, defaults["reg_strength"]), abs=1e-4)

    # Adam, repeated updates, stop
    page.select_option("#optimizer", "adam")
    page.click("#run")
    page.wait_for_function("() => Number(document.querySelector('#step-count').textContent) >= 5")
    page.click("#run")
    assert page.get_attribute("#run", "aria-pressed") == "false"
    settle(page)
    page.wait_for_timeout(300)  # a step queued before the stop may still land
    settle(page)
    assert number(page.text_content("#total-loss")) < edited_total

    page.click("#randomize-params")
    page.wait_for_function("() => document.querySelector('#step-count').textContent === '0'")
    settle(page)
    page.click("#randomize-data")
    page.wait_for_function("() => document.querySelectorAll('#points-table tbody tr').length === 12")
    settle(page)
    page.click("#reset")
    page.wait_for_function(f"() => document.querySelectorAll('#points-table tbody tr').length === {n}")
    settle(page)
    assert page.text_content("#total-loss") == initial_total
    assert problems == []


def test_margin_slider_step_slope_and_a_fresh_curve_per_loss(page, demo_url):
    problems = []
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    with urllib.request.urlopen(demo_url + "api/defaults", timeout=10) as response:
        defaults = json.load(response)
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.goto(demo_url)
    settle(page)
    assert page.text_content("#delta-value") == "1.0"

    page.fill("#delta", "2")
    page.wait_for_function("() => document.querySelector('#delta-value').textContent === '2.0'")
    settle(page)
    expected = svm_total_loop(defaults["X"], defaults["y"], defaults["W"], defaults["b"],
                              defaults["reg_strength"], delta=2.0)
    assert number(page.text_content("#total-loss")) == pytest.approx(expected, abs=1e-4)

    for _ in range(3):
        page.click("#step")
    page.wait_for_function("() => document.querySelector('#step-count').textContent === '3'")
    settle(page)
    slope, steepest = re.fullmatch(r"(\S+) \(steepest (\S+)\)", page.text_content("#step-slope")).groups()
    assert number(slope) < 0 and number(slope) == pytest.approx(number(steepest), abs=1e-4)  # SGD: steepest descent
    assert page.evaluate("() => S.history.length") == 4  # step 0 and three steps

    page.check("#loss-softmax")
    page.wait_for_function("() => document.querySelector('#loss-formula').textContent.includes('softmax')")
    settle(page)
    assert page.evaluate("() => S.history.length") == 0  # the curve starts afresh for the new loss
    assert page.text_content("#step-count") == "0" and page.text_content("#step-slope") == "…"
    assert page.is_disabled("#delta")  # softmax has no margin
    page.click("#step")
    page.wait_for_function("() => document.querySelector('#step-count').textContent === '1'")
    settle(page)
    history = page.evaluate("() => S.history")
    assert len(history) == 2 and history[1] < history[0]
    assert problems == []


@pytest.mark.parametrize("lang, heading, button", [
    ("ru", "Линейный классификатор: идём по склону", "Одно обновление параметров"),
    ("zh", "线性分类器：沿着斜率走", "更新一次参数"),
])
def test_the_page_in_the_learners_language(page, demo_url, artifacts_dir, lang, heading, button):
    problems = []
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.goto(f"{demo_url}?lang={lang}")
    settle(page)
    assert page.text_content("h1") == heading
    assert page.text_content("#step") == button
    assert page.evaluate("document.documentElement.lang") == lang
    english = page.text_content("#total-loss")
    page.click("#step")
    page.wait_for_function("() => document.querySelector('#step-count').textContent === '1'")
    settle(page)
    assert page.text_content("#total-loss") != english  # the numbers work as in English
    page.screenshot(path=str(artifacts_dir / f"demo-{lang}.png"), full_page=True)
    assert not problems, problems


def test_one_minus_sign_on_the_page(page, demo_url):
    """Every number shown uses the typographic minus, the ∂L labels included (as `linclass explain` does)."""
    page.goto(demo_url)
    settle(page)
    page.click("#step")
    page.wait_for_function("() => document.querySelector('#step-count').textContent === '1'")
    settle(page)
    grads = page.eval_on_selector_all(".grad", "els => els.map(e => e.textContent)")
    assert any(g.startswith("∂L: −") for g in grads), grads
    text = page.inner_text("body")
    assert not re.search(r"-\d", text), re.findall(r".{15}-\d.{5}", text)[:3]
