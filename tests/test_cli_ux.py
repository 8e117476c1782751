"""How the CLI reads and talks: the output format from `-o`'s extension, `-` for standard input
with `--name`, `--quiet` / `--verbose`, shell completion, and one progress display per run."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from align import ui
from align.cli import run

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "plan.txt"
LEX = ["--model", "lexical"]

pytestmark = pytest.mark.usefixtures("cache_dir")


@pytest.fixture(autouse=True)
def _normal_verbosity():
    yield
    ui.set_verbosity(ui.NORMAL)  # --quiet / --verbose set process state; tests run in-process


def _align(args: list[str], stdin: bytes | None = None, **env: str) -> subprocess.CompletedProcess:
    """The real command in a subprocess (stdin, stderr and the exit code as a user sees them)."""
    full = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **env}
    full.pop("CI", None)
    return subprocess.run([sys.executable, "-m", "align", *args], input=stdin, env=full,
                          capture_output=True, timeout=300)


# --------------------------------------------------------------------------- -o infers -f


@pytest.mark.parametrize(
    ("suffix", "check"),
    [
        (".json", lambda t: json.loads(t)["schema"] == "align-report/1"),
        (".jsonl", lambda t: json.loads(t.splitlines()[0])["schema"] == "align-report/1"),
        (".md", lambda t: t.lstrip().startswith("#") and "tzpy-04" in t),
        (".html", lambda t: t.lstrip().lower().startswith("<!doctype html")),
        (".txt", lambda t: "┏" in t and "tzpy-04" in t and "\x1b[" not in t),
    ],
)
def test_score_output_format_follows_the_extension(tmp_path, capsys, suffix, check):
    out = tmp_path / f"report{suffix}"
    assert run(["score", str(PLAN), *LEX, "-o", str(out)]) == 0
    assert check(out.read_text(encoding="utf-8")), out.read_text(encoding="utf-8")[:300]


@pytest.mark.parametrize(
    ("suffix", "check"),
    [
        (".sarif", lambda t: json.loads(t)["version"] == "2.1.0"),
        (".xml", lambda t: ET.fromstring(t).tag in {"testsuites", "testsuite"}),
        (".json", lambda t: json.loads(t)["schema"] == "align-check/1"),
    ],
)
def test_check_output_format_follows_the_extension(tmp_path, suffix, check, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no align.toml above: the default rules
    out = tmp_path / f"findings{suffix}"
    code = run(["check", str(PLAN), *LEX, "-o", str(out)])
    assert code in (0, 1)
    assert check(out.read_text(encoding="utf-8"))


def test_an_extension_the_command_cannot_write_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "report.sarif"  # SARIF is `align check`'s, not `align score`'s
    assert run(["score", str(PLAN), *LEX, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ".sarif" in err[0] and "-f" in err[0]
    assert not out.exists()


def test_explicit_format_wins_and_the_mismatch_is_noted(tmp_path, capsys):
    out = tmp_path / "report.md"
    assert run(["score", str(PLAN), *LEX, "-f", "json", "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["schema"] == "align-report/1"
    assert "扩展名" in capsys.readouterr().err


def test_policies_and_chunks_infer_json_too(tmp_path):
    assert run(["policies", "-o", str(tmp_path / "p.json")]) == 0
    assert json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["policy_sets"]
    assert run(["chunks", str(PLAN), "-o", str(tmp_path / "c.json")]) == 0
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))[0]["id"]


# --------------------------------------------------------------------------- stdin


def test_dash_reads_the_plan_from_stdin_with_its_name():
    r = _align(["score", "-", "--name", "规划初稿.txt", *LEX, "-f", "json"], stdin=PLAN.read_bytes())
    assert r.returncode == 0, r.stderr.decode()
    rep = json.loads(r.stdout)
    assert rep["document"]["path"] == "规划初稿.txt"
    assert rep["document"]["chars"] == len(PLAN.read_text(encoding="utf-8"))
    from_file = _align(["score", str(PLAN), *LEX, "-f", "json"])
    assert rep["policy_sets"] == json.loads(from_file.stdout)["policy_sets"]


def test_stdin_name_picks_the_reader_and_keeps_its_place_in_a_batch():
    docx = ROOT / "examples" / "plan.docx"
    r = _align(["score", str(PLAN), "-", "--name", "plan.docx", *LEX, "-f", "jsonl"],
               stdin=docx.read_bytes())
    assert r.returncode == 0, r.stderr.decode()
    docs = [json.loads(ln)["document"] for ln in r.stdout.decode().splitlines()]
    assert [d["path"] for d in docs] == [str(PLAN), "plan.docx"]
    assert docs[1]["format"] == "docx"


def test_stdin_without_name_and_bad_stdin_input():
    r = _align(["score", "-", *LEX, "-f", "json"], stdin="一、总体目标\n建设高水平专业群。\n".encode())
    assert r.returncode == 0 and json.loads(r.stdout)["document"]["path"] == "stdin.txt"
    empty = _align(["score", "-", *LEX, "-f", "json"], stdin=b"")
    assert empty.returncode == 2 and empty.stdout == b""
    assert empty.stderr.decode().startswith("错误 error: stdin.txt")
    twice = _align(["score", "-", "-", *LEX], stdin=b"x")
    assert twice.returncode == 2 and "只能出现一次" in twice.stderr.decode()
    stray = _align(["score", str(PLAN), "--name", "a.txt", *LEX])
    assert stray.returncode == 2 and "--name" in stray.stderr.decode()


def test_check_reads_stdin_too(tmp_path):
    r = _align(["check", "-", "--name", "plans/草稿.txt", *LEX, "-f", "json"],
               stdin=PLAN.read_bytes())
    assert r.returncode in (0, 1), r.stderr.decode()
    assert json.loads(r.stdout)["documents"] == ["plans/草稿.txt"]


# --------------------------------------------------------------------------- --quiet / --verbose


def test_quiet_silences_notices_but_not_errors(tmp_path, capsys):
    out = tmp_path / "report.md"
    bad = tmp_path / "empty.txt"
    bad.write_text("", encoding="utf-8")
    args = ["score", str(PLAN), str(bad), *LEX, "-f", "json", "-o", str(out)]
    assert run(args) == 2
    loud = capsys.readouterr().err
    assert "提示 warning" in loud and "错误 error" in loud
    ui.set_verbosity(ui.NORMAL)
    assert run([*args, "--quiet"]) == 2
    quiet = capsys.readouterr().err.strip().splitlines()
    assert len(quiet) == 1 and quiet[0].startswith("错误 error:") and "empty.txt" in quiet[0]


def test_quiet_before_the_command_works_as_well(capsys, tmp_path):
    assert run(["-q", "score", str(PLAN), *LEX, "-f", "json", "-o", str(tmp_path / "r.md")]) == 0
    assert capsys.readouterr().err == ""


def test_verbose_says_model_cache_and_time(capsys):
    assert run(["score", str(PLAN), *LEX, "-f", "json", "--verbose"]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("详情 info:")]
    assert any("模型 model lexical" in ln and "缓存 cache" in ln for ln in lines)
    assert any("用时 seconds" in ln for ln in lines)
    assert any("5440 字" in ln for ln in lines)


# --------------------------------------------------------------------------- completion


def _align_exe() -> str:
    exe = Path(sys.executable).parent / "align"
    if not exe.exists():
        found = shutil.which("align")
        if not found:
            pytest.skip("the align console script is not installed")
        exe = Path(found)
    return str(exe)


def _complete(words: str, cword: int) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "_ALIGN_COMPLETE": "complete_bash",
           "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    r = subprocess.run([_align_exe()], env=env, capture_output=True, text=True, timeout=60)
    return r.stdout.split()


def test_shell_completion_completes_commands_options_and_models(tmp_path):
    assert _complete("align sc", 1) == ["score"]
    assert "--format" in _complete("align score --fo", 2)
    assert _complete("align score --model ", 3) == ["e5-small", "use-m3", "lexical"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HOME": str(tmp_path),
           "SHELL": "/bin/bash"}
    r = subprocess.run([_align_exe(), "--install-completion", "bash"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "_ALIGN_COMPLETE" in (tmp_path / ".bash_completions" / "align.sh").read_text()
    assert ".bash_completions/align.sh" in (tmp_path / ".bashrc").read_text()


# --------------------------------------------------------------------------- one progress display


class FakeEmbedder:
    """A stand-in model (the test is about the display, not about vectors): records which lines
    the run's display shows while it embeds."""

    seen: list[list[str]] = []

    def __new__(cls):
        from align.embed.base import Embedder
        from align.types import ModelInfo

        class _Fake(Embedder):
            dense = True

            def _embed(self, texts):
                disp = ui._display
                FakeEmbedder.seen.append([t.description for t in disp.tasks] if disp else [])
                FakeEmbedder.displays.add(id(disp))
                return np.ones((len(texts), 4), dtype=np.float32)

            @property
            def dim(self):
                return 4

        return _Fake(ModelInfo(name="fake"), cache=None, progress=True)


