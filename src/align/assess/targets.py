"""Quantified targets: a number with what it counts (30名, 60%, 1:18, 500万元, 由2个增加到6个).

The scan is a small pipeline rather than one pattern: find every number (Arabic, full-width or
Chinese numerals), then decide from its immediate context what it is. Years, months, ordinals
(第45届), cohorts (2021届), anniversaries (100周年), durations (5年), clock times, book titles,
document numbers, section numbers and phone numbers are not targets. What remains needs a unit
right after it (a measure word, %, 万元, 倍, 个百分点 ...), so a bare number never counts.
"""

from __future__ import annotations

import re

from ..types import Target
from ._text import (
    CLAUSE_SEP,
    CN_NUMERAL_CHARS,
    clause_bounds,
    clean_number,
    clock_spans,
    inside,
    masked_spans,
    pos_tokens,
    to_number,
)

# A number: Arabic with decimals / thousands separators (full-width too), a run of Chinese
# numerals that starts with a digit or 十, or a lone 百/千 (百名学生, 近百家; 千方百计 has no
# unit after it). 零 starts words, not counts: 零的突破, 零成本, 零部件.
NUMBER = re.compile(
    r"[0-9０-９]+(?:[.．][0-9０-９]+)?(?:,[0-9]{3})*"
    r"|[一二两三四五六七八九十][" + CN_NUMERAL_CHARS + r"]*"
    r"|[百千](?=[^" + CN_NUMERAL_CHARS + r"])"
)

# Measure words and units, longest first when matched. 级/类/期/步/方/面/体/流 are left out on
# purpose: 二级学院, 二类高原学科, 四期土地, 进一步, 千方百计, 一体化, 一流 are not quantities.
UNITS: tuple[str, ...] = tuple(
    sorted(
        """
        个百分点 百分点 部门 个月 平方米 平方公里 人次 课时 学时 学分 千元
        个 名 家 门 项 所 位 支 本 部 种 批 条 篇 套 台 件 场 次 轮 座 栋 间 亩 米 公里
        小时 分钟 天 周 元 倍 成 人 册 份 张 组 队 节 页 处 斤 吨 公斤 千克 届 年 月 日 号
        % ％ ‰
        """.split(),
        key=len,
        reverse=True,
    )
)
# units that make a number something other than a target
_NOT_TARGET_UNITS = {"届", "年", "月", "日", "号"}
# between the number and its unit: 30余名, 150 余个, 1000多人
_APPROX_INFIX = ("余", "多")
_AFTER = ("及以上", "以上", "以下", "以内", "左右", "之内")
# longest first; the comparator is read as written
_BEFORE = tuple(
    sorted(
        """
        不少于 不低于 不超过 不高于 不多于 不少于 低于 高于 少于 多于 超过 达到 达 至少 力争
        提高到 提升到 增加到 增长到 扩大到 增至 提高至 提升至 降至 降低到 下降到 控制在 保持在
        稳定在 新增 增加 增长 提高 提升 突破 累计 约 近 共 总计 年均
        """.split(),
        key=len,
        reverse=True,
    )
)
_LOWER_BOUNDS = ("至少", "不少于", "不低于", "最少", "超过", "不超过")
_FROM_TO = re.compile(r"由[^0-9０-９，,。；;、]{0,3}$")  # 由2个 / 由每年25项
_TO_WORDS = ("增加到", "提高到", "提升到", "扩大到", "增长到", "增至", "提高至", "提升至", "到", "至")

_ORDINAL_BEFORE = ("第",)
# 5年一轮 (duration), 100周年 (anniversary), 3月 (month), 2021届 (cohort)
_SKIP_AFTER = ("周年", "周岁")


def _starts_word(text: str, s: int, e: int) -> bool:
    """Does a word start at ``s`` (jieba's segmentation of the clause)? 统一 / 进一步 / 十四五
    hold a numeral inside a word; 评选三十名 / 两个 start one."""
    a = s
    while a > 0 and text[a - 1] not in CLAUSE_SEP:
        a -= 1
    for word, _flag, off in pos_tokens(text[a : max(e, s + 1) + 2]):
        if off <= s - a < off + len(word):
            return off == s - a
    return True


