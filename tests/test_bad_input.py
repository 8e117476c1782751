"""Bad input through `align chunks`: one line naming the file and the reason, exit code 2, no
traceback, and the other files still processed."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from docx import Document as DocxDocument
from typer.testing import CliRunner

from align.chunk import count_tokens
from align.cli import app

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "pdfgen", Path(__file__).parent / "fixtures" / "read" / "pdfgen.py"
)
assert _spec and _spec.loader
pdfgen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pdfgen)

GOOD = "一、总体要求\n坚持立德树人，深化产教融合。\n"


def run(*args: str | Path):
    result = CliRunner().invoke(app, ["chunks", *map(str, args)])
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result


def assert_one_error(result, path: Path | str, *fragments: str) -> None:
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"错误 error: {path}: ")
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
    assert "Traceback" not in result.stderr


def _docx_bytes() -> bytes:
    d = DocxDocument()
    d.add_paragraph("一、总体要求")
    d.add_paragraph("坚持立德树人。")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    f = tmp_path / name
    f.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        f.write_text(data, encoding="utf-8")
    else:
        f.write_bytes(data)
    return f


# --------------------------------------------------------------------------- one bad file each


def test_missing_file(tmp_path):
    f = tmp_path / "nope.txt"
    assert_one_error(run(f), f, "文件不存在", "file not found")


def test_directory_without_plans(tmp_path):
    d = tmp_path / "plans"
    d.mkdir()
    _write(d, "notes.rst", "x")
    assert_one_error(run(d), d, "目录中没有可读的规划文件", "no plan files in directory")


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.docx", "a.pdf", "a.html"])
def test_empty_file(tmp_path, name):
    f = _write(tmp_path, name, b"")
    assert_one_error(run(f), f, "文件为空", "empty file")


@pytest.mark.parametrize(
    "data", [b" \n\t\r\n", "\u3000\u3000\n\n".encode(), "\ufeff  \n".encode("utf-8")]
)
def test_whitespace_only_text(tmp_path, data):
    f = _write(tmp_path, "a.txt", data)
    assert_one_error(run(f), f, "只有空白字符", "only whitespace")


def test_docx_with_only_blank_paragraphs(tmp_path):
    d = DocxDocument()
    d.add_paragraph("   ")
    d.add_paragraph("")
    buf = io.BytesIO()
    d.save(buf)
    f = _write(tmp_path, "blank.docx", buf.getvalue())
    assert_one_error(run(f), f, "Word 文档中没有可读的文字", "no readable text")


def test_html_without_visible_text(tmp_path):
    f = _write(tmp_path, "a.html", "<html><head><title>t</title><script>x()</script></head></html>")
    assert_one_error(run(f), f, "网页中没有可读的文字", "no readable text")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("nul.txt", bytes(range(256)) * 8),  # NUL bytes
        ("ctrl.txt", bytes(b % 32 for b in range(1, 2000) if b % 32 not in (0, 9, 10, 13))),
        ("image.md", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
        ("zip.html", _docx_bytes()),
    ],
)
def test_binary_garbage_with_a_text_extension(tmp_path, name, data):
    f = _write(tmp_path, name, data)
    assert_one_error(run(f), f, "二进制数据", "binary data")


def test_truncated_docx(tmp_path):
    data = _docx_bytes()
    f = _write(tmp_path, "cut.docx", data[: len(data) // 2])
    assert_one_error(run(f), f, ".docx 文件已损坏或不完整", "corrupted or truncated .docx")


def test_corrupted_docx_member(tmp_path):
    """A readable zip directory around a broken document.xml."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_docx_bytes())) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "word/document.xml":
                body = body[: len(body) // 2]  # XML cut mid-element
            dst.writestr(info, body)
    f = _write(tmp_path, "broken.docx", buf.getvalue())
    assert_one_error(run(f), f, ".docx 文件已损坏", "corrupted .docx")


def test_docx_that_is_not_a_zip(tmp_path):
    f = _write(tmp_path, "fake.docx", "这其实是文本".encode())
    assert_one_error(run(f), f, "不是有效的 .docx", "not a zip archive")


def test_docx_zip_bomb(tmp_path):
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(_docx_bytes())) as src,
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("word/media/bomb.bin", bytes(8 * 1024 * 1024))  # 8 MB of zeros, ~8 KB packed
    assert len(buf.getvalue()) < 100_000
    f = _write(tmp_path, "bomb.docx", buf.getvalue())
    assert_one_error(run(f), f, "疑似压缩炸弹", "zip bomb", "bomb.bin")


def test_truncated_pdf(tmp_path):
    data = pdfgen.make_pdf([["坚持立德树人。"]])
    f = _write(tmp_path, "cut.pdf", data[: len(data) * 2 // 3])
    assert_one_error(run(f), f, "PDF 文件不完整", "truncated PDF")


def test_corrupted_pdf(tmp_path):
    f = _write(tmp_path, "bad.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n")
    assert_one_error(run(f), f, "PDF 文件已损坏", "corrupted PDF")


def test_pdf_that_is_not_a_pdf(tmp_path):
    f = _write(tmp_path, "fake.pdf", "正文".encode())
    assert_one_error(run(f), f, "不是有效的 PDF", "not a PDF")


def test_scanned_pdf_without_text_layer(tmp_path):
    f = _write(tmp_path, "scan.pdf", pdfgen.make_pdf([[], []]))
    assert_one_error(run(f), f, "没有文字层", "扫描件", "OCR", ".docx")


def test_encrypted_pdf(tmp_path):
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(pdfgen.make_pdf([["坚持立德树人。"]]))))
    w.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    f = _write(tmp_path, "locked.pdf", buf.getvalue())
    assert_one_error(run(f), f, "PDF 已加密", "encrypted PDF")


