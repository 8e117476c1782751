"""Time nodes: 2025年, 2023年6月, 年底前, 3月, 第三季度, 每学期, 2021—2023年, 十四五期间.

Each is normalised to an ISO date or period when its year is known — written in the same
passage before it, or the plan's own year (a 2024 work plan's "3月" is 2024-03) — and kept as
relative otherwise. Years inside book titles and document numbers are not time nodes, nor are
cohorts (2021届) and anniversaries (100周年).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..types import Deadline
from ._text import inside, masked_spans, to_number

_Y = r"((?:19|20)[0-9]{2}|[一二][〇零九][〇零一二三四五六七八九]{2})"
_D = r"([0-9]{1,2}|[一二三四五六七八九十]{1,3})"
_SP = r"\s*"

# Patterns are tried in this order at each position; the first that matches wins.
YEAR_RANGE = re.compile(_Y + r"(?:\s*年)?" + _SP + r"[-－—–~～至到]+" + _SP + _Y + _SP + "年")
# 2021-2022学年
SCHOOL_YEAR = re.compile(_Y + _SP + r"[-－—–~～至到]+" + _SP + _Y + _SP + "学年")
# 2024年1-6月, 2024年3—5月
YEAR_MONTH_RANGE = re.compile(
    _Y + _SP + "年" + _SP + _D + _SP + r"(?:月)?" + _SP + r"[-－—–~～至到]+" + _SP + _D + _SP + "月"
)
YEAR_MONTH = re.compile(
    _Y + _SP + "年" + _SP + _D + _SP + "月" + r"(?:" + _SP + _D + _SP + "[日号])?"
    + r"(底前|底|末|前|中旬|上旬|下旬|份)?"
)
YEAR_PART = re.compile(
    _Y + _SP + "年" + r"(?:度)?"
    + r"(年底前|底前|年底|年末|底|末|前后|前|以前|上半年|下半年|内|第([一二三四1-4])季度|春季|秋季|暑期|寒假|暑假)?"
)
MONTH_RANGE = re.compile(r"(?<![0-9０-９])" + _D + _SP + r"[-－—–~～]" + _SP + _D + _SP + "月")
MONTH_ONLY = re.compile(
    r"(?<![0-9０-９])" + _D + _SP + "月" + r"(?:" + _SP + _D + _SP + "[日号])?"
    + r"(底前|底|末|前|中旬|上旬|下旬|份)?"
)
RELATIVE = re.compile(
    r"年底前|年底|年末|年内|年中|上半年|下半年|第?([一二三四])季度|当年|本年度|学年末|学期末|期末"
)
RECURRING = re.compile(r"每(?:个)?(?:学年|学期|半年|年度|年|季度|月|周|天|日|两年|三年|五年)")
PERIOD_NAME = re.compile(r"[“\"]?(十[一二三四五六七八九]五)[”\"]?(期间|时期|末|初|中期)")

_FYP_START = {"十一五": 2006, "十二五": 2011, "十三五": 2016, "十四五": 2021, "十五五": 2026}
_QUARTER_END = {1: "03", 2: "06", 3: "09", 4: "12"}


def _year(s: str) -> int | None:
    v = to_number(s)
    return int(v) if v is not None and 1900 <= v <= 2100 else None


def _month(s: str) -> int | None:
    v = to_number(s)
    return int(v) if v is not None and v.is_integer() and 1 <= v <= 12 else None


def _day(s: str | None) -> int | None:
    if not s:
        return None
    v = to_number(s)
    return int(v) if v is not None and v.is_integer() and 1 <= v <= 31 else None


def _ym(y: int, m: int, d: int | None = None) -> str:
    return f"{y:04d}-{m:02d}" + (f"-{d:02d}" if d else "")


@dataclass(frozen=True)
class PlanTime:
    """The plan's own year or period, for dates written without a year."""

    year: int | None = None
    period: tuple[int, int] | None = None


