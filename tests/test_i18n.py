"""The learners' languages: every message translated in ru, vi and zh, the compiled catalogues up to date,
the same numbers in every language, and --lang / LINCLASS_LANG / the locale chosen in that order."""

import re
import unicodedata
from contextlib import contextmanager

import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.text import Text
from PIL import Image

from linclass import catalogues, i18n
from linclass.cli import main
from linclass.report import explain_gradient, lecture_plots, plots

OTHERS = [lang for lang in i18n.LANGUAGES if lang != "en"]
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[−-]?\d+)?")
ENGLISH = re.compile(r"\b(the|and|what|image|loss|score|scores|class|correct|normalize|exercise|term|"
                     r"wrong|with|is|of|slope|give|must|got|drop|write)\b", re.I)
"""English words that a translated display must not show (formulas and names like SVM are not words here)."""
SHOWS = {
    "svm": ["explain"],
    "softmax": ["explain", "--loss", "softmax"],
    "softmax-log10": ["explain", "--loss", "softmax", "--log-base", "10"],
    "questions": ["explain", "--questions"],
    "questions-scores": ["explain", "--questions", "--scores", "7.9,5.8,-1.9;3.3,-0.8,6.5", "--labels", "0,1"],
    "exercise": ["exercise", "--seed", "7"],
    "key": ["exercise", "--seed", "7", "--answers"],
    "softmax-exercise": ["exercise", "--seed", "3", "--loss", "softmax", "--answers"],
    "check": ["exercise", "--seed", "7", "--check", "L_2 = max(0, 1.1 − 0.7 + 1) + max(0, 5.2 − 0.7) = 7"],
    "landscape": ["explain", "--landscape", "--out", "{tmp}"],
    "bias-trick": ["explain", "--bias-trick"],
    "occam": ["explain", "--occam", "--out", "{tmp}"],
    "lr": ["explain", "--lr-lab", "--out", "{tmp}"],
    "entropy": ["explain", "--entropy", "--log-base", "2"],
    "gradient": ["explain", "--gradient"],
    "gradient-roundoff": ["explain", "--gradient", "--h", "1e-20"],
    "features": ["explain", "--features", "{tmp}/photo.png", "--out", "{tmp}"],
}
TIMING = {"entries": 30730, "evaluations": 61460, "images": 100, "sampled_entries": 100, "numerical_s": 8.5,
          "analytic_s": 2.5e-4, "ratio": 34000.0}
"""A fixed timing for --gradient: the measured one differs from run to run, the words around it do not."""


@pytest.fixture(scope="module")
def template():
    return catalogues.extract()


@pytest.mark.parametrize("lang", OTHERS)
def test_every_message_is_translated_and_compiled(template, lang):
    assert len(template) > 100
    assert catalogues.problems(template, lang) == []


def test_the_check_finds_a_missing_translation(template, tmp_path, monkeypatch):
    """problems() is not vacuous: a message the catalogue lacks is reported."""
    template.add("a message nobody translated")
    assert any("nobody translated" in p for p in catalogues.problems(template, "ru"))


def test_no_message_is_an_f_string():
    """``_(f"...")`` would be looked up after formatting, so never found: the sources must not contain it."""
    for path in catalogues.PACKAGE.rglob("*.py"):
        assert not re.search(r"\b_\(\s*f[\"']", path.read_text(encoding="utf-8")), path


def run(capsys, argv, lang, tmp=None):
    """The output of ``argv`` in ``lang``; ``{tmp}`` in ``argv`` is the folder ``tmp`` (printed as TMP)."""
    assert main([*(a.replace("{tmp}", str(tmp)) for a in argv), "--lang", lang]) == 0
    out = capsys.readouterr().out
    return out if tmp is None else out.replace(str(tmp), "TMP")