def test_legacy_doc(tmp_path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    f = _write(tmp_path, "old.doc", ole)
    assert_one_error(run(f), f, "旧版 Word", "另存为", ".docx", "legacy .doc")
    g = _write(tmp_path, "renamed.docx", ole)  # a .doc renamed, or a password-protected .docx
    assert_one_error(run(g), g, "旧版 Word (.doc) 文件或加密的 Word 文件", "save as")


def test_file_over_the_size_limit(tmp_path):
    f = _write(tmp_path, "big.txt", GOOD * 200)  # ~7 KB
    result = CliRunner().invoke(app, ["chunks", str(f), "--max-size", "0.005"])
    assert_one_error(result, f, "文件过大（", "KB，上限 5.1 KB）", "file too large")
    assert run(f).exit_code == 0  # within the default 50 MB


@pytest.mark.parametrize("name", ["plan.xyz", "plan.rtf", "plan"])
def test_unknown_extension(tmp_path, name):
    f = _write(tmp_path, name, GOOD)
    assert_one_error(run(f), f, "不支持的文件类型", "unsupported file type")


def test_unknown_forced_encoding(tmp_path):
    f = _write(tmp_path, "a.txt", GOOD)
    result = CliRunner().invoke(app, ["chunks", str(f), "--encoding", "klingon"])
    assert_one_error(result, f, "未知的编码", "unknown encoding")


# --------------------------------------------------------------------------- several files


def test_several_files_the_good_ones_are_still_processed(tmp_path):
    good1 = _write(tmp_path, "good1.txt", GOOD)
    empty = _write(tmp_path, "empty.txt", b"")
    missing = tmp_path / "missing.docx"
    good2 = _write(tmp_path, "good2.docx", _docx_bytes())
    result = CliRunner().invoke(
        app, ["chunks", str(good1), str(empty), str(missing), str(good2), "--format", "json"]
    )
    assert result.exit_code == 2
    rows = json.loads(result.stdout)
    assert sorted({r["path"] for r in rows}) == sorted([str(good1), str(good2)])
    errors = result.stderr.strip().splitlines()
    assert errors == [
        f"错误 error: {missing}: 文件不存在 (file not found)",
        f"错误 error: {empty}: 文件为空 (empty file)",
    ]


def test_all_good_files_exit_zero_and_json_rows_are_complete(tmp_path):
    good = _write(tmp_path, "plans/good.txt", GOOD)
    result = CliRunner().invoke(app, ["chunks", str(good.parent), "-f", "json"])
    assert result.exit_code == 0 and result.stderr == ""
    rows = json.loads(result.stdout)
    assert rows[0] == {
        "path": str(good),
        "id": "c0001",
        "text": "一、总体要求\n坚持立德树人，深化产教融合。",
        "tokens": count_tokens("一、总体要求\n坚持立德树人，深化产教融合。"),
        "heading_path": ["一、总体要求"],
        "label": "一、总体要求 · 第1行",
        "location": {
            "page": None,
            "heading": "一、总体要求",
            "line": 1,
            "paragraph": 0,
            "start": 0,
            "end": 21,
        },
    }


def test_table_output_shows_chunks_with_chinese_headers(tmp_path):
    good = _write(tmp_path, "good.txt", GOOD + "[1] 方括号不是富文本标记。\n")
    result = CliRunner().invoke(app, ["chunks", str(good)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    out = result.stdout
    for frag in ("编号", "位置", "标题", "文本", "c0001", "一、总体要求 · 第1行", "[1] 方括号"):
        assert frag in out, frag


def test_bad_format_is_a_usage_error(tmp_path):
    good = _write(tmp_path, "good.txt", GOOD)
    result = CliRunner().invoke(app, ["chunks", str(good), "--format", "xml"])
    assert result.exit_code == 2
    assert "--format" in result.stderr


def test_real_process_every_bad_input_at_once_no_traceback(tmp_path):
    """The installed entry point, all at once: each bad file one line, the good one chunked."""
    bad = {
        "empty.txt": b"",
        "blank.txt": b"  \n",
        "garbage.txt": bytes(range(256)),
        "cut.docx": _docx_bytes()[:500],
        "scan.pdf": pdfgen.make_pdf([[]]),
        "x.xyz": b"abc",
        "old.doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    }
    paths = [_write(tmp_path, n, d) for n, d in bad.items()]
    good = _write(tmp_path, "good.txt", GOOD)
    args = [str(p) for p in paths] + [str(tmp_path / "missing.pdf"), str(good), "-f", "json"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "align", "chunks", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(bad) + 1
    assert all(ln.startswith("错误 error: ") for ln in lines)
    named = {Path(ln.split(": ")[1]).name for ln in lines}
    assert named == set(bad) | {"missing.pdf"}
    rows = json.loads(proc.stdout)
    assert {r["path"] for r in rows} == {str(good)}


def test_utf16_without_bom_is_detected_or_gets_a_hint_and_the_override_works(tmp_path):
    f = _write(tmp_path, "notes.txt", "Plan 2025: vocational education.\n".encode("utf-16-le"))
    result = CliRunner().invoke(app, ["chunks", str(f), "-f", "json"])
    assert result.exit_code == 0  # plain text in UTF-16: detected
    assert json.loads(result.stdout)[0]["text"] == "Plan 2025: vocational education."
    # mostly ASCII with many other letters: not guessed, but the hint names the option
    g = _write(tmp_path, "sl.txt", ("Načrt šole č ž " * 4).encode("utf-16-le"))
    assert_one_error(run(g), g, "没有 BOM 的 UTF-16", "--encoding utf-16-le")
    result = CliRunner().invoke(app, ["chunks", str(f), "--encoding", "utf-16-le", "-f", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["text"] == "Plan 2025: vocational education."
