"""Issue 14, files and streams: what a careless user or an attacker points align at.

Rows 1-4, 9 and 14 of the issue, and the exit-code contract (0 / 1 / 2 / 130, 3 for a bug with
the traceback in a log file). Hanging or memory-hungry cases run in a real process with a
timeout and an address-space limit, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

resource = pytest.importorskip("resource")  # POSIX: the hanging cases need rlimits

from align.cli import app  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GOOD = "一、总体要求\n坚持立德树人，深化产教融合，推行现代学徒制和订单培养。\n"
COVERED_MORE = "二、深化校企合作\n与本地企业共建产业学院和实训基地，校企共同制定人才培养方案，开设订单班。\n"
posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, /dev and rlimits are POSIX")


def _limits(fsize: int | None = None):
    def apply() -> None:
        try:  # 1 GB of address space: a runaway read dies instead of swapping the machine
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        except (ValueError, OSError):  # macOS does not enforce RLIMIT_AS
            pass
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return apply


def align(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, fsize: int | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """The real entry point in a child process (bytes out: encodings are under test)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "align", *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        timeout=timeout,
        preexec_fn=_limits(fsize),
    )


def err_lines(proc: subprocess.CompletedProcess[bytes]) -> list[str]:
    return [ln for ln in proc.stderr.decode("utf-8").splitlines() if ln.strip()]


@pytest.fixture
def plans(tmp_path, cache_dir) -> Path:
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    return tmp_path


# --------------------------------------------------------------------------- row 1: FIFOs


@posix_only
@pytest.mark.parametrize("command", ["chunks", "score"])
def test_a_fifo_plan_is_refused_and_the_batch_goes_on(plans, command):
    os.mkfifo(plans / "f.txt")
    extra = ["-m", "lexical", "-f", "jsonl"] if command == "score" else ["-f", "json"]
    proc = align(command, "good.txt", "f.txt", *extra, cwd=plans, timeout=90)
    assert proc.returncode == 2
    assert err_lines(proc) == ["错误 error: f.txt: 这是命名管道，不是普通文件 (not a regular file: FIFO)"]
    out = proc.stdout.decode("utf-8")
    paths = (
        [json.loads(ln)["document"]["path"] for ln in out.splitlines()]
        if command == "score"
        else [r["path"] for r in json.loads(out)]
    )
    assert set(paths) == {"good.txt"}


@posix_only
def test_a_fifo_in_diff_policy_config_and_baseline_is_refused(plans):
    os.mkfifo(plans / "f.txt")
    os.mkfifo(plans / "f.toml")
    for args, fragment in (
        (["diff", "good.txt", "f.txt", "-m", "lexical"], "f.txt: 这是命名管道"),
        (["policies", "--policy", "f.toml"], "f.toml: 无法读取政策文件：这是命名管道"),
        (["check", "good.txt", "--config", "f.toml", "-m", "lexical"], "f.toml: 无法读取配置文件"),
        (["check", "good.txt", "--baseline", "f.txt", "-m", "lexical"], "f.txt: 无法读取基线文件"),
    ):
        proc = align(*args, cwd=plans, timeout=90)
        lines = err_lines(proc)
        assert proc.returncode == 2, (args, lines)
        assert len(lines) == 1 and fragment in lines[0], (args, lines)


# --------------------------------------------------------------------------- row 2: devices


@posix_only
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_link_to_an_endless_device_is_refused(plans, device):
    (plans / "z.txt").symlink_to(device)
    proc = align("chunks", "z.txt", "good.txt", "-f", "json", cwd=plans)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "错误 error: z.txt: 这是设备文件，不是普通文件 (not a regular file: device)"
    ]
    assert [r["path"] for r in json.loads(proc.stdout)] == ["good.txt"]


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_the_size_limit_holds_while_reading_not_only_from_stat(plans):
    # /proc files are regular files whose stat size is 0, whatever they hold
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0 and len(status.read_bytes()) > 1024
    (plans / "p.txt").symlink_to(status)
    proc = align("chunks", "p.txt", "--max-size", "0.001", cwd=plans)
    assert proc.returncode == 2
    assert err_lines(proc) == ["错误 error: p.txt: 文件过大（读取时超过上限 1 KB）(file too large)"]