@pytest.mark.parametrize("show", SHOWS)
@pytest.mark.parametrize("lang", OTHERS)
def test_translated_with_the_same_numbers(capsys, monkeypatch, tmp_path, show, lang):
    monkeypatch.setattr(explain_gradient, "time_gradients", lambda loss: TIMING)
    pixels = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    pixels[:8] = 128  # a grey band: pixels without hue
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    english, translated = run(capsys, SHOWS[show], "en", tmp_path), run(capsys, SHOWS[show], lang, tmp_path)
    assert translated != english
    assert sorted(NUMBER.findall(translated)) == sorted(NUMBER.findall(english))
    command_words = re.sub(r"linclass exercise|--[a-z]+", "", translated)  # a command line stays as typed
    leftover = ENGLISH.findall(command_words)
    assert not leftover, f"English left in --lang {lang}: {leftover}"


ERRORS = {  # a learner's slip in explain or exercise: the one-line error speaks the learner's language too
    "check-count": ["exercise", "--seed", "7", "--check", "1, 2"],
    "check-unreadable": ["exercise", "--seed", "1", "--check", "L_1 = max(0, a − b + 1) = 2"],
    "check-image": ["exercise", "--seed", "1", "--check", "L_9 = 2.9"],
    "check-empty": ["exercise", "--seed", "1", "--check", "L_1 ="],
    "check-start": ["exercise", "--seed", "1", "--check", "maybe 2.9"],
    "unused-option": ["explain", "--questions", "--delta", "2"],
    "labels-count": ["explain", "--scores", "1,2;3,4", "--labels", "0"],
    "overflow": ["explain", "--scores", "1e308,-1e308,2", "--labels", "1"],
    "entropy-zero": ["explain", "--entropy", "--true", "1,0", "--predicted", "0,1"],
    "no-image": ["explain", "--features-of", "missing.png"],
}


