"""The demo page in a real headless Chromium: steps lower the loss, softmax and dragging update the table."""

import json
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


def svm_total_loop(X, y, W, b, reg):
    """Weston–Watkins SVM + λ Σ W² with plain loops; ``W`` (3 classes, 2 features) as the page shows it."""
    total = 0.0
    for x, label in zip(X, y):
        s = [W[k][0] * x[0] + W[k][1] * x[1] + b[k] for k in range(3)]
        total += sum(max(0.0, s[j] - s[label] + 1) for j in range(3) if j != label)
    return total / len(X) + reg * sum(w * w for row in W for w in row)


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
    initial_total = float(page.text_content("#total-loss"))
    expected = svm_total_loop(defaults["X"], defaults["y"], defaults["W"], defaults["b"],
                              defaults["reg_strength"])
    assert initial_total == pytest.approx(expected, abs=1e-4)
    initial_rows = table_rows(page)
    assert len(initial_rows) == len(defaults["X"])

    for _ in range(10):
        page.click("#step")
    page.wait_for_function("() => document.querySelector('#step-count').textContent === '10'")
    settle(page)
    stepped_total = float(page.text_content("#total-loss"))
    assert stepped_total < initial_total
    stepped_rows = table_rows(page)
    assert stepped_rows != initial_rows
    page.screenshot(path=str(artifacts_dir / "demo-browser-svm-10-steps.png"), full_page=True)

    page.check("#loss-softmax")
    page.wait_for_function("() => document.querySelector('#loss-formula').textContent.includes('softmax')")
    settle(page)
    softmax_rows = table_rows(page)
    assert softmax_rows != stepped_rows
    assert all(float(row[7]) > 0 for row in softmax_rows)  # softmax never reaches L_i = 0

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
    assert float(dragged_rows[0][2]) == pytest.approx(target[0], abs=0.02)
    assert float(dragged_rows[0][3]) == pytest.approx(target[1], abs=0.02)
    assert dragged_rows[1:] == softmax_rows[1:]  # the parameters did not move: only point 0's row changes
    # the mean L_i shown is the mean of the L_i shown
    shown = np.array([float(row[7]) for row in dragged_rows])
    assert float(page.text_content("#mean-li")) == pytest.approx(shown.mean(), abs=2e-3)

    page.screenshot(path=str(artifacts_dir / "demo-browser-softmax-dragged.png"), full_page=True)
    assert problems == []