def test_read_limited_never_reads_past_the_limit(tmp_path):
    from align.fileio import FileProblem, read_limited

    f = tmp_path / "a.txt"
    f.write_bytes(b"x" * 100)
    assert read_limited(f, 100) == b"x" * 100
    with pytest.raises(FileProblem) as e:
        read_limited(f, 99)
    assert e.value.too_large and e.value.size == 100


# --------------------------------------------------------------------------- row 3: writes


@posix_only
@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("outdir", "这是目录而不是文件 (is a directory)"),
        pytest.param(
            "/dev/full",
            "磁盘空间不足",
            marks=pytest.mark.skipif(not Path("/dev/full").exists(), reason="Linux /dev/full"),
        ),
    ],
)
def test_output_to_a_directory_or_a_full_device_is_one_line(plans, target, reason):
    (plans / "outdir").mkdir()
    proc = align("chunks", "good.txt", "-f", "json", "-o", target, cwd=plans)
    assert proc.returncode == 2
    lines = err_lines(proc)
    assert len(lines) == 1 and lines[0].startswith(f"错误 error: {target}: 无法写入输出文件："), lines
    assert reason in lines[0]


@posix_only
def test_a_write_that_runs_out_of_space_leaves_the_old_report(plans):
    """RLIMIT_FSIZE makes every write past 200 bytes fail with EFBIG, as a full disk or a
    quota would: the old report must survive whole and no temporary file may be left."""
    old = plans / "report.json"
    old.write_text('{"old": true}\n', encoding="utf-8")
    proc = align("score", "good.txt", "-m", "lexical", "--no-cache", "-f", "json", "-o",
                 "report.json", cwd=plans, fsize=200)
    assert proc.returncode == 2
    lines = err_lines(proc)
    assert len(lines) == 1 and "report.json: 无法写入输出文件" in lines[0], lines
    assert "原文件未改动" in lines[0]
    assert old.read_text(encoding="utf-8") == '{"old": true}\n'
    assert sorted(p.name for p in plans.iterdir()) == ["good.txt", "report.json"]


