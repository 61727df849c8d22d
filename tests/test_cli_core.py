"""`linclass explain` and `linclass gradcheck` reproduce the lecture and check gradients."""

import json
import subprocess
import sys

import numpy as np
import pytest

from linclass.cli import main
from linclass.metrics import text_lines


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_explain_svm_prints_the_slides_terms(capsys):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    assert "max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1)\n          = max(0, 2.9) + max(0, −3.9)" in out
    assert "= 12.9" in out and "= 6.3 + 6.6" in out
    assert out.strip().endswith("= 5.27")


def test_explain_svm_json_matches_the_lecture(capsys):
    data = run_json(capsys, "explain", "--scores", "3.2,5.1,-1.7;1.3,4.9,2.0;2.2,2.5,-3.1", "--labels", "0,1,2",
                    "--class-names", "cat,car,frog")
    np.testing.assert_allclose(data["losses"], [2.9, 0, 12.9], atol=1e-12)
    assert data["loss"] == pytest.approx(15.8 / 3)


def test_explain_softmax_cat_column(capsys):
    assert main(["explain", "--loss", "softmax"]) == 0
    out = capsys.readouterr().out
    for text in ("24.53", "164.02", "0.18", "0.13", "0.87", "0.00", "−ln(0.13) = 2.04"):
        assert text in out, text
    data = run_json(capsys, "explain", "--loss", "softmax")
    np.testing.assert_allclose(data["probabilities"][0], [0.13, 0.87, 0.001], atol=0.005)
    np.testing.assert_allclose(data["losses"], [2.0404, 0.0791, 6.1565], atol=1e-4)


def test_explain_four_image_table(capsys):
    data = run_json(capsys, "explain", "--scores", "7.9,5.8,-1.9;3.3,-0.8,6.5;-1.1,3.4,2.5;2.3,1.5,4.4",
                    "--labels", "0,1,2,0", "--class-names", "dog,cat,wolf")
    np.testing.assert_allclose(data["losses"], [0, 13.4, 1.9, 3.3], atol=1e-12)
    assert data["loss"] == pytest.approx(4.65)


def test_explain_questions_answer_numerically(capsys):
    answers = {q["key"]: q for q in run_json(capsys, "explain", "--questions")["questions"]}
    assert answers["init_svm"]["value"] == pytest.approx(2)
    assert answers["init_softmax"]["value"] == pytest.approx(np.log(3))
    assert answers["sum_all_classes"]["value"] == pytest.approx(15.8 / 3 + 1)
    assert answers["mean_not_sum"]["value"] == pytest.approx(15.8 / 3 / 2)
    assert answers["squared_hinge"]["value"] == pytest.approx((2.9 ** 2 + 6.3 ** 2 + 6.6 ** 2) / 3)
    assert answers["w_not_unique"]["value"] == 0
    assert answers["car_score_lowered"]["value"] == 0
    rows = {tuple(r["scores"]): r for r in answers["svm_vs_softmax"]["value"]}
    assert rows[(10, 9, 9)]["softmax"] == pytest.approx(0.5514, abs=1e-4)
    assert rows[(10, 9, 9)]["softmax_correct_20"] == pytest.approx(3.3e-5, rel=0.05)


@pytest.mark.parametrize("argv, words", [
    (["explain", "--scores", "1,2;3"], "same number of classes"),
    (["explain", "--scores", "1,2;3,4"], "needs --labels"),
    (["explain", "--scores", "1,2;3,4", "--labels", "0,2"], "outside [0, 2)"),
    (["explain", "--scores", "1,2;3,4", "--labels", "0"], "one label per row"),
    (["explain", "--scores", "1,x"], "must be numbers"),
    (["explain", "--scores", "1,nan", "--labels", "0"], "NaN"),
])
def test_explain_bad_input_is_one_line_and_exit_2(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("loss", ["svm", "softmax"])
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_gradcheck_command_passes(capsys, loss, penalty):
    data = run_json(capsys, "gradcheck", "--loss", loss, "--penalty", penalty, "--dtype", "float64")
    assert data["passed"] and data["max_relative_error"] < 1e-7


def test_console_script_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "linclass", "--help"], capture_output=True, text=True, check=True)
    assert "explain" in out.stdout and "gradcheck" in out.stdout and "examples:" in out.stdout
    sub = subprocess.run([sys.executable, "-m", "linclass", "gradcheck", "--help"], capture_output=True, text=True)
    assert "examples:" in sub.stdout


# --------------------------------------------------------------------------- issue 20: outside explain

def test_gradcheck_without_a_penalty_names_no_lambda(capsys):
    assert main(["gradcheck", "--penalty", "none", "--checks", "2"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "penalty=none" in first and "λ" not in first


@pytest.mark.parametrize("argv, lr_shown", [(["--optimizer", "random-search", "--budget", "20"], False),
                                            (["--optimizer", "lbfgs"], False), (["--epochs", "1"], True)])
def test_train_names_only_the_settings_it_used(capsys, tmp_path, argv, lr_shown):
    assert main(["train", *argv, "--out", str(tmp_path / "run")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert ("lr " in first) == lr_shown, first


def test_train_reports_the_full_objective_not_the_last_minibatch(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--batch-size", "1", "--epochs", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert "final loss" not in text
    assert f"objective on the whole training set {metrics['objective']:.4f}" in text
    assert metrics["objective"] != pytest.approx(metrics["final_loss"], rel=0.05)  # one example's loss is noise


def test_evaluate_header_columns_stay_apart():
    rows = [{"class": name, "precision": 0.5, "recall": 0.5, "support": 3} for name in ("automobile", "a")]
    head = text_lines({"per_class": rows, "most_confused": []})[0]
    assert head.split() == ["class", "precision", "recall", "support"]


def test_predict_names_a_missing_file(capsys, tmp_path):
    model = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model / "model.npz"), str(tmp_path / "missing.jpg")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "missing.jpg" in err and "PNG" not in err
