"""Line breaking for Chinese in rich: wrap at CJK punctuation instead of cutting with "…".

rich finds line-break opportunities at whitespace only, so a run of Chinese without spaces is one
"word". In a table column (whose overflow is "ellipsis" unless told otherwise) a word wider than
the column is cut and ends in "…": `align score --help` lost the end of its option help, and the
report table lost the start of evidence locations. :func:`install` replaces the function rich's
``Text.wrap`` uses to find breaks with one that also breaks

* after CJK punctuation (，。、；：！？）」》 …) and
* between two CJK characters, as Chinese is typeset (lines are filled, not left ragged),

never before closing punctuation (no line starts with "，" or "）") and never after opening
punctuation. A word with CJK in it that is wider than the line is folded, never cropped, whatever
the column's overflow. Text without CJK breaks exactly as before. Installed by the CLI and the
table formatter; idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CJK = (
    "\u2e80-\u2eff\u2f00-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f"
)
_CLOSE = "，。、；：！？）】」』》〉〕”’…·%‰,.;:!?)\\]}"
_OPEN = "（【「『《〈〔“‘([{"
_CJK_PUNCT = "，。、；：！？）】」』》〉〕（【「『《〈〔“”‘’…·"

# A unit that must not be split by a line break: opening punctuation, then one CJK character or
# a run of other non-space characters, then any closing punctuation, then trailing spaces.
_UNIT = re.compile(
    rf"[{_OPEN}]*(?:[{_CJK}]|[^\s{_CJK}{_CJK_PUNCT}]+|[{_CJK_PUNCT}])[{_CLOSE}]*\s*"
)
_HAS_CJK = re.compile(rf"[{_CJK}{_CJK_PUNCT}]")
_LEADING_SPACE = re.compile(r"\s*")


def _words(text: str) -> Iterable[tuple[int, int, str, bool]]:
    """(start, end, word, cjk) for each breakable piece. Latin words are whitespace-delimited as
    in rich; a run of CJK yields one piece per phrase ending in punctuation, marked ``cjk`` so
    the caller may also break inside it, between its units."""
    pos = 0
    n = len(text)
    while pos < n:
        lead = _LEADING_SPACE.match(text, pos).end()
        if lead >= n:
            return
        m = _UNIT.match(text, lead)
        if m is None:  # pragma: no cover - _UNIT matches any non-space character
            m = re.compile(r"\S+\s*").match(text, lead)
        unit = m.group(0)
        if not _HAS_CJK.search(unit):
            # a Latin word (or number): up to the next whitespace or CJK character
            end = m.end()
            yield pos, end, text[pos:end], False
            pos = end
            continue
        # a CJK phrase: units up to and including one that ends in CJK punctuation or space
        end = m.end()
        while end < n and unit.rstrip()[-1:] not in _CJK_PUNCT and not unit[-1:].isspace():
            nxt = _UNIT.match(text, end)
            if nxt is None or not _HAS_CJK.search(nxt.group(0)):
                break
            unit = nxt.group(0)
            end = nxt.end()
        yield pos, end, text[pos:end], True
        pos = end


def _units(word: str) -> list[str]:
    out = []
    pos = _LEADING_SPACE.match(word).end()
    head = word[:pos]
    while pos < len(word):
        m = _UNIT.match(word, pos)
        if m is None:  # pragma: no cover
            break
        out.append(m.group(0))
        pos = m.end()
    if out:
        out[0] = head + out[0]
    return out or [word]


def divide_line(text: str, width: int, fold: bool = True) -> list[int]:
    """rich's ``divide_line`` (same contract: offsets to break ``text`` at so each line fits in
    ``width`` cells), with CJK break opportunities."""
    from rich.cells import cell_len, chop_cells

    breaks: list[int] = []
    offset = 0  # cells used on the current line

    def place(start: int, word: str, may_fold: bool) -> None:
        nonlocal offset
        length = cell_len(word.rstrip())
        if width - offset >= length:
            offset += cell_len(word)
        elif length <= width:
            if offset and start:
                breaks.append(start)
            offset = cell_len(word)
        elif may_fold:
            for i, piece in enumerate(chop_cells(word, width=width)):
                if (i or offset) and start:
                    breaks.append(start)
                start += len(piece)
                offset = cell_len(piece)
        else:  # rich's crop: the line is cut at the column edge
            if start:
                breaks.append(start)
            offset = cell_len(word)

    for start, _end, word, cjk in _words(text):
        if not cjk:
            place(start, word, fold)
            continue
        # Chinese fills the line character by character, as it is typeset: a break may fall
        # between any two characters, never before closing or after opening punctuation
        for unit in _units(word):
            place(start, unit, True)
            start += len(unit)
    return breaks


def min_width(text: str) -> int:
    """Cells of the widest piece no break can split: a Latin word, or one CJK character with
    its punctuation. rich takes the widest whitespace-delimited word, which for Chinese is a
    whole sentence, and a table then gives the column more than it has and crops it."""
    from rich.cells import cell_len

    widest = 0
    for line in text.splitlines():
        for _start, _end, word, cjk in _words(line):
            for piece in _units(word) if cjk else [word]:
                widest = max(widest, cell_len(piece.strip()))
    return widest


def install() -> None:
    """Make every rich ``Text`` in this process wrap Chinese as above (idempotent)."""
    import rich.text
    from rich.cells import cell_len
    from rich.measure import Measurement

    if getattr(rich.text.divide_line, "__module__", "") == __name__:
        return
    rich.text.divide_line = divide_line
    measure = rich.text.Text.__rich_measure__

    def __rich_measure__(self, console, options):  # noqa: N807 - rich's protocol name
        m = measure(self, console, options)
        if not _HAS_CJK.search(self.plain):
            return m
        return Measurement(min(m.minimum, min_width(self.plain)), m.maximum)

    rich.text.Text.__rich_measure__ = __rich_measure__

    def rstrip_end(self, size: int) -> None:
        # rich compares len() (characters) with the width (cells), so a CJK line's trailing
        # space is kept, the line is one cell too wide and gets cut with "…"; count cells
        excess = cell_len(self.plain) - size
        if excess > 0:
            spaces = len(self.plain) - len(self.plain.rstrip(" \t"))
            if spaces:
                self.right_crop(min(spaces, excess))

    rich.text.Text.rstrip_end = rstrip_end
