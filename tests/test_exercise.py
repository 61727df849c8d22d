"""`linclass exercise`: same seed same table, the key is explain's layout, and --check finds the first
wrong term of hand-written wrong answers (on the slides' table, whose numbers lecture-numbers.md gives)."""

import json

import numpy as np
import pytest

from linclass.cli import main
from linclass.report.exercise import Exercise, make_exercise
from linclass.report.exercise_check import check
from linclass.report.explain import SLIDES_CLASSES, SLIDES_LABELS, SLIDES_SCORES

SVM = Exercise(0, "svm", np.array(SLIDES_SCORES), SLIDES_LABELS, SLIDES_CLASSES)
SOFTMAX = Exercise(0, "softmax", np.array(SLIDES_SCORES), SLIDES_LABELS, SLIDES_CLASSES)
# the slides: SVM L_i = 2.9, 0, 12.9, L = 5.27; softmax L_i = 2.04, 0.08, 6.16 (cat: p = 0.13), L = 2.76

WRONG = [  # (exercise, [(answer, first wrong term, a word of the reason)]): wrong answers written by hand
    (SVM, [
        ("3.9, 0, 12.9", "L_1", "j = y_i"),
        ("2.9, 0, 10.9", "L_3", "Δ = 1 is missing"),
        ("2.9, 0, 12.9, 15.8", "L", "sum of the L_i"),
        ("2.9, -4.5, 12.9", "L_2", "max(0, ·) was left out"),
        ("L_1 = max(0, 5.1 − 3.1 + 1) + max(0, −1.7 − 3.2 + 1) = 3 + 0 = 3", "term 1 of L_1", "correct class's score"),
        ("L_1 = max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9 + −3.9 = −1", "term 2 of L_1", "negative"),
        ("L_1 = max(0, 3.2 − 5.1 + 1) + max(0, −1.7 − 3.2 + 1) = 0", "term 1 of L_1", "swapped"),
        ("L_3 = max(0, 2.2 − (−3.1) + 1) + max(0, 2.5 − (−3.1) + 1) = 6.3 + 6.6 = 12.8", "L_3", "add up"),
        ("L_2 = max(0, 1.3 − 4.9 + 1) + max(0, 4.9 − 4.9 + 1) + max(0, 2.0 − 4.9 + 1) = 1", "term 2 of L_2",
         "j = y_i"),
        ("L_1 = max(0, 5.1 − 3.2 + 1) = 2.9", "term 2 of L_1", "missing"),
        ("L_1 = max(0, 5.1 − 3.2) + max(0, −1.7 − 3.2 + 1) = 1.9", "term 1 of L_1", "margin Δ is 1"),
    ]),
    (SOFTMAX, [
        ("0.89, 0.08, 6.16", "L_1", "log base 10"),
        ("L_1 = −ln(0.87) = 0.14", "p_{y_i} of L_1", "correct class's probability"),
        ("L_1 = −log10(0.13) = 0.89", "the log of L_1", "natural log"),
        ("2.04, 0.08, -6.16", "L_3", "minus sign"),
    ]),
]
CASES = [(task, *case) for task, cases in WRONG for case in cases]


@pytest.mark.parametrize("task, answer, term, reason", CASES, ids=[c[1][:40] for c in CASES])
def test_check_finds_the_first_wrong_term(task, answer, term, reason):
    verdict = check(task, answer)
    assert not verdict.correct
    assert verdict.term == term, verdict.text()
    assert reason in verdict.why, verdict.why


@pytest.mark.parametrize("task, answer", [
    (SVM, "2.9, 0, 12.9"), (SVM, "2.9, 0, 12.9, 5.27"), (SVM, "L_1 = 2.9"),
    (SVM, "L_1 = max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9 + 0 = 2.9"),
    (SVM, "L_1 (cat) = max(0, 2.9) + max(0, −3.9) = 2.9 + 0 = 2.9"),
    (SVM, "L_3 = max(0, 2.2 − (−3.1) + 1) + max(0, 2.5 − (−3.1) + 1) = 6.3 + 6.6 = 12.9"),
    (SOFTMAX, "2.04, 0.08, 6.16, 2.76"), (SOFTMAX, "L_1 = −ln(0.13) = 2.04"),
])
def test_right_answers_pass(task, answer):
    assert check(task, answer).correct, check(task, answer).text()


def test_same_seed_same_exercise_and_the_key_is_true(capsys):
    def run(*argv):
        assert main(["exercise", *argv, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    first, again, other = run("--seed", "7"), run("--seed", "7"), run("--seed", "8")
    assert first == again and first["scores"] != other["scores"]
    key = run("--seed", "7", "--answers")
    S, y = np.array(first["scores"]), first["labels"]
    expected = [sum(max(0.0, S[i, j] - S[i, y[i]] + 1) for j in range(3) if j != y[i]) for i in range(3)]
    np.testing.assert_allclose(key["losses"], expected, atol=1e-12)  # the loop formula, not linclass.losses
    right = ", ".join(f"{v:.2f}" for v in expected)
    assert run("--seed", "7", "--check", right)["correct"]
    wrong = run("--seed", "7", "--check", ", ".join(f"{v + 1:.2f}" for v in expected))
    assert not wrong["correct"] and wrong["term"] == "L_1"


@pytest.mark.parametrize("seed", range(20))
def test_svm_exercises_show_both_hinge_cases(seed):
    losses = make_exercise(seed, "svm").losses()
    assert (losses == 0).any() and (losses > 0).any()


def test_exercise_text_and_key_layout(capsys):
    assert main(["exercise", "--seed", "7"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Exercise 7 (multiclass SVM loss)") and "1. Compute L_i" in text
    assert main(["exercise", "--seed", "7", "--answers"]) == 0
    key = capsys.readouterr().out
    assert "L = (1/N) Σ L_i = (" in key and "= max(0, " in key


@pytest.mark.parametrize("answer, says", [
    ("1, 2", "--check needs 3 numbers"),
    ("L_1 =", "nothing to check"),
    ("L_1 = foo", "nothing to check"),
    ("L_1 = max(0, a − b + 1) = 2", "cannot read"),
    ("L_9 = 2.9", "images 1 to 3"),
    ("maybe 2.9", "start a worked line"),
])
def test_a_check_that_cannot_be_read_is_one_line(capsys, answer, says):
    assert main(["exercise", "--seed", "1", "--check", answer]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