def _part_date(y: int, part: str | None, quarter: str | None) -> tuple[str, str]:
    if not part or part in ("内",):
        return str(y), "date"
    if part in ("年底前", "底前", "年底", "年末", "底", "末"):
        return _ym(y, 12), "date"
    if part == "上半年":
        return f"{y}-01/{y}-06", "period"
    if part == "下半年":
        return f"{y}-07/{y}-12", "period"
    if quarter:
        q = int(to_number(quarter) or 0)
        if 1 <= q <= 4:
            return f"{y}-{3 * q - 2:02d}/{y}-{_QUARTER_END[q]}", "period"
    if part in ("春季",):
        return f"{y}-03/{y}-05", "period"
    if part in ("秋季",):
        return f"{y}-09/{y}-11", "period"
    return str(y), "date"


# a relative word as the part of a year _part_date knows
_RELATIVE_PART = {"年底前": "年底前", "年底": "年底", "年末": "年末", "年内": "内", "年中": "内"}


def _explicit(pat: re.Pattern[str], m: re.Match[str]) -> tuple[str | None, str, int] | None:
    """(date, kind, year) of a match with its year written out; None when it is no date
    (month 13, a range that runs backwards)."""
    if pat is YEAR_MONTH_RANGE:
        y, m1, m2 = _year(m.group(1)), _month(m.group(2)), _month(m.group(3))
        if y is None or m1 is None or m2 is None or m2 < m1:
            return None
        return f"{_ym(y, m1)}/{_ym(y, m2)}", "period", y
    if pat in (YEAR_RANGE, SCHOOL_YEAR):
        y1, y2 = _year(m.group(1)), _year(m.group(2))
        if y1 is None or y2 is None or y2 < y1:
            return None
        return f"{y1}/{y2}", "period", y2
    if pat is YEAR_MONTH:
        y, mo = _year(m.group(1)), _month(m.group(2))
        if y is None or mo is None:
            return None
        return _ym(y, mo, _day(m.group(3))), "date", y
    y = _year(m.group(1))
    if y is None:
        return None
    date, kind = _part_date(y, m.group(2), m.group(3))
    return date, kind, y


def _five_year_plan(y0: int, part: str | None) -> tuple[str, str]:
    """十四五末 -> the plan's last year; 十四五初 -> its first; 期间 / 时期 / bare: the period."""
    if part == "末":
        return str(y0 + 4), "date"
    if part == "初":
        return str(y0), "date"
    return f"{y0}/{y0 + 4}", "period"


def _year_events(
    text: str, masks: list[tuple[int, int]]
) -> list[tuple[int, int, str | None, str, int]]:
    """(start, end, date, kind, year) of every match with its year written out, in text order;
    where patterns overlap, the first of SCHOOL_YEAR ... YEAR_PART to match keeps the place."""
    events: list[tuple[int, int, str | None, str, int]] = []
    taken: list[tuple[int, int]] = []
    for pat in (SCHOOL_YEAR, YEAR_RANGE, YEAR_MONTH_RANGE, YEAR_MONTH, YEAR_PART):
        for m in pat.finditer(text):
            s, e = m.span()
            if inside(s, e, masks) or any(s < b and a < e for a, b in taken):
                continue
            if text.startswith("届", e) or text[e : e + 2] == "周年":
                continue
            if s > 0 and text[s - 1].isdigit():
                continue
            event = _explicit(pat, m)
            if event is None:
                continue
            events.append((s, e, *event))
            taken.append((s, e))
    events.sort()
    return events


