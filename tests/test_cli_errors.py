"""Errors a user can cause on the command line: one line, the flag named, a valid example, exit 2."""

import errno
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from linclass.cli import build_parser, flags, main
from linclass.cli import outdir as outdir_module

TINY = ["--subset", "30", "--epochs", "1", "--no-progress"]


def _fails_in_one_line(capsys, argv, *words):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def test_unknown_option_is_one_line_with_did_you_mean(capsys):
    err = _fails_in_one_line(capsys, ["train", "--epcohs", "3"], "did you mean --epochs?")
    assert "usage" not in err


def test_unknown_command_and_choice_suggest_the_closest(capsys):
    _fails_in_one_line(capsys, ["trian"], "did you mean train?")
    _fails_in_one_line(capsys, ["train", "--loss", "sofmax"], "did you mean softmax?")


def test_no_arguments_show_the_help(capsys):
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("usage: linclass") and all(name in out for name in ("train", "explain"))


def test_a_missing_argument_points_to_help(capsys):
    _fails_in_one_line(capsys, ["predict"], "required: model, inputs", "linclass predict --help")


def test_non_numeric_value_names_the_flag_and_an_example(capsys):
    _fails_in_one_line(capsys, ["train", "--batch-size", "abc"], "--batch-size", "e.g. --batch-size 64")


def test_a_negative_number_that_looks_like_an_option_gets_a_hint(capsys):
    _fails_in_one_line(capsys, ["train", "--reg-strength", "-1e-3"], "--reg-strength=-1e-3")


def test_help_still_shows_usage(capsys):
    assert main(["train", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: linclass train")


@pytest.mark.parametrize("argv, flag", [
    (["--batch-size", "0"], "--batch-size"),
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**70)], "--seed"),
    (["--patience", "-2"], "--patience"),
    (["--optimizer", "lbfgs", "--iterations", "0"], "--iterations"),
    (["--epochs", "0"], "--epochs"),
    (["--lr", "nan"], "--lr"),
    (["--image-size", "100000x100000"], "--image-size"),
])
def test_out_of_range_values_are_refused_before_the_run(capsys, tmp_path, argv, flag):
    err = _fails_in_one_line(capsys, ["train", *argv, "--out", str(tmp_path / "run")], flag, f"e.g. {flag} ")
    assert "total_steps" not in err
    assert not (tmp_path / "run").exists()


def test_every_numeric_flag_below_its_range_is_refused_with_an_example(capsys):
    for command, sub in build_parser().commands.items():
        positionals = [a for a in sub._actions if not a.option_strings and a.dest != "help"]
        base = ["x"] * sum(1 for a in positionals)
        for action in flags.numeric_actions(sub):
            rule, name = flags.FLAGS[action.dest], flags.option_name(action)
            bad = rule.low if rule.low_open else rule.low - 1
            _fails_in_one_line(capsys, [command, *base, f"{name}={bad}"], name, f"e.g. {name} {rule.example}")


def test_out_pointing_at_a_file_is_one_line(capsys, tmp_path):
    f = tmp_path / "taken"
    f.write_text("mine")
    _fails_in_one_line(capsys, ["train", *TINY, "--out", str(f)], "existing file", "--out")
    assert f.read_text() == "mine"