def _in_slogan(text: str, s: int) -> bool:
    """A number inside a short quoted name: “四个意识”, “五个中心”, “公共卫生建设20条”."""
    lo = max(0, s - 12)
    open_at = max(text.rfind("“", lo, s), text.rfind("‘", lo, s), text.rfind('"', lo, s))
    if open_at < 0 or any(q in text[open_at + 1 : s] for q in "”’\""):
        return False
    closes = (text.find("”", s), text.find("’", s), text.find('"', s))
    close = min((i for i in closes if i > 0), default=-1)
    return 0 < close - open_at <= 14


# set phrases whose number is part of a name, quoted or not (中央八项规定精神, 五个中心建设)
NAMED_NUMBERS = (
    "八项规定", "五个中心", "四个意识", "四个自信", "两个维护", "两个确立", "两个大局", "四个全面",
    "两个一百年", "三个代表", "四个服务", "四个放在",
)
_NAME_UNITS = {"所", "处", "部", "组", "队", "室", "院"}
_CHENG_WORDS = set("本果为员绩功效长立就熟型才品交全")


def _noun_before(text: str, s: int) -> bool:
    a = s
    while a > 0 and text[a - 1] not in CLAUSE_SEP:
        a -= 1
    toks = pos_tokens(text[a:s])
    return bool(toks) and toks[-1][1][:1] in ("n", "j")


def _is_indefinite_one(num: str, unit: str) -> bool:
    """Chinese 一 + measure word is usually the indefinite article: 一批, 一支队伍, 一所大学."""
    return num == "一" and unit not in ("%", "个百分点", "百分点", "倍", "成")


def _unit_at(text: str, i: int) -> tuple[str, int]:
    """The unit starting at ``text[i]`` (after optional spaces and 余/多), and where it ends."""
    j = i
    while j < len(text) and text[j] in " \u3000":
        j += 1
    infix = ""
    if j < len(text) and text[j] in _APPROX_INFIX:
        infix = text[j]
        j += 1
        while j < len(text) and text[j] == " ":
            j += 1
    for u in UNITS:
        if text.startswith(u, j):
            return infix + u, j + len(u)
    if j < len(text) and text[j] in "万亿":
        k = j + 1
        mult = text[j]
        if text.startswith("万亿", j):
            mult, k = "万亿", j + 2
        if not infix and k < len(text) and text[k] in _APPROX_INFIX:
            infix, k = text[k], k + 1
        for u in UNITS:
            if text.startswith(u, k):
                return infix + mult + u, k + len(u)
        return infix + mult, k
    if infix == "余" and j < len(text) and "\u4e00" <= text[j] <= "\u9fff":
        return infix, j  # 30余学生: a count with no measure word
    return "", i


def _comparator(text: str, start: int, end: int) -> tuple[str, int, int]:
    """The comparator before or after the number, and the span it widens the target to."""
    after = ""
    e = end
    k = end
    while k < len(text) and text[k] == " ":
        k += 1
    for w in _AFTER:
        if text.startswith(w, k):
            after, e = w, k + len(w)
            break
    before = ""
    s = start
    head = text[max(0, start - 6) : start].rstrip(" ")
    for w in _BEFORE:
        if head.endswith(w):
            before = w
            s = start - (len(text[max(0, start - 6) : start]) - len(head)) - len(w)
            break
    return (before + ("…" if before and after else "") + after), s, e


