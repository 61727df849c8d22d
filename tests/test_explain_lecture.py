"""`linclass explain` beyond the losses: the gradient walk, entropy, questions, features, the lr lab,
and the display bugs of issue 13 (true printed arithmetic, extreme scores, a leading minus, a closed pipe)."""

import json
import math
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv
from PIL import Image

from linclass.cli import main
from linclass.report.explain import SLIDES_W
from linclass.report.explain_gradient import SLIDES_B, WALK_IMAGES
from linclass.report.explain_lr import CURVATURE, RATES, descend, regime


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def text_of(capsys, *argv):
    assert main(list(argv)) == 0
    return capsys.readouterr().out


# --------------------------------------------------------------------------- the gradient walk

def test_slides_walk_slopes_are_the_seeds(capsys):
    data = run_json(capsys, "explain", "--gradient")
    slopes = [r["slope"] for r in data["slide"]]
    np.testing.assert_allclose(slopes, [-2.5, 0.6, 0, -10.0, 4.0, -0.1, 1.3], atol=1e-9)
    assert [r["dim"] for r in data["slide"]] == [1, 2, 3, 4, 5, 6, 1]
    assert data["slide"][0]["loss_plus_h"] == 1.25322 and data["slide"][-1]["h"] == 1e-3
    text = text_of(capsys, "explain", "--gradient")
    assert "(1.25322 − 1.25347) / 0.0001 = −2.5" in text and "(1.2369 − 1.2356) / 0.001 = 1.3" in text


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_live_walk_slopes_equal_the_analytic_gradient(capsys, loss):
    data = run_json(capsys, "explain", "--gradient", "--loss", loss)
    walk = data["walk"]
    assert len(walk) == 12
    slopes = np.array([r["slope"] for r in walk])
    analytic = np.array([r["analytic"] for r in walk])
    np.testing.assert_allclose(slopes, analytic, atol=1e-4)
    assert np.abs(analytic).max() > 0.1  # a walk on a gradient of zeros would prove nothing


def test_live_walk_against_an_independent_loss(capsys):
    """The walk's L(W) and slope recomputed here from the formula, on the same images."""
    def loss(W):
        S = np.asarray(WALK_IMAGES) / 255 @ W.T + SLIDES_B
        return np.mean([np.log(np.exp(s).sum()) - s[i] for i, s in enumerate(S)])

    data = run_json(capsys, "explain", "--gradient")
    W = np.asarray(SLIDES_W, dtype=float)
    assert data["loss"] == pytest.approx(loss(W), rel=1e-12)
    Wh = W.copy()
    Wh[1, 2] += 1e-4
    assert data["walk"][6]["slope"] == pytest.approx((loss(Wh) - loss(W)) / 1e-4, rel=1e-6)


def test_one_step_and_the_error_table(capsys):
    data = run_json(capsys, "explain", "--gradient")
    step = data["step"]
    assert step["loss"] < data["loss"]
    assert step["loss"] == pytest.approx(step["predicted"], abs=0.01)  # first order is close for a small step
    errors = {e["h"]: e for e in data["errors"]}
    # truncation: forward ∝ h, centered ∝ h²
    assert errors[1e-2]["forward"] / errors[1e-3]["forward"] == pytest.approx(10, rel=0.1)
    assert errors[1e-2]["centered"] / errors[1e-3]["centered"] == pytest.approx(100, rel=0.1)
    # round-off: the smallest h is worse than the best h, for both
    for kind in ("forward", "centered"):
        assert errors[1e-12][kind] > 100 * min(e[kind] for e in data["errors"])


# --------------------------------------------------------------------------- entropy

def _weather(base):
    q, p = np.array([0.5, 0.3, 0.2]), np.array([0.4, 0.3, 0.3])
    H = -np.sum(q * np.log(q)) / np.log(base)
    X = -np.sum(q * np.log(p)) / np.log(base)
    return H, X, X - H


@pytest.mark.parametrize("base, expected", [("10", (0.447, 0.460, 0.013)),
                                            # the issue's 0.031 is a slip: KL = 0.0305 → 0.030
                                            ("e", (1.030, 1.060, 0.030))])
def test_weather_example(capsys, base, expected):
    data = run_json(capsys, "explain", "--entropy", "--log-base", base)
    got = (data["entropy"], data["cross_entropy"], data["kl"])
    np.testing.assert_allclose(got, expected, atol=0.0005)
    np.testing.assert_allclose(got, _weather(10 if base == "10" else math.e), rtol=1e-12)
    assert data["log_base"] == base
    text = text_of(capsys, "explain", "--entropy", "--log-base", base)
    assert " = ".join(f"{v:.3f}" for v in expected[1:]) not in text  # sanity of the next line's format
    assert f"{expected[1]:.3f} − {expected[0]:.3f} = {expected[2]:.3f}" in text


