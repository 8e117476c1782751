"""Text helpers shared by the extractors: where numbers are not commitments, clause bounds, and
lazy access to jieba's part-of-speech tagger and cn2an.

A number inside a book title (《中国教育现代化2035》), a document number (沪教〔2024〕161号), a URL
or a phone number says nothing about what the plan commits to; ``masked_spans`` finds those
spans once per text so every extractor skips them the same way.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Spans whose numbers are names, not quantities. Each pattern is small and tested on its own.
_BOOK_TITLE = re.compile(r"《[^《》\n]{0,80}》")
_DOC_NUMBER = re.compile(r"[〔［\[][0-9０-９]{4}[〕］\]]\s*[0-9０-９]+\s*号?")
_URL = re.compile(r"(?:https?://|www\.)[\x21-\x7e]+")
# landline with area code (021-12345678, 0512 6789 1234) or an 11-digit mobile number
_PHONE = re.compile(
    r"(?<![0-9])(?:0\d{2,3}[-－ ]?\d{7,8}(?:[-－]\d{1,4})?|1[3-9]\d{9})(?![0-9])"
)
# 1.2.3 / 3.2 节-style section numbers at a line start (not 1.33亿元), or "1." "2、" "（一）"
# list markers
_SECTION_NUMBER = re.compile(
    r"(?m)^[ \t\u3000]*(?:\d+(?:\.\d+)+\.?(?![\d.]|\s*[万亿%％个名项门元人家所])"
    r"|\d+[.．、)）](?!\d)|[（(][0-9一二三四五六七八九十]+[）)])"
)
# time of day: 8:00, 16：30
_CLOCK = re.compile(r"(?<![0-9])(?:[01]?\d|2[0-4])\s*[:：]\s*[0-5]\d(?![0-9])")

MASKS: tuple[re.Pattern[str], ...] = (_BOOK_TITLE, _DOC_NUMBER, _URL, _PHONE, _SECTION_NUMBER)

CLAUSE_END = "。；;！？!?\n"
CLAUSE_SEP = CLAUSE_END + "，,："


def masked_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for pat in MASKS:
        spans.extend(m.span() for m in pat.finditer(text))
    return sorted(spans)


def clock_spans(text: str) -> list[tuple[int, int]]:
    """Times of day, except where the text says it is a ratio (生师比1:18)."""
    return [
        m.span() for m in _CLOCK.finditer(text) if "比" not in text[max(0, m.start() - 4) : m.start()]
    ]


def inside(pos: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos and end <= b for a, b in spans)


def clause_bounds(text: str, start: int, end: int, seps: str = CLAUSE_END) -> tuple[int, int]:
    """The sentence (or clause) around ``text[start:end]``."""
    a = start
    while a > 0 and text[a - 1] not in seps:
        a -= 1
    b = end
    while b < len(text) and text[b] not in seps:
        b += 1
    return a, b


@lru_cache(maxsize=1)
def _posseg() -> Any:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    return jieba.posseg


@lru_cache(maxsize=4096)
def pos_tokens(clause: str) -> tuple[tuple[str, str, int], ...]:
    """(word, flag, start offset in ``clause``) for each token jieba's tagger finds."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    for w in _posseg().cut(clause):
        out.append((w.word, w.flag, pos))
        pos += len(w.word)
    return tuple(out)


_CN_DIGITS = "零〇一二两三四五六七八九"
CN_NUMERAL_CHARS = _CN_DIGITS + "十百千万亿"


def cn_to_number(s: str) -> float | None:
    """Chinese numerals to a number (``三十`` -> 30, ``二〇二五`` -> 2025); None if not one."""
    s = s.strip()
    if not s:
        return None
    if s in ("百", "千", "万"):
        return {"百": 100.0, "千": 1000.0, "万": 10000.0}[s]
    if all(c in "零〇一二三四五六七八九" for c in s) and len(s) >= 2:
        # digit by digit, as years are written: 二〇二五
        return float(int("".join(str("零一二三四五六七八九".index(c.replace("〇", "零"))) for c in s)))
    import cn2an

    try:
        v = cn2an.cn2an(s, "smart")
    except (ValueError, KeyError, IndexError):
        return None
    return float(v)


def to_number(s: str) -> float | None:
    """Arabic (full-width too, with thousands separators) or Chinese numerals to a number."""
    t = s.translate(_FULLWIDTH).replace(",", "").replace(" ", "")
    try:
        return float(t)
    except ValueError:
        return cn_to_number(s)


_FULLWIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")


def clean_number(v: float) -> int | float:
    return int(v) if float(v).is_integer() else round(v, 4)