def _measured(text: str, start: int, end: int, unit: str) -> str:
    """The noun phrase the number belongs to: after a measure word (5个硕士学位点), else before
    the number (就业率保持在98%以上). jieba's part-of-speech tags mark the nouns."""
    a, b = clause_bounds(text, start, end, CLAUSE_SEP)
    clause = text[a:b]
    toks = pos_tokens(clause)
    rel_s, rel_e = start - a, end - a

    def nounish(word: str, flag: str) -> bool:
        if word in ("“", "”", "\"", "‘", "’", "级", "型", "率", "类"):
            return True
        if word in _AFTER:
            return False
        return flag[:1] in ("n", "j") or flag in ("vn", "b", "l", "an", "ng", "nz", "f")

    if unit not in ("%", "％", "‰", "个百分点", "百分点", "成", "倍"):
        run: list[str] = []
        for word, flag, off in toks:
            if off < rel_e:
                continue
            if word in ("的", "之"):
                run = []
                continue
            if nounish(word, flag):
                run.append(word)
                continue
            if run or (flag == "x" and word not in "“”‘’\"") or word in "，,。；、":
                break  # a noun only right after the unit, never past punctuation (《 、)
        phrase = _balanced("".join(run))
        if phrase:
            return phrase
    run = []
    started = False
    for word, flag, off in reversed(toks):
        if off >= rel_s:
            continue
        if off + len(word) > rel_s:  # the tagger glued the word to what follows: 专业群由
            word = word[: rel_s - off]
        verbish = any(v in word for v in ("保持", "达到", "提高", "提升", "力争", "稳定"))
        if nounish(word, flag) and not verbish:
            run.insert(0, word)
            started = True
            continue
        if started:
            break
        if verbish:
            continue
        if flag[:1] in ("v", "p", "d", "u", "m", "q", "x", "r", "c") or word in _BEFORE:
            continue
        break
    return _balanced("".join(run))


def _balanced(phrase: str) -> str:
    """Drop a quote mark left open at either end (the tagger cut it from its pair)."""
    phrase = phrase.strip(" ")
    while phrase and phrase[0] in "”’" :
        phrase = phrase[1:]
    while phrase and phrase[-1] in "“‘":
        phrase = phrase[:-1]
    if phrase.count("“") > phrase.count("”") and phrase.startswith("“"):
        phrase = phrase[1:]
    if phrase.count("”") > phrase.count("“"):
        phrase = "“" + phrase if "”" in phrase[1:] else phrase.rstrip("”")
    return phrase


def _from_to(text: str, first: Target, then: Target, s: int) -> Target | None:
    """由2个增加到6个 as one target (value 6, from 2), when the second number follows closely
    after 到/至; None when they are not one change."""
    between = text[first.end : s]
    if len(between) > 12 or not any(w in between for w in ("到", "至")):
        return None
    start = text.rfind("由", 0, first.start + 1)
    to = next((w for w in _TO_WORDS if w in between), "到")
    return Target(
        text=text[start : then.end].strip(),
        value=then.value,
        unit=then.unit,
        comparator="由…" + to + then.comparator.replace(to, ""),
        measured=_measured(text, start, then.end, then.unit),
        start=start,
        end=then.end,
        upper=then.upper,
        from_value=first.value,
    )


def _per_cent(text: str, s: int, e: int, num: str) -> Target | None:
    """百分之六十: the number at ``s:e`` after 百分之."""
    value = to_number(num)
    if value is None:
        return None
    comp, cs, ce = _comparator(text, s - 3, e)
    return Target(text[cs:ce].strip(), clean_number(value), "%", comp,
                  _measured(text, s - 3, e, "%"), cs, ce)


def _a_name(text: str, s: int, e: int, num: str, after_comparator: bool) -> bool:
    """The numeral is part of a word or a name, not a count."""
    if num[0] in CN_NUMERAL_CHARS and not after_comparator and not _starts_word(text, s, e):
        return True  # part of a word: 统一, 唯一, 进一步, 十四五
    if any(text.startswith(n, s) for n in NAMED_NUMBERS):
        return True
    return _in_slogan(text, s)  # “四个意识”, “五个中心”: a name, not a count


def _ratio_or_half(text: str, s: int, e: int, num: str) -> Target | None:
    """A ratio 1:18 (a clock time was masked before) or 一半 (50%)."""
    r = re.match(r"\s*[:：∶]\s*([0-9]+(?:\.[0-9]+)?)", text[e:])
    if r and num.isdigit():
        rend = e + r.end()
        comp, cs, ce = _comparator(text, s, rend)
        return Target(
            text=text[cs:ce].strip(),
            value=f"{num}:{r.group(1)}",
            unit="比",
            comparator=comp,
            measured=_measured(text, s, rend, "比"),
            start=cs,
            end=ce,
        )
    if num in ("一",) and text.startswith("半", e):
        comp, cs, ce = _comparator(text, s, e + 1)
        return Target(text[cs:ce], 50, "%", comp, _measured(text, s, e + 1, "%"), cs, ce)
    return None