def test_read_only_out_is_one_line(capsys, tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    real_open = os.open

    def read_only(path, *args, **kwargs):  # also read-only for root, who ignores the mode bits
        if str(path).startswith(str(ro)) and args and args[0] & (os.O_WRONLY | os.O_CREAT):
            raise PermissionError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    _fails_in_one_line(capsys, ["train", *TINY, "--out", str(ro)], "--out", "writable")


def test_full_disk_is_one_line_and_leaves_no_folder(capsys, tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    _fails_in_one_line(capsys, ["train", *TINY, "--out", str(tmp_path / "a" / "run")], "no space left")
    assert not (tmp_path / "a").exists()


def test_divergence_hint_names_the_flag_and_a_value(capsys, tmp_path):
    argv = ["train", *TINY, "--epochs", "3", "--lr", "1e6", "--penalty", "none", "--out", str(tmp_path)]
    err = _fails_in_one_line(capsys, argv, "diverged")
    assert "--lr 100000" in err and "(e.g. --lr)" not in err


def test_evaluate_on_a_text_file_says_it_is_not_a_model(capsys, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("not a model\n")
    err = _fails_in_one_line(capsys, ["evaluate", str(f)], "not a linclass model file")
    assert "pickle" not in err


def test_a_failed_run_leaves_no_empty_folder(capsys, tmp_path):
    out = tmp_path / "new" / "run"
    argv = ["train", "--epochs", "1", "--lr", "1e6", "--penalty", "none", "--no-progress", "--out", str(out)]
    _fails_in_one_line(capsys, argv, "diverged")
    assert list(tmp_path.iterdir()) == []


def test_stale_temporary_files_are_removed_by_the_next_run(capsys, tmp_path):
    stale = tmp_path / ".checkpoint.npz.0123456789ab.tmp"
    stale.write_bytes(b"half a checkpoint")
    assert main(["train", *TINY, "--out", str(tmp_path)]) == 0
    assert not stale.exists() and (tmp_path / "model.npz").is_file()
    assert not (tmp_path / outdir_module.LOCK).exists()


def test_a_second_run_on_the_same_out_is_refused(capsys, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from linclass.cli.outdir import output_dir
        with output_dir({str(tmp_path)!r}):
            print("locked", flush=True)
            sys.stdin.read()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        _fails_in_one_line(capsys, ["train", *TINY, "--out", str(tmp_path)], "in use by another linclass run",
                           f"pid {holder.pid}")
        assert not (tmp_path / "model.npz").exists()
    finally:
        holder.communicate("")
    assert holder.returncode == 0
    assert main(["train", *TINY, "--out", str(tmp_path)]) == 0  # released: the folder is free again


@pytest.mark.parametrize("argv", [
    ["knn", "--k", "1", "--folds", "2", "--train-size", "60", "--test-size", "20"],
    ["tune", "--lr", "1e-2", "--reg-strength", "1e-3", "--epochs", "1", "--jobs", "1", "--subset", "60"],
], ids=["knn", "tune"])
def test_every_command_with_out_holds_its_lock(capsys, tmp_path, argv):
    # a lock held by a live process of this host (this test's own): the run is refused and writes nothing
    (tmp_path / outdir_module.LOCK).write_text(f"{os.getpid()} {socket.gethostname()}")
    _fails_in_one_line(capsys, [*argv, "--out", str(tmp_path)], "in use by another linclass run")
    assert sorted(p.name for p in tmp_path.iterdir()) == [outdir_module.LOCK]
    (tmp_path / outdir_module.LOCK).unlink()
    assert main([*argv, "--out", str(tmp_path)]) == 0
    assert not (tmp_path / outdir_module.LOCK).exists()


def test_a_stale_lock_is_taken_over(capsys, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / outdir_module.LOCK).write_text(f"{dead.pid} {socket.gethostname()}")
    assert main(["train", *TINY, "--out", str(tmp_path)]) == 0
    assert not (tmp_path / outdir_module.LOCK).exists()


@pytest.mark.parametrize("error, words", [
    (FileExistsError(errno.EEXIST, "File exists", "runs/x"), "a file is in the way (runs/x)"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/nowhere"), "check the path"),
    (OSError(errno.EIO, "Input/output error"), "Input/output error"),
])
def test_any_os_error_from_a_command_is_one_line_with_a_fix(capsys, monkeypatch, error, words):
    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr("linclass.cli.gradcheck.check_objective", failing)
    _fails_in_one_line(capsys, ["gradcheck"], words)


def test_a_bug_is_one_line_with_exit_1_and_the_traceback_only_with_debug(capsys, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("linclass.cli.gradcheck.check_objective", bug)
    assert main(["gradcheck"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" in err and "--debug" in err
    with pytest.raises(ZeroDivisionError):
        main(["gradcheck", "--debug"])
