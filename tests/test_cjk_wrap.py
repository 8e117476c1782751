"""Chinese wraps instead of being cut: help text and the report table at 80 and 120 columns keep
every sentence and every evidence location whole (align.report._wrap)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from align.report._wrap import _CLOSE, _OPEN, divide_line, install, min_width

WIDTHS = (80, 120)
COMMANDS = ("", "score", "explain", "check", "baseline", "diff", "chunks", "policies", "serve", "batch",
            "cache", "cache info")


def _lines(text: str, offsets: list[int]) -> list[str]:
    cuts = [0, *offsets, len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc xyz-,.()", max_size=80), st.integers(4, 40))
def test_text_without_cjk_breaks_exactly_as_rich_does(text, width):
    from rich._wrap import divide_line as rich_divide_line

    assert divide_line(text, width) == rich_divide_line(text, width)


CJK_TEXT = st.text(alphabet="职业教育产教融合校企合作，。、；：（）《》“”Ab1. ", min_size=1, max_size=120)


@settings(max_examples=300, deadline=None)
@given(CJK_TEXT, st.integers(6, 40))
def test_chinese_lines_fit_and_obey_punctuation_rules(text, width):
    from rich.cells import cell_len

    lines = _lines(text, divide_line(text, width, fold=False))
    assert "".join(lines) == text  # nothing lost
    folded = min_width(text) > width  # a run of punctuation wider than the line: cut anywhere
    for i, ln in enumerate(lines):
        assert cell_len(ln.rstrip()) <= width, (ln, width)
        # a break between characters (not at a space the text has) never leaves closing
        # punctuation at a line start or opening punctuation at a line end
        if i and not folded and not lines[i - 1][-1:].isspace():
            assert ln[0] not in _CLOSE, (lines, width)
            assert lines[i - 1][-1] not in _OPEN, (lines, width)


def test_a_phrase_wider_than_the_column_folds_between_characters():
    text = "深化职业教育产教融合、校企合作，完善职业教育和培训体系"
    lines = _lines(text, divide_line(text, 10, fold=False))
    assert all(len(ln) <= 5 for ln in lines) and "".join(lines) == text
    assert "，" not in [ln[0] for ln in lines]


# --------------------------------------------------------------------------- help


def _help_column_text(output: str) -> str:
    """The text of the help column(s): box drawing removed, the last column of each row kept."""
    parts = []
    for line in output.splitlines():
        line = line.strip().strip("│╭╮╰╯─ ").rstrip()
        if not line:
            continue
        parts.append(re.split(r"\s{2,}", line)[-1])
    return re.sub(r"\s+", "", "".join(parts))


def _norm(sentence: str) -> str:
    return re.sub(r"\s+", "", sentence.replace("\\[", "["))


def _sentences(cmd_path: str) -> list[str]:
    import click
    import typer.main

    from align.cli import app

    group = typer.main.get_command(app)
    cmd = group
    for part in cmd_path.split():
        cmd = cmd.commands[part]  # type: ignore[attr-defined]
    out = []
    if cmd.help:
        out.append(cmd.help.split("\n\n")[0].replace("\n", " "))
    for p in cmd.params:
        if isinstance(p, click.Option | click.Argument) and getattr(p, "help", None):
            out.append(p.help)
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            if sub.help:
                out.append(sub.help.split("\n\n")[0].replace("\n", " ").strip())
    return [s for s in out if s]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_keeps_every_sentence_whole(cmd, width, monkeypatch, capsys):
    from align.cli import run

    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    code = run([*cmd.split(), "--help"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "…" not in out
    assert max(len(ln) for ln in out.splitlines()) <= width
    text = _help_column_text(out)
    for sentence in _sentences(cmd):
        if sentence.startswith(("Show this message", "Install completion", "Show completion")):
            continue  # typer's own
        assert _norm(sentence) in text, (cmd, width, sentence)


# --------------------------------------------------------------------------- report table


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    import os
    from pathlib import Path

    from align.pipeline import Scorer

    old = os.environ.get("ALIGN_CACHE_DIR")
    os.environ["ALIGN_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    try:
        scorer = Scorer(model="lexical")
        root = Path(__file__).resolve().parents[1]
        return [scorer.score_path(root / "examples" / "plan.txt")]
    finally:
        if old is None:
            os.environ.pop("ALIGN_CACHE_DIR")
        else:
            os.environ["ALIGN_CACHE_DIR"] = old


def _cells(table_text: str) -> dict[str, dict[int, str]]:
    """task id -> {column index: the cell's text over all its lines, whitespace removed}."""
    rows: dict[str, dict[int, str]] = {}
    current = None
    for line in table_text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if cells[0]:
            current = cells[0]
            rows[current] = {}
        if current is None:
            continue
        for i, c in enumerate(cells):
            rows[current][i] = rows[current].get(i, "") + re.sub(r"\s+", "", c)
    return rows


@pytest.mark.parametrize("width", WIDTHS)
def test_table_keeps_titles_and_evidence_locations_whole(reports, width):
    from align.report.table import TableFormatter

    install()
    out = TableFormatter(width=width).format(reports)
    assert max(len(ln) for ln in out.splitlines()) <= width
    rows = _cells(out)
    tasks = [t for s in reports[0].policy_sets for t in s.tasks]
    located = 0
    for t in tasks:
        cells = rows[t.id]
        assert cells[1] == re.sub(r"\s+", "", t.title), (t.id, cells[1])
        if t.evidence and t.evidence[0].location.label():
            loc = re.sub(r"\s+", "", t.evidence[0].location.label())
            evidence = cells[max(cells)]  # the last column (a 可考核 column may precede it)
            assert f"（{loc}）" in evidence, (t.id, width, evidence)
            located += 1
    assert located >= 10
