"""One meaning per flag name across every command (``cli/flags.py``), and the old spellings that still parse."""

from __future__ import annotations

import argparse
from collections import defaultdict

import pytest

from linclass.cli import build_parser, main
from linclass.cli.flags import FLAGS, NOTES, RENAMED

HIDDEN = {"--help", "--version"}


def commands(parser=None, prefix="") -> dict:
    """Every command's parser by name, nested ones too (``data export``)."""
    parser = parser or build_parser()
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[prefix + name] = sub
                found.update(commands(sub, prefix + name + " "))
    return found


def kind(action, command: str):
    """What a flag takes: ``bool`` (a switch), ``int``, ``float``, ``list`` (a comma list) or ``str``."""
    if action.nargs == 0:
        return bool
    if action.type in (int, float):
        return action.type
    rule = FLAGS.get(action.dest)
    if rule is not None and command in rule.lists:
        return list
    return str


def conflicts(parsers: dict) -> list[str]:
    """Every flag name with more than one meaning: not in the table, spelled unlike its dest, of another
    kind than the table's, with choices that are not all within the largest set, or with two metavars."""
    problems, seen = [], defaultdict(list)
    for command, parser in parsers.items():
        for action in parser._actions:
            longs = [s for s in action.option_strings if s.startswith("--") and s not in HIDDEN]
            if not longs or isinstance(action, argparse._SubParsersAction):
                continue
            name = longs[0]
            if (command, name) in RENAMED:
                if action.help != argparse.SUPPRESS:
                    problems.append(f"{command} {name}: an old spelling must be hidden from --help")
                continue
            rule = FLAGS.get(action.dest)
            if rule is None:
                problems.append(f"{command} {name}: not in cli/flags.py FLAGS (add it with its meaning)")
                continue
            if name != "--" + action.dest.replace("_", "-"):
                problems.append(f"{command} {name}: dest {action.dest!r} is another flag's name")
            got, want = kind(action, command), rule.kind
            if got is not want and not (got is list and want in (int, float)):
                problems.append(f"{command} {name}: takes {got.__name__}, but {name} means {rule.meaning!r} "
                                f"({want.__name__})")
            seen[name].append((command, action))
    for name, uses in seen.items():
        choice_sets = [set(a.choices) for _, a in uses if a.choices]
        largest = max(choice_sets, key=len, default=set())
        for command, action in uses:
            if action.choices and not set(action.choices) <= largest:
                problems.append(f"{command} {name}: choices {sorted(action.choices)} are not within "
                                f"{sorted(largest)} of another command")
        metavars = {a.metavar for c, a in uses if kind(a, c) is not list}
        allowed = FLAGS[uses[0][1].dest].metavars
        if (len(metavars) > 1 and not allowed) or (allowed and not metavars <= set(allowed)):
            problems.append(f"{name}: metavars {sorted(map(str, metavars))} differ between commands")
    return problems


def test_every_flag_name_has_one_meaning_in_every_command():
    assert conflicts(commands()) == []


def test_a_second_meaning_for_a_name_is_caught():
    parsers = commands()
    other = argparse.ArgumentParser(prog="linclass other")
    other.add_argument("--backend", choices=["loky", "dask"])  # probe's --backend is numpy|torch
    other.add_argument("--features", metavar="IMAGE")  # train's --features is a feature spec
    other.add_argument("--seed", type=float)
    other.add_argument("--shiny-new", type=int)
    found = conflicts({**parsers, "other": other})
    assert any("--backend: choices" in p for p in found)
    assert any("--features: metavars" in p for p in found)
    assert any("other --seed: takes float" in p for p in found)
    assert any("other --shiny-new: not in" in p for p in found)


def test_every_old_spelling_is_still_registered():
    parsers = commands()
    for (command, old), new in RENAMED.items():
        options = parsers[command]._option_string_actions
        assert old in options and new in options, (command, old, new)


@pytest.mark.parametrize("argv, note", [
    (["gradcheck", "--reg", "l1", "--examples", "4", "--checks", "1"], "--reg is now --penalty"),
    (["gradcheck", "--penalty", "elastic", "--examples", "4", "--checks", "1"], "'elasticnet'"),
    (["gradcheck", "--features", "3", "--examples", "4", "--checks", "1"], "--features is now --dimensions"),
    (["explain", "--classes", "a,b,c"], "--classes is now --class-names"),
], ids=["reg", "elastic", "features", "classes"])
def test_an_old_spelling_works_with_a_one_line_note(capsys, argv, note):
    assert main([*argv, "--json"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert any(note in line for line in err) and all(line.startswith("linclass: note:") for line in err)


def test_an_old_spelling_gives_the_new_flag_its_value(capsys):
    assert main(["gradcheck", "--reg", "elastic", "--features", "3", "--examples", "4", "--checks", "1",
                 "--json"]) == 0
    out = capsys.readouterr().out
    assert '"penalty": "elasticnet"' in out


def test_train_reg_with_a_number_names_reg_strength(capsys):
    assert main(["train", "--reg", "1e-3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--reg-strength" in err and "--penalty" in err


@pytest.mark.parametrize("argv, dest, value, note", [
    (["--backend", "dask"], "dask", "local", "--backend dask is now --dask local"),
    (["--backend", "dask", "--scheduler", "tcp://h:8786"], "dask", "tcp://h:8786", "--scheduler is now --dask"),
    (["--scheduler", "tcp://h:8786", "--backend", "dask"], "dask", "tcp://h:8786", "--backend dask is now"),
    (["--reg", "1e-3,1e-2"], "reg_strength", "1e-3,1e-2", "--reg with numbers is now --reg-strength"),
    (["--reg", "l1"], "penalty", "l1", "--reg is now --penalty"),
], ids=["backend", "scheduler", "scheduler-first", "reg-list", "reg-penalty"])
def test_tune_old_spellings_reach_the_new_flags(argv, dest, value, note):
    parser = commands()["tune"]
    args = parser.parse_args(argv)
    assert getattr(args, dest) == value
    assert any(note in n for n in getattr(args, NOTES))