def test_softmax_loss_is_cross_entropy_with_one_hot(capsys):
    p = np.exp([3.2, 5.1, -1.7]) / np.exp([3.2, 5.1, -1.7]).sum()
    data = run_json(capsys, "explain", "--entropy", "--true", "1,0,0", "--predicted", ",".join(map(repr, p.tolist())))
    assert data["entropy"] == 0
    assert data["cross_entropy"] == pytest.approx(2.0404, abs=1e-4) == data["kl"]


@pytest.mark.parametrize("argv, words", [
    (["--true", "0.5,0.6"], "sum to 1"),
    (["--true", "0.5,0.5", "--predicted", "1,0,0"], "one per outcome"),
    (["--true", "0.5,0.5", "--predicted", "1,0"], "infinite"),
    (["--predicted", "a,b"], "numbers"),
])
def test_entropy_bad_input_is_one_line(capsys, argv, words):
    assert main(["explain", "--entropy", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and words in err


def test_softmax_log_base(capsys):
    e = run_json(capsys, "explain", "--loss", "softmax")
    ten = run_json(capsys, "explain", "--loss", "softmax", "--log-base", "10")
    np.testing.assert_allclose(ten["losses"], np.array(e["losses"]) / np.log(10), rtol=1e-12)
    assert e["log_base"] == "e" and ten["log_base"] == "10"
    text = text_of(capsys, "explain", "--loss", "softmax", "--log-base", "10")
    assert "log base 10" in text and "−log10(0.13) = 0.89" in text


# --------------------------------------------------------------------------- questions

def test_questions_answer_the_issue_items(capsys):
    answers = {q["key"]: q for q in run_json(capsys, "explain", "--questions")["questions"]}
    lo, hi = answers["softmax_min_max"]["value"]
    assert 0 < lo < 1e-40 and hi == pytest.approx(110 + np.log(2), rel=1e-9)
    assert answers["margin_2"]["value"] == pytest.approx(2 * 15.8 / 3)
    assert "10.53 = 2 × 5.27" in answers["margin_2"]["answer"]
    assert "R(2W) = 51.37 = 4 R(W)" in answers["w_not_unique"]["answer"]
    assert "2.9 → 2.901" in answers["jiggle"]["answer"] and "0 → 0" in answers["jiggle"]["answer"]
    sig = answers["sigmoid"]["value"]
    assert sig["softmax"] == pytest.approx(1 / (1 + np.exp(-(5.1 - 3.2))), rel=1e-12) == sig["sigmoid"]
    mle = answers["mle_map"]["value"]
    assert mle["likelihood"] == pytest.approx(np.exp(-3 * 2.7587), rel=1e-3)
    assert mle["sigma"] == pytest.approx(np.sqrt(1 / (2 * 3 * 0.1)))


def test_questions_honour_scores_labels_and_loss(capsys):
    argv = ["explain", "--questions", "--scores", "7.9,5.8,-1.9;3.3,-0.8,6.5", "--labels", "0,1"]
    answers = {q["key"]: q for q in run_json(capsys, *argv)["questions"]}
    assert answers["sum_all_classes"]["value"] == pytest.approx((0 + 13.4) / 2 + 1)
    assert "7.9" in answers["car_score_lowered"]["question"]          # the dog image has L_i = 0
    soft = run_json(capsys, *argv, "--loss", "softmax")["questions"]
    assert {q["loss"] for q in soft} <= {"softmax", "both"} and "softmax_min_max" in {q["key"] for q in soft}
    svm = run_json(capsys, *argv, "--loss", "svm")["questions"]
    assert {q["loss"] for q in svm} <= {"svm", "both"}


# --------------------------------------------------------------------------- display bugs

def _loss_lines(text):
    return re.findall(r"L_\d+ = −ln\(([\d.]+)\) = ([\d.e−]+)", text)


@pytest.mark.parametrize("row", [[0.0, 5.17, 0.0], [3.0, 8.0, 0.0], [0.0, 0.0, 4.0], [2.0, 1.0, 0.1]])
def test_printed_probability_makes_the_arithmetic_true(capsys, row):
    text = text_of(capsys, "explain", "--loss", "softmax", "--scores", ",".join(map(str, row)), "--labels", "0")
    (p, loss), = _loss_lines(text)
    assert round(-math.log(float(p)), 2) == pytest.approx(float(loss))
    true_p = np.exp(row[0]) / np.exp(row).sum()
    assert float(p) == pytest.approx(true_p, rel=0.01)


def test_extreme_scores_in_log_space(capsys):
    text = text_of(capsys, "explain", "--loss", "softmax", "--scores", "10,-100,-100;1000,0,-1000",
                   "--labels", "0,1")
    assert "inf" not in text and "−log(0)" not in text and "ln(1)" not in text
    assert "= 0 + 3.4e−48 = 3.4e−48" in text and "= 1000 + 0 = 1000" in text
    assert text.strip().endswith("= 500")
    one = text_of(capsys, "explain", "--loss", "softmax", "--scores", "10,-100,-100", "--labels", "0")
    assert one.strip().endswith("/ 1 = 3.4e−48")  # not "L = 0"


def test_leading_minus_is_accepted(capsys):
    data = run_json(capsys, "explain", "--scores", "-3.45,1.0,2.0;-1,-2,-3", "--labels", "0,1")
    np.testing.assert_allclose(data["losses"], [max(0, 1 + 3.45 + 1) + max(0, 2 + 3.45 + 1), 0 + 2])


def test_closed_pipe_exits_quietly():
    proc = subprocess.Popen([sys.executable, "-c", "from linclass.cli import main; main(['explain', '--questions'])"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err


# --------------------------------------------------------------------------- features and the lr lab

@pytest.mark.parametrize("hw, size", [((128, 64), 1152), ((240, 320), 10800)])
def test_feature_sizes_and_pictures(capsys, tmp_path, hw, size):
    rng = np.random.default_rng(0)
    image = (rng.random((*hw, 3)) * 255).astype(np.uint8)
    path = tmp_path / "im.png"
    Image.fromarray(image).save(path)
    data = run_json(capsys, "explain", "--features-of", str(path), "--out", str(tmp_path / "out"))
    assert data["hog_size"] == size == (hw[0] // 8) * (hw[1] // 8) * 9
    hue = rgb_to_hsv(image / 255)[..., 0]
    coloured = image.max(-1) != image.min(-1)        # grey pixels have no hue
    on_edge = 1e-9                                   # a hue on a bin edge k/12 belongs to bin k (float gives k − ε)
    expected = np.bincount(np.minimum((hue[coloured] * 12 + on_edge).astype(int), 11), minlength=12) / hue.size
    np.testing.assert_allclose(data["hue_histogram"], expected, rtol=1e-6)
    assert data["pixels_without_hue"] == hue.size - coloured.sum()
    for png in data["pictures"].values():
        assert Image.open(png).format == "PNG"


def test_grey_image_has_no_hue(capsys, tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.full((16, 24, 3), 128, np.uint8)).save(path)
    data = run_json(capsys, "explain", "--features-of", str(path), "--out", str(tmp_path / "out"))
    assert data["hue_histogram"] == [0.0] * 12 and data["pixels_without_hue"] == 16 * 24
    text = text_of(capsys, "explain", "--features-of", str(path), "--out", str(tmp_path / "out"))
    assert "384 of 384 pixels are grey" in text and "1.000" not in text


def test_features_of_a_missing_or_bad_file(capsys, tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not an image")
    for path, words in ((tmp_path / "none.png", "no image file"), (bad, "cannot read")):
        assert main(["explain", "--features-of", str(path)]) == 2
        assert words in capsys.readouterr().err


def test_lr_lab_names_each_regime_as_theory_says(capsys, tmp_path):
    data = run_json(capsys, "explain", "--lr-lab", "--out", str(tmp_path))
    assert [r["regime"] for r in data["runs"]] == ["too small", "good", "oscillating", "diverging"]
    assert Image.open(data["plot"]).format == "PNG"
    a_max = max(CURVATURE)
    for lr in np.linspace(0.01, 0.3, 30):  # the theory: α·a_max < 1 monotone, 1..2 oscillating, > 2 diverging
        r = lr * a_max
        if abs(r - 1) < 1e-9 or abs(r - 2) < 0.02:
            continue
        seen = regime(*descend(lr))
        assert seen == ("diverging" if r > 2 else "oscillating" if r > 1 else seen), (lr, seen)
        assert (seen in ("good", "too small")) == (r < 1)
    assert RATES["too small"] * a_max < 0.1


# --------------------------------------------------------------------------- display bugs of issue 20

def _shown(text):
    return float(text.replace("−", "-"))


def _decimals(text):
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def _holds(value, shown):
    """``shown`` is ``value`` rounded as printed (to its own decimals)."""
    return abs(value - _shown(shown)) <= 0.5 * 10 ** -_decimals(shown) + 1e-9


NUMBER = r"−?[\d.]+(?:e−?\d+)?"


def _svm_blocks(text):
    """Each image's written lines: [terms line, insides line, (values line,) result line]."""
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("L_"):
            current = [line.split("=", 1)[1]]
            blocks.append(current)
        elif current is not None and line.strip().startswith("= "):
            current.append(line.strip()[2:])
        else:
            current = None
    return blocks


def _check_svm_arithmetic(text):
    """Redo every written SVM line from the numbers it shows (an independent parse of the printout)."""
    blocks = _svm_blocks(text)
    assert blocks
    for terms, insides, *rest in blocks:
        triples = re.findall(rf"max\(0, ({NUMBER}) − \(?({NUMBER})\)? \+ ({NUMBER})\)", terms)
        inner = re.findall(rf"max\(0, ({NUMBER})\)", insides)
        assert len(triples) == len(inner) > 0, (terms, insides)
        for (a, b, c), v in zip(triples, inner):
            assert _holds(_shown(a) - _shown(b) + _shown(c), v), (a, b, c, v)
        values = [max(0.0, _shown(v)) for v in inner]
        result = rest[-1]
        assert _holds(sum(values), result), (inner, result)
        if len(rest) == 2:
            parts = rest[0].split(" + ")
            assert all(_holds(v, p) for v, p in zip(values, parts))
    mean = re.search(rf"= \(([^)]*)\) / (\d+) = ({NUMBER})$", text.strip())
    assert _holds(sum(_shown(v) for v in mean.group(1).split(" + ")) / int(mean.group(2)), mean.group(3))


def test_softmax_table_cells_never_touch(capsys):
    text = text_of(capsys, "explain", "--loss", "softmax", "--scores", "1e6,0,-1e6;1,2,3", "--labels", "0,1")
    rows = [line for line in text.splitlines() if line.startswith(("  scores", "  exp", "  normalize"))]
    assert len(rows) == 6
    for row in rows:
        label, cells = re.match(r"(  \S+(?: \S+)*?(?: \(s − \S+\))?)\s{2,}(.*)$", row).groups()
        assert len(re.split(r"\s{2,}", cells.strip())) == 3, row
    assert "e^−1000000" not in text and "1000000.0" not in text and "1e^" not in text


def test_huge_scores_are_refused_in_one_line(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["explain", "--scores", "1e308,-1e308,2", "--labels", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "overflow" in err and "scale" in err


def test_large_scores_print_in_scientific_notation(capsys):
    text = text_of(capsys, "explain", "--scores", "1e300,-1e300,2", "--labels", "1")
    assert "inf" not in text and not re.search(r"\d{10}", text)
    assert text.strip().endswith("= 3e300")  # (1e300 + 1e300 + 1) + (2 + 1e300 + 1)
    _check_svm_arithmetic(text)


@pytest.mark.parametrize("scores, labels", [("1.23456,2.34567", "0"),
                                            ("3.2,5.1,-1.7;1.3,4.9,2.0;2.2,2.5,-3.1", "0,1,2"),
                                            ("0.1234,0.5678,0.9012;0.3333,0.6666,0.9999", "2,0")])
def test_svm_lines_add_up_from_the_numbers_shown(capsys, scores, labels):
    _check_svm_arithmetic(text_of(capsys, "explain", "--scores", scores, "--labels", labels))


def test_svm_lines_add_up_on_random_scores(capsys):
    rng = np.random.default_rng(7)
    for _ in range(20):
        S = rng.normal(0, 3, (3, 4)).round(int(rng.integers(1, 6)))
        scores = ";".join(",".join(repr(float(v)) for v in row) for row in S)
        _check_svm_arithmetic(text_of(capsys, "explain", "--scores", scores, "--labels", "0,3,1",
                                      "--delta", str(rng.choice([0.5, 1.0, 1.37]))))


def test_svm_lines_follow_the_slides_order(capsys):
    lines = text_of(capsys, "explain").splitlines()
    i = lines.index("L_1 (cat) = max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1)")
    assert [x.strip() for x in lines[i + 1:i + 4]] == ["= max(0, 2.9) + max(0, −3.9)", "= 2.9 + 0", "= 2.9"]


def test_entropy_of_one_hot_has_no_negative_zero(capsys):
    text = text_of(capsys, "explain", "--entropy", "--true", "1,0,0", "--predicted", "0.13,0.87,0")
    assert "-0.000" not in text and "−0.000" not in text and "− -" not in text
    assert re.search(r"H\(Q\)\s+= .* = 0\.000$", text, re.M)


def test_lr_headers_sit_over_their_values(capsys, tmp_path):
    lines = text_of(capsys, "explain", "--lr-lab", "--out", str(tmp_path)).splitlines()
    head = next(i for i, line in enumerate(lines) if "L(0)" in line)
    for t in (0, 10, 20, 30):
        end = lines[head].index(f"L({t})") + len(f"L({t})")
        for row in lines[head + 1:head + 5]:
            assert row[end - 1] != " " and row[end] == " ", (t, row)


def test_ten_class_questions_invent_no_slip(capsys):
    scores = "-3.45,-8.87,0.09,2.90,4.48,8.02,3.78,1.06,-0.36,-0.72"
    answers = {q["key"]: q["answer"] for q in
               run_json(capsys, "explain", "--questions", "--scores", scores, "--labels", "3")["questions"]}
    assert "log10 10" not in answers["init_softmax"] and "≈ 1 " not in answers["init_softmax"]
    assert "0.477" in answers["init_softmax"]  # the slide's own slip, named as the slide's
    assert answers["init_svm"].startswith("C − 1 = 9 for C = 10") and "CIFAR" not in answers["init_svm"]


def test_softmax_questions_stand_alone(capsys):
    qs = run_json(capsys, "explain", "--questions", "--loss", "softmax", "--scores", "3.2,5.1,-1.7",
                  "--labels", "0")["questions"]
    assert not any(q["question"].startswith("...") for q in qs)
    mle = next(q["answer"] for q in qs if q["key"] == "mle_map")
    assert "= 0.13 = 0.13" not in mle and "N = 1 example " in mle


def test_tiny_h_blames_round_off(capsys):
    text = text_of(capsys, "explain", "--gradient", "--h", "1e-20")
    line = next(x for x in text.splitlines() if x.startswith("largest"))
    assert "round-off" in line and "h/2 · L''" not in line
    assert "truncation" in next(x for x in text_of(capsys, "explain", "--gradient").splitlines()
                                if x.startswith("largest"))


@pytest.mark.parametrize("argv, flag", [
    (["--questions", "--delta", "2"], "--delta"),
    (["--questions", "--log-base", "10"], "--log-base"),
    (["--gradient", "--scores", "1,2", "--labels", "0"], "--scores"),
    (["--h", "1e-3"], "--h"),
    (["--true", "1,0"], "--true"),
    (["--loss", "softmax", "--delta", "2"], "--delta"),
    (["--entropy", "--out", "x"], "--out"),
])
def test_unused_options_are_refused(capsys, argv, flag):
    assert main(["explain", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.split(": error: ")[1].startswith(flag)


def test_one_minus_sign_everywhere(capsys, tmp_path):
    runs = [[], ["--loss", "softmax"], ["--questions"], ["--gradient"], ["--entropy"],
            ["--lr-lab", "--out", str(tmp_path)], ["--loss", "softmax", "--scores", "10,-100,-100", "--labels", "0"],
            ["--bias-trick"]]
    for argv in runs:
        text = text_of(capsys, "explain", *argv)
        body = "\n".join(line for line in text.splitlines() if str(tmp_path) not in line)
        assert not re.search(r"(?<!CIFAR)-\d|\d-|-\.", body), (argv, re.findall(r".{20}-\d.{5}", body)[:3])
        assert "−" in body


def test_softmax_lines_and_mean_add_up_from_the_numbers_shown(capsys):
    """Each −ln(p) = L_i and the mean (L_1 + … + L_N) / N hold for the numbers as printed."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        S = rng.normal(0, 3, (int(rng.integers(1, 5)), 3)).round(1)
        scores = ";".join(",".join(repr(float(v)) for v in row) for row in S)
        labels = ",".join(str(v) for v in rng.integers(0, 3, len(S)))
        text = text_of(capsys, "explain", "--loss", "softmax", "--scores", scores, "--labels", labels)
        for p, loss in re.findall(rf"L_\d+ = −ln\(([\d.]+)\) = ({NUMBER})", text):
            assert _holds(-math.log(float(p)), loss), (p, loss)
        mean = re.search(rf"= \(([^)]*)\) / (\d+) = ({NUMBER})$", text.strip())
        shown = [_shown(v) for v in mean.group(1).split(" + ")]
        assert _holds(sum(shown) / int(mean.group(2)), mean.group(3)), mean.group(0)