def test_output_replaces_the_file_and_keeps_its_mode_and_links(tmp_path):
    from align.fileio import write_atomic

    real = tmp_path / "real.json"
    real.write_text("old", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomic(link, "新内容".encode())
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "新内容"
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


# --------------------------------------------------------------------------- row 4: encodings


@pytest.mark.parametrize("codepage", ["cp936", "cp1252"])
def test_machine_formats_are_utf8_on_a_legacy_console(plans, codepage):
    # two passages on 产教融合, so a task is covered (✔): one passage alone is only partial
    (plans / "covered.txt").write_text(GOOD + COVERED_MORE, encoding="utf-8")
    env = {"PYTHONIOENCODING": codepage}
    for fmt in ("markdown", "json"):
        proc = align("score", "covered.txt", "-m", "lexical", "-f", fmt, cwd=plans, env=env)
        assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
        text = proc.stdout.decode("utf-8")  # UTF-8 whatever the console says
        assert "covered.txt" in text and "Traceback" not in proc.stderr.decode("utf-8", "replace")
        if fmt == "markdown":
            assert "✔" in text


def test_the_table_degrades_symbols_a_chinese_console_lacks(plans):
    (plans / "covered.txt").write_text(GOOD + COVERED_MORE, encoding="utf-8")
    proc = align("score", "covered.txt", "-m", "lexical", cwd=plans, env={"PYTHONIOENCODING": "cp936"})
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in proc.stderr
    table = proc.stdout.decode("gb18030")
    assert "已覆盖" in table and "√" in table and "✔" not in table


def test_the_table_on_a_latin_console_does_not_crash(plans):
    proc = align("score", "good.txt", "-m", "lexical", cwd=plans, env={"PYTHONIOENCODING": "cp1252"})
    assert proc.returncode == 0
    assert b"Traceback" not in proc.stderr
    assert "tzpy-04" in proc.stdout.decode("cp1252")


# --------------------------------------------------------------------------- row 9: names


def test_a_newline_in_a_file_name_stays_on_one_line(plans):
    name = "bad\n::error::x.txt"
    (plans / name).write_bytes(b"")
    proc = align("chunks", name, "good.txt", cwd=plans)
    assert proc.returncode == 2
    assert err_lines(proc) == [f"错误 error: {name!r}: 文件为空 (empty file)"]


def test_ordinary_chinese_names_are_shown_as_they_are():
    from align.errors import InputError

    assert str(InputError("文件为空 (empty file)", path="规划/二〇二五.txt")) == (
        "规划/二〇二五.txt: 文件为空 (empty file)"
    )


# --------------------------------------------------------------------------- row 14: folders


@posix_only
def test_a_symlink_loop_and_a_broken_link_give_the_real_reason(plans):
    (plans / "loop.txt").symlink_to("loop.txt")
    (plans / "gone.txt").symlink_to("nowhere.txt")
    proc = align("chunks", "loop.txt", "gone.txt", "good.txt", cwd=plans)
    assert proc.returncode == 2
    assert err_lines(proc) == [
        "错误 error: loop.txt: 符号链接循环，无法解析 (symlink loop)",
        "错误 error: gone.txt: 符号链接指向的文件不存在 (broken symlink)",
    ]


def test_files_skipped_in_a_folder_are_listed_in_one_notice(tmp_path):
    d = tmp_path / "plans"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text(GOOD, encoding="utf-8")
    (d / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (d / "sub" / "table.xlsx").write_bytes(b"PK")
    (d / ".hidden.doc").write_bytes(b"x")  # hidden files stay unmentioned
    result = CliRunner().invoke(app, ["chunks", str(d), "-f", "json"])
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"提示 warning: {d}: 跳过 2 个不支持的文件 (skipped unsupported files)：old.doc、sub/table.xlsx"
    ]
    assert [Path(r["path"]).name for r in json.loads(result.stdout)] == ["a.txt"]


# --------------------------------------------------------------------------- exit codes


def test_an_internal_error_is_one_line_naming_the_log_exit_3(plans, cache_dir, monkeypatch):
    import align.read

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(align.read, "read_document", broken)  # a bug, wherever it may be
    result = CliRunner().invoke(app, ["chunks", str(plans / "good.txt")])
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("内部错误 internal error: RuntimeError: boom；")
    assert "Traceback" not in result.stderr and "second line" not in result.stderr
    logs = list((cache_dir / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    body = logs[0].read_text(encoding="utf-8")
    assert "Traceback" in body and "second line" in body and "broken" in body


def test_exit_codes_zero_and_two(plans):
    assert align("chunks", "good.txt", cwd=plans).returncode == 0
    assert align("chunks", "missing.txt", cwd=plans).returncode == 2
    assert align("chunks", "good.txt", "--format", "xml", cwd=plans).returncode == 2


def test_an_interrupt_is_one_line_exit_130(plans, monkeypatch):
    import align.read

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(align.read, "read_document", interrupted)
    result = CliRunner().invoke(app, ["chunks", str(plans / "good.txt")])
    assert result.exit_code == 130
    assert result.stderr.splitlines() == ["已中断 interrupted"]


def test_a_rule_failure_is_the_only_exit_1(plans):
    (plans / "align.toml").write_text('required = ["tzpy-09"]\n', encoding="utf-8")
    cfg = plans / "align.toml"
    proc = align("check", "good.txt", "-m", "lexical", "--config", cfg, cwd=plans)
    assert proc.returncode == 1, proc.stderr.decode()


def test_check_findings_name_a_file_with_a_newline_on_one_line():
    from align.report.check_formats import finding_line

    class V:
        path, line, page, task_id, level, rule = "a\nb.txt", 3, None, "tzpy-04", "error", "required"
        message_zh = "未覆盖"

    class R:
        class config:
            source = None

    assert finding_line(V, R) == "'a\\nb.txt':3:1: error required [tzpy-04] 未覆盖"