def _not_a_count(
    text: str, s: int, e: int, uend: int, num: str, base: str, bound_before: bool
) -> bool:
    """The number and its unit ``base`` (ending at ``uend``) do not state a target."""
    if base in _NOT_TARGET_UNITS or any(text.startswith(w, e) for w in _SKIP_AFTER):
        return True
    if base == "周" and text.startswith("年", uend):
        return True
    if _is_indefinite_one(num, base) and not bound_before:
        return True
    if base == "元" and num[0] in CN_NUMERAL_CHARS:
        return True  # 二元结构, 一元化: money is written in digits (500万元)
    if base in _NAME_UNITS and num[0] in CN_NUMERAL_CHARS and _noun_before(text, s):
        return True  # 中物院六所, 采气四厂: the numeral names a unit, it does not count
    return base == "成" and text[uend : uend + 1] in _CHENG_WORDS  # 成本, 成果, 成为 ...


def extract_targets(text: str) -> list[Target]:
    masks = masked_spans(text) + clock_spans(text)
    out: list[Target] = []
    pending: Target | None = None  # 由2个 ... waits for its 增加到6个
    last_end = 0
    for m in NUMBER.finditer(text):
        s, e = m.span()
        num = m.group()
        if inside(s, e, masks) or s < last_end:
            continue
        prev = text[s - 1] if s > 0 else ""
        if prev in _ORDINAL_BEFORE or (prev.isascii() and prev.isalnum()):
            continue
        if text[max(0, s - 3) : s] == "百分之":
            pct = _per_cent(text, s, e, num)
            if pct is not None:
                out.append(pct)
            continue
        after_comparator = any(text[:s].rstrip(" ").endswith(w) for w in _BEFORE)
        # 至少一次, 每年至少召开一次会议: after a lower bound, 一 is a count, not "a"
        bound_before = any(w in text[max(0, s - 5) : s] for w in _LOWER_BOUNDS)
        if _a_name(text, s, e, num, after_comparator):
            continue
        special = _ratio_or_half(text, s, e, num)
        if special is not None:
            out.append(special)
            continue
        # ranges 7-9个, 2～3门: the low end is the value, the high end ``upper``
        upper = None
        rng = re.match(r"\s*[-－—–~～]\s*([0-9]+(?:\.[0-9]+)?)", text[e:])
        if rng and num[0].isdigit() and not re.match(r"\s*[年月]", text[e + rng.end() :]):
            unit, uend = _unit_at(text, e + rng.end())
            if unit:
                upper = float(rng.group(1))
        else:
            unit, uend = _unit_at(text, e)
        if not unit:
            continue
        base = unit.lstrip("".join(_APPROX_INFIX))
        if not base and unit != "余":
            continue
        if _not_a_count(text, s, e, uend, num, base, bound_before):
            continue
        value = to_number(num)
        if value is None:
            continue
        comp, cs, ce = _comparator(text, s, uend)
        if unit.startswith(_APPROX_INFIX):
            comp = (comp + "…" if comp else "") + unit[0]
            unit = unit[1:]
        unit = unit.replace("％", "%")
        target = Target(
            text=text[cs:ce].strip(),
            value=clean_number(value),
            unit=unit,
            comparator=comp,
            measured=_measured(text, s, uend, unit),
            start=cs,
            end=ce,
            upper=clean_number(upper) if upper is not None else None,
        )
        last_end = ce
        if pending is not None:
            merged = _from_to(text, pending, target, s)
            out.append(merged or pending)
            pending = None
            if merged:
                continue
        if _FROM_TO.search(text[max(0, s - 4) : s]):
            pending = target  # 由2个 waits for its 增加到6个
            continue
        out.append(target)
    if pending is not None:
        out.append(pending)
    return out