def extract_deadlines(text: str, plan: PlanTime | None = None) -> list[Deadline]:
    plan = plan or PlanTime()
    masks = masked_spans(text)
    found: list[Deadline] = []
    taken: list[tuple[int, int]] = []
    last_year = plan.year

    def free(s: int, e: int) -> bool:
        return not inside(s, e, masks) and not any(s < b and a < e for a, b in taken)

    def add(s: int, e: int, date: str | None, kind: str) -> None:
        found.append(Deadline(text=text[s:e], date=date, kind=kind, start=s, end=e))  # type: ignore[arg-type]
        taken.append((s, e))

    # explicit years first (they also give later month-only dates their year)
    for s, e, date, kind, _y in _year_events(text, masks):
        if free(s, e):
            add(s, e, date, kind)

    def year_before(pos: int) -> int | None:
        best = None
        for d in found:
            if d.end <= pos and d.date and d.kind in ("date", "period") and d.date[:4].isdigit():
                best = int(d.date.split("/")[-1][:4])
        return best or last_year

    for m in PERIOD_NAME.finditer(text):
        s, e = m.span()
        if not free(s, e):
            continue
        y0 = _FYP_START.get(m.group(1))
        if y0 is not None:
            add(s, e, *_five_year_plan(y0, m.group(2)))
    for m in MONTH_RANGE.finditer(text):
        s, e = m.span()
        m1, m2 = _month(m.group(1)), _month(m.group(2))
        if not free(s, e) or m1 is None or m2 is None or m2 < m1:
            continue
        y = year_before(s)
        add(s, e, f"{_ym(y, m1)}/{_ym(y, m2)}" if y else None, "period" if y else "relative")
    for m in MONTH_ONLY.finditer(text):
        s, e = m.span()
        if not free(s, e):
            continue
        mo = _month(m.group(1))
        if mo is None:
            continue
        y = year_before(s)
        if y is None:
            add(s, e, None, "relative")
        else:
            add(s, e, _ym(y, mo, _day(m.group(2))), "date")
    for m in RECURRING.finditer(text):
        s, e = m.span()
        if free(s, e):
            add(s, e, None, "recurring")
    for m in RELATIVE.finditer(text):
        s, e = m.span()
        if not free(s, e):
            continue
        y = year_before(s)
        word = m.group()
        if y is None or word in ("学年末", "学期末", "期末", "当年", "本年度"):
            add(s, e, None, "relative")
        else:
            add(s, e, *_part_date(y, _RELATIVE_PART.get(word, word), m.group(1)))
    found.sort(key=lambda d: d.start)
    return found


_TITLE_YEAR = re.compile(_Y + _SP + r"年(?:度)?[^。\n]{0,30}?(?:工作要点|工作计划|计划|要点|方案|总结)")
_TITLE_PERIOD = re.compile(r"[（(]?" + _Y + r"\s*[-－—–~～至到]+\s*" + _Y + r"\s*年?[）)]?")


def plan_time(text: str, title_chars: int = 300) -> PlanTime:
    """The plan's own year or period, read from its title lines: "2024年工作要点" -> 2024,
    "十四五规划（2021-2025年）" -> (2021, 2025)."""
    head = text[:title_chars]
    year = None
    m = _TITLE_YEAR.search(head)
    if m:
        year = _year(m.group(1))
    if year is None:
        # the title line names one year and no range: 某学院2024年提质培优任务分解表
        title = next((ln for ln in head.splitlines() if ln.strip()), "")
        title = re.sub(r"《[^》]*》", "", title)
        if not _TITLE_PERIOD.search(title):
            years = {_year(y) for y in re.findall(_Y + r"\s*年", title)}
            if len(years) == 1:
                year = years.pop()
    period = None
    p = _TITLE_PERIOD.search(head)
    if p:
        y1, y2 = _year(p.group(1)), _year(p.group(2))
        if y1 and y2 and y1 <= y2:
            period = (y1, y2)
    if period is None:
        n = re.search(r"(十[一二三四五六七八九]五)", head)
        if n and n.group(1) in _FYP_START:
            y0 = _FYP_START[n.group(1)]
            period = (y0, y0 + 4)
    return PlanTime(year=year, period=period)
