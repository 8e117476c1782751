"""Issue 14, rows 6-8: decoding that refused readable plans or guessed the wrong code page.

A few bad bytes in a UTF-8 plan (a stray byte, a file cut mid-character) are replaced and
reported in one warning line with their count and first offset; only mostly undecodable text
is refused. HTML follows the same rules; Chinese UTF-16 without a BOM is detected.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from align.cli import app
from align.errors import InputError
from align.read import read_bytes

PLAN = "一、总体要求\n坚持立德树人，深化产教融合，推行现代学徒制和订单培养。\n"


def chunks(path: Path, *extra: str):
    result = CliRunner().invoke(app, ["chunks", str(path), "-f", "json", *extra])
    return result, (json.loads(result.stdout) if result.exit_code == 0 else None)


def read_warned(data: bytes, name: str, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        doc = read_bytes(data, name, **kw)
    return doc, [w.message for w in caught if type(w.message).__name__ == "InputWarning"]


# --------------------------------------------------------------------------- row 6


@pytest.mark.parametrize("forced", [[], ["--encoding", "utf-8"]])
def test_one_invalid_byte_in_a_utf8_plan_is_replaced_and_reported(tmp_path, forced):
    raw = PLAN.encode("utf-8")
    at = raw.index("融合".encode())
    f = tmp_path / "plan.txt"
    f.write_bytes(raw[:at] + b"\xff" + raw[at:])
    result, rows = chunks(f, *forced)
    assert result.exit_code == 0, result.stderr
    assert rows[0]["text"] == PLAN.strip().replace("融合", "\ufffd融合")
    assert result.stderr.splitlines() == [
        f"提示 warning: {f}: 有 1 个字节无法按 utf-8 解码，已替换为 �，首个在第 {at} 字节 "
        f"(replaced 1 undecodable bytes, first at byte offset {at})"
    ]


def test_a_file_cut_mid_character_is_read(tmp_path):
    raw = PLAN.strip().encode("utf-8")[:-1]  # the last "。" loses a byte
    doc, warned = read_warned(raw, "cut.txt")
    assert doc.encoding == "utf-8" and doc.text.endswith("培养\ufffd")
    assert len(warned) == 1 and "有 2 个字节无法按 utf-8 解码" in str(warned[0])


def test_mostly_undecodable_text_is_still_refused():
    garbage = bytes(range(128, 256)) * 20
    with pytest.raises(InputError, match="不是文本|无法识别"):
        read_bytes(garbage, "x.txt")
    with pytest.raises(InputError, match="无法按 utf-8 解码"):
        read_bytes(garbage, "x.txt", encoding="utf-8")


def test_gbk_plans_are_still_gbk_not_utf8_with_damage():
    doc, warned = read_warned(PLAN.encode("gbk"), "gbk.txt")
    assert doc.encoding == "gb18030" and doc.text == PLAN and not warned


# --------------------------------------------------------------------------- row 7


def test_a_short_utf8_page_with_one_bad_byte_is_utf8(tmp_path):
    page = "<html><body><h1>一、总体要求</h1><p>坚持立德树人，深化产教融合。</p></body></html>"
    raw = page.encode("utf-8")
    at = raw.index("融合".encode())
    f = tmp_path / "p.html"
    f.write_bytes(raw[:at] + b"\xff" + raw[at:])
    result, rows = chunks(f)
    assert result.exit_code == 0, result.stderr
    assert "坚持立德树人，深化产教\ufffd融合。" in rows[0]["text"]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"提示 warning: {f}: 有 1 个字节无法按 utf-8 解码")


def test_a_long_page_with_bad_bytes_prints_only_our_line(tmp_path):
    body = "".join(f"<p>（{i}）坚持立德树人，深化产教融合，推行现代学徒制。</p>" for i in range(400))
    raw = f"<html><body>{body}</body></html>".encode()
    f = tmp_path / "long.html"
    f.write_bytes(raw[:5000] + b"\xfe\xff" + raw[5000:])
    result, rows = chunks(f)
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("提示 warning: "), lines


def test_a_declared_charset_is_honoured():
    page = '<html><head><meta charset="gbk"></head><body><p>坚持立德树人。</p></body></html>'
    doc, warned = read_warned(page.encode("gbk"), "g.html")
    assert doc.text == "坚持立德树人。" and doc.encoding == "gb18030" and not warned


# --------------------------------------------------------------------------- row 8


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("name", ["plan.txt", "plan.md", "plan.html"])
def test_chinese_utf16_without_bom_is_detected(codec, name):
    text = PLAN if not name.endswith(".html") else f"<p>{PLAN.strip()}</p>"
    doc, warned = read_warned(text.encode(codec), name)
    assert doc.encoding == codec and not warned
    assert "坚持立德树人，深化产教融合" in doc.text


def test_chinese_utf16_without_newlines_or_ascii_is_detected():
    doc, _ = read_warned("坚持立德树人深化产教融合推行现代学徒制".encode("utf-16-le"), "a.txt")
    assert doc.encoding == "utf-16-le" and doc.text == "坚持立德树人深化产教融合推行现代学徒制"