@pytest.mark.parametrize("error", ERRORS)
@pytest.mark.parametrize("lang", OTHERS)
def test_errors_translated_with_the_same_numbers(capsys, error, lang):
    def said(language):
        assert main([*ERRORS[error], "--lang", language]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        return err.split("error:", 1)[1]  # the prefix "linclass explain: error:" is the program's, in English

    english, translated = said("en"), said(lang)
    assert translated != english
    assert sorted(NUMBER.findall(translated)) == sorted(NUMBER.findall(english))
    words = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`|--[a-z-]+|explain|\bL_\d", "", translated)  # what was typed
    assert not ENGLISH.findall(words), f"English left in --lang {lang}: {ENGLISH.findall(words)}"


PLOTS = ["features", "lr", "landscape", "occam"]


def drawn_texts(monkeypatch, capsys, tmp_path, show, lang) -> list[str]:
    """Every text the pictures of ``show`` draw in ``lang`` (titles, axis labels, legends, ticks)."""
    texts, figure = [], plots._figure  # the original, not an earlier call's wrapper

    @contextmanager
    def keep(path, size):
        with figure(path, size) as fig:
            yield fig
            texts.extend(t.get_text() for t in fig.findobj(Text) if t.get_text().strip())  # before it is cleared

    monkeypatch.setattr(lecture_plots, "_figure", keep)
    run(capsys, SHOWS[show], lang, tmp_path)
    return texts


@pytest.mark.parametrize("show", PLOTS)
@pytest.mark.parametrize("lang", OTHERS)
def test_pictures_speak_the_language_their_font_can_draw(monkeypatch, capsys, tmp_path, show, lang):
    """A picture's words are translated where the plots' font draws the translation (matplotlib's own DejaVu
    Sans draws Russian and Vietnamese); where it lacks a character (Chinese without a CJK font) the picture
    keeps English rather than draw empty boxes. Either way the font has a glyph for every character drawn."""
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
        tmp_path / "photo.png")
    glyphs = set(font_manager.get_font(font_manager.findfont(font_manager.FontProperties())).get_charmap())
    english = drawn_texts(monkeypatch, capsys, tmp_path, show, "en")
    texts = drawn_texts(monkeypatch, capsys, tmp_path, show, lang)
    assert len(texts) == len(english) > 3
    assert all(ord(c) in glyphs for text in texts for c in text), texts
    drawable = all(ord(c) in glyphs for c in i18n.translations(lang).gettext("loss against step"))
    assert drawable == (lang != "zh") or "CJK" in str(font_manager.findfont(font_manager.FontProperties()))
    if drawable:
        words = ENGLISH.findall(" ".join(texts))
        assert texts != english and not words, f"English left in the {lang} pictures: {words}"
    else:
        assert texts == english


def test_the_transcripts_vocabulary(capsys):
    assert "функция потерь" in run(capsys, ["explain", "--questions"], "ru").lower()
    assert "hàm mất mát" in run(capsys, ["explain", "--questions"], "vi").lower()
    assert "损失函数" in run(capsys, ["explain", "--questions"], "zh")


@pytest.mark.parametrize("env, expected", [
    ({}, "en"),
    ({"LANG": "ru_RU.UTF-8"}, "ru"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANGUAGE": "fr:vi", "LANG": "ru_RU.UTF-8"}, "vi"),
    ({"LC_ALL": "zh_CN.UTF-8", "LANG": "ru_RU.UTF-8"}, "zh"),
    ({"LINCLASS_LANG": "zh", "LANG": "ru_RU.UTF-8"}, "zh"),
])
def test_the_language_comes_from_the_environment(monkeypatch, env, expected):
    for name in (i18n.ENV, *i18n.LOCALE_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert i18n.resolve() == expected
    assert i18n.resolve("vi") == "vi"  # the flag wins


def test_linclass_lang_in_the_cli_and_a_bad_value(capsys, monkeypatch):
    monkeypatch.setenv("LINCLASS_LANG", "ru")
    assert main(["explain"]) == 0
    assert "Функция потерь" in capsys.readouterr().out
    monkeypatch.setenv("LINCLASS_LANG", "fr")
    assert main(["explain"]) == 2
    err = capsys.readouterr().err
    assert "LINCLASS_LANG must be one of en, ru, vi, zh" in err and len(err.strip().splitlines()) == 1


def test_the_library_stays_english_after_a_translated_command(capsys):
    from linclass.report.explain import explain
    run(capsys, ["explain"], "zh")
    assert explain("svm")[0].startswith("Multiclass SVM loss")


def display_width(text: str) -> int:
    """Terminal columns, as a terminal counts them (Unicode's East Asian Width): wide and full-width characters
    (猫, ，) take two, combining marks none, the rest one. Written here, apart from linclass's own padding."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def cell_ends(line: str) -> list[int]:
    """The terminal column at which each cell of a table row ends (cells are parted by two or more spaces)."""
    return [display_width(line[:m.end()]) for m in re.finditer(r"\S+(?: \S+)*", line)]


def tables(lines: list[str], columns: int) -> list[list[str]]:
    """The runs of consecutive lines that have at least ``columns`` cells: the tables of a display."""
    found, run = [], []
    for line in [*lines, ""]:
        if len(cell_ends(line)) >= columns:
            run.append(line)
        else:
            found += [run] if len(run) > 1 else []
            run = []
    return found


@pytest.mark.parametrize("argv", [
    ["explain"],
    ["explain", "--loss", "softmax"],
    ["explain", "--loss", "softmax", "--scores", "1e6,0,-1e6;-1.5,22.25,0.4", "--labels", "0,1",
     "--class-names", "飞机,猫,大卡车"],
    ["exercise", "--seed", "3", "--loss", "softmax", "--answers"],
])
@pytest.mark.parametrize("lang", OTHERS)
def test_wide_characters_keep_the_tables_aligned(capsys, argv, lang):
    """Every score column ends at the same terminal column in the header and in every row (the numbers are
    right-aligned under their class name), with names of one, two and three wide characters."""
    found = tables(run(capsys, argv, lang).splitlines(), columns=3)
    assert len(found) >= (1 if argv == ["explain"] else 2)
    for table in found:
        header = cell_ends(table[0])[-3:]
        for row in table[1:]:
            assert cell_ends(row)[-3:] == header, "\n".join(table)