def _terminal_console():
    from rich.console import Console

    return Console(file=io.StringIO(), force_terminal=True, width=100)


def test_embedding_joins_the_runs_display_instead_of_drawing_its_own(monkeypatch):
    import rich.live

    starts = []
    orig = rich.live.Live.start
    monkeypatch.setattr(rich.live.Live, "start", lambda self, *a, **k: (starts.append(self),
                                                                         orig(self, *a, **k)))
    FakeEmbedder.seen, FakeEmbedder.displays = [], set()
    emb = FakeEmbedder()
    texts = [f"第{i}段" for i in range(100)]
    with ui.live(console=_terminal_console()) as display, ui.stage("评分 scoring", total=2) as s:
        assert display is not None
        emb.encode_passages(texts)
        s.advance()
        emb.encode_passages([f"另{i}" for i in range(100)])
    assert len(starts) == 1  # one Live for the whole run
    assert FakeEmbedder.displays == {id(display)}
    assert all(lines == ["评分 scoring", "嵌入 embedding"] for lines in FakeEmbedder.seen)
    assert ui._display is None  # closed with the run


def test_without_a_terminal_or_with_quiet_nothing_is_drawn():
    from rich.console import Console

    with ui.live(console=Console(file=io.StringIO(), force_terminal=False)) as display:
        assert display is None
        assert not ui.stage("评分 scoring", total=3)
    ui.set_verbosity(ui.QUIET)
    with ui.live(console=_terminal_console()) as display:
        assert display is None and not ui.stage("x", total=1)


def test_a_library_stage_outside_a_run_gets_a_display_of_its_own(monkeypatch):
    monkeypatch.setattr(ui, "_stderr_console", _terminal_console)
    with ui.stage("嵌入 embedding", total=10) as outer:
        assert outer and ui._display is not None
        inner = ui.stage("构建 e5 模型", total=4)  # a nested stage joins it
        assert [t.description for t in ui._display.tasks] == ["嵌入 embedding", "构建 e5 模型"]
        inner.close()
    assert ui._display is None


def test_notices_print_above_the_display(capsys):
    buf = _terminal_console()
    with ui.live(console=buf), ui.stage("评分 scoring", total=1):
        ui.notice("缓存已重建 (cache rebuilt)")
    assert "提示 warning: 缓存已重建" in buf.file.getvalue()
