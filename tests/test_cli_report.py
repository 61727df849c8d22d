"""The report of `linclass train` shows only the settings that applied, and labelled metrics."""

import pytest

from linclass.cli import main
from linclass.cli.train import applied_settings
from linclass.pipeline import Settings


def test_a_raw_pixel_sgd_run_does_not_list_search_or_codebook_settings():
    shown = applied_settings(Settings(optimizer="sgd", features="raw"))
    assert {"lr", "batch_size", "epochs", "schedule", "reg_strength"} <= set(shown)
    assert not {"n_words", "encoding", "budget", "step_size", "patience", "iterations", "augment"} & set(shown)


@pytest.mark.parametrize("optimizer", ["random-search", "lbfgs"])
def test_full_batch_methods_do_not_list_minibatch_settings(optimizer):
    shown = applied_settings(Settings(optimizer=optimizer, features="bovw"))
    assert not {"lr", "batch_size", "epochs", "schedule"} & set(shown)
    assert {"n_words", "encoding"} <= set(shown)
    assert ("budget" in shown) == (optimizer == "random-search")


def test_the_report_page_lists_only_applied_settings_and_labelled_metrics(tmp_path, capsys):
    assert main(["train", "--subset", "40", "--epochs", "2", "--no-progress", "--out", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert ">n_words<" not in page and ">budget<" not in page and ">lr<" in page
    assert "Gradient norm ‖∇L‖" in page and "optimality certificate" in page and ">grad_norm<" not in page
