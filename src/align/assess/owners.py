"""Owners: the departments and units a passage makes responsible.

Three shapes occur in plans: a label (责任部门：教务处、各二级学院), a unit before 牵头 / 负责 /
配合 (人事处牵头、各二级学院配合; 由招生就业处负责), and a table column that holds nothing but
department names. A name counts only if it ends like a unit (处, 部, 办公室, 中心, 学院, 委员会,
局, 政府 ...); 专人负责, 校长负责制 and 负责人 are not owners.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain

from ..types import Owner
from ._text import pos_tokens

# how unit names end; longest first
ORG_SUFFIXES: tuple[str, ...] = tuple(
    sorted(
        """
        办公室 委员会 领导小组 工作小组 小组 部门 单位 中心 学院 学部 学校 中职校 大学 分校 研究院
        研究所 党委 纪委 团委 工会 党支部 总支 政府 公司 集团 联盟 协会 理事会 学生会 基地 处 部
        办 室 局 厅 委 馆 所 院 系
        """.split(),
        key=len,
        reverse=True,
    )
)
# words that end like a unit but are not one
_NOT_ORG = {
    "部门", "单位", "相关部门", "有关部门", "牵头部门", "协同部门", "责任部门", "负责部门", "委员会",
    "小组", "学校", "学院", "大学", "政府", "会", "组", "队", "所", "院", "部", "处", "办", "室",
    "社会", "机会", "大会", "全会", "年会", "研讨会", "报告会", "体会", "会议室", "专人", "本人",
    "个人", "合作", "团队", "队伍", "基地", "站", "中心", "系", "职能部门", "各部门",
}
_PREFIXES = ("各", "相关", "有关", "全体", "校", "市", "区", "省")
LABEL = re.compile(
    r"(责任部门|责任单位|牵头部门|牵头单位|配合部门|配合单位|协同部门|协同单位|协办单位|"
    r"主办单位|承办单位|责任处室|负责部门|负责单位|实施部门|主责部门)\s*[：:]\s*"
)
_LABEL_ROLE = {"牵头": "牵头", "配合": "配合", "协同": "配合", "协办": "配合"}
_VERBS = ("牵头", "负责", "配合", "协同", "主责")
# 负责 followed by these is a noun (负责人, 负责同志, 负责制), not an assignment
_VERB_NOT_AFTER = ("人", "同志", "制", "部门", "单位", "作用")
# may stand between the unit and the verb: 校党委要牵头, 人事处具体负责
_BETWEEN = ("要", "应", "应当", "将", "具体", "主要", "统一", "共同", "分别", "全面", "积极", "会同")
_SEP = re.compile(r"[、，,/／;；\s]+|和|与|及|以及")
_CELL = re.compile(r"[^\n|\t｜]+")  # one table cell, or a whole line when there are none
_ROLE_NOTE = re.compile(r"^(.+?)[（(](牵头|配合|负责|主责|协助|协同)[）)]$")


def _task_like(name: str) -> bool:
    """建设产业学院, 成立创新创业学院: a cell that starts with a verb names a task, not a unit."""
    toks = pos_tokens(name)
    if not toks:
        return False
    word, flag, _off = toks[0]
    return (flag == "v" and word not in _NAME_VERBS) or word in _TASK_VERBS


# verbs a task starts with; jieba tags some of them as nouns (建设/vn)
_TASK_VERBS = frozenset(
    "建设 完善 推进 成立 组建 开展 实施 制定 健全 加强 落实 打造 建立 深化 提升 推动 组织 优化 "
    "构建 培育 设立 举办 申报 修订 创建 筹建 新建 改建 扩建".split()
)


def _with_role(part: str) -> tuple[str, str]:
    """人事处（牵头） -> (人事处, 牵头); a name without a note keeps an empty role."""
    m = _ROLE_NOTE.match(part.strip())
    if not m:
        return part, ""
    role = {"主责": "负责", "协助": "配合", "协同": "配合"}.get(m.group(2), m.group(2))
    return m.group(1), role


_NOT_ORG_ENDINGS = ("体系", "关系", "联系", "派系", "机会", "会议", "大会", "全会", "学会")


def is_org(name: str) -> bool:
    n = name.strip("“”\"（）() ")
    if len(n) < 2 or len(n) > 24 or n in _NOT_ORG or n.endswith(_NOT_ORG_ENDINGS):
        return False
    if any(ch in n for ch in "的了是在对把被将"):
        return False
    if not all("\u4e00" <= ch <= "\u9fff" or ch in "（）()·" for ch in n):
        return False  # a name is Chinese characters (and brackets): no digits, no punctuation
    core = n
    for p in _PREFIXES:
        if core.startswith(p) and len(core) > len(p) + 1:
            core = core[len(p) :]
            break
    if core in _NOT_ORG and not n.startswith(("各", "相关", "有关")):
        return False
    return core.endswith(ORG_SUFFIXES) and core not in ("负责人", "责任人")


def _split_names(s: str) -> list[str]:
    return [p.strip() for p in _SEP.split(s) if p and p.strip()]


def _org_before(text: str, pos: int) -> tuple[str, int] | None:
    """The unit name that ends at ``pos`` (jieba words, walking back while they name a unit)."""
    a = pos
    while a > 0 and (text[a - 1] not in "。；;！？\n，,：:、（(“\"由" or _wrapped(text, a - 1)):
        a -= 1
    clause = text[a:pos].replace("\n", "")  # a name cut by a line wrap: 上海\n第二工业大学
    toks = list(pos_tokens(clause)) if clause else []
    while toks and toks[-1][0] in _BETWEEN:
        toks.pop()
    if not toks:
        return None
    end = toks[-1][2] + len(toks[-1][0])
    # the longest run of words that ends at the verb and reads as a unit name; verbs may be
    # inside a name (招生就业处 is tagged 招生/v 就业处/v), function words may not
    best: tuple[str, int] | None = None
    for i in range(len(toks) - 1, -1, -1):
        word, flag, off = toks[i]
        ordinal = word.startswith("第") and flag[:1] == "m"  # 第二工业大学
        if flag[:1] in ("p", "u", "c", "x", "d", "r", "m") and word not in _PREFIXES and not ordinal:
            break
        if end - off > 16:
            break
        cand = clause[off:end]
        if is_org(cand):
            partner = i > 0 and toks[i - 1][0] in ("与", "同", "跟", "和", "向", "对")
            best = None if partner else (cand, _offset(text, a, off))
    return best


_DUTY_NOUN = re.compile(r"是[^。；;\n]{0,24}?(?:执行|责任|牵头|主管|主责)(?:部门|单位|机构)")
_ARTICLE = re.compile(r"第[一二三四五六七八九十百零〇0-9]+条\s*")
_SUBJECT_END = ("是", "在", "要", "应", "应当", "将", "则", "具体", "负责", "牵头", "等")
# 各中职校负责……的教师: 负责 inside a relative clause describing people
_RELATIVE_PERSON = re.compile(r"[^，,。；;\n]{0,30}?的(?:教师|老师|人员|同志|干部|学生)")


# words jieba tags as verbs that begin unit names: 贯通教育领导小组, 相关学院, 招生就业处
_NAME_VERBS = ("相关", "有关", "贯通", "联合", "招生", "继续", "督导", "监察", "巡察", "审计", "保卫")


def _names_at_start(clause: str, a: int, text: str) -> list[tuple[str, int]]:
    """Unit names a clause starts with (相关职能部处及相关学院……), with offsets in ``text``."""
    names: list[tuple[str, int]] = []
    cur, cur_start = "", None
    for word, flag, off in pos_tokens(clause):
        if word in _SUBJECT_END or word in "，,":
            break
        if word in ("、", "和", "与", "及", "以及"):
            if not (cur and is_org(cur)):
                return names
            names.append((cur, _offset(text, a, cur_start or 0)))
            cur, cur_start = "", None
            continue
        if flag == "v" and not word.endswith(ORG_SUFFIXES) and (
            cur or word not in _NAME_VERBS
        ):
            break  # 形成党委…, 联合体设立…: a predicate, not part of a name
        if len(cur) + len(word) > 16:
            break
        if cur_start is None:
            cur_start = off
        cur += word
    if cur and is_org(cur):
        names.append((cur, _offset(text, a, cur_start or 0)))
    return names


def _sentence_subjects(text: str, pos: int) -> list[tuple[str, int]]:
    """When the verb at ``pos`` has no unit name right before it, the units its sentence is
    about: the nearest earlier clause of the sentence that starts with one (第九条贯通教育领导
    小组是……，负责; 相关职能部处及相关学院组织……，具体负责)."""
    a = pos
    while a > 0 and (text[a - 1] not in "。；;！？\n" or _wrapped(text, a - 1)):
        a -= 1
    articles = list(_ARTICLE.finditer(text, a, pos))
    if articles:
        a = articles[-1].end()  # 第九条…: the sentence starts after the article number
    bounds = [a] + [i + 1 for i in range(a, pos) if text[i] in "，,"]
    for b in reversed(bounds):
        e = pos
        nxt = [i for i in range(b, pos) if text[i] in "，,"]
        if nxt:
            e = nxt[0]
        clause = text[b:e].replace("\n", "")
        names = _names_at_start(clause, b, text)
        if names:
            return names
    return []


def _wrapped(text: str, i: int) -> bool:
    """``text[i]`` is a line break between two CJK characters (a PDF line wrap)."""
    return (
        text[i] == "\n"
        and 0 < i < len(text) - 1
        and "\u4e00" <= text[i - 1] <= "\u9fff"
        and "\u4e00" <= text[i + 1] <= "\u9fff"
    )


def _offset(text: str, a: int, off: int) -> int:
    """Offset in ``text`` of character ``off`` of ``text[a:]`` with line breaks removed."""
    i = a
    seen = 0
    while i < len(text) and (seen < off or text[i] == "\n"):
        if text[i] != "\n":
            seen += 1
        i += 1
    return i


Found = Iterator[tuple[str, str, int]]  # (name, role, start) before cleaning


def _label_owners(text: str) -> Found:
    """责任部门：教务处、各二级学院 — the names after a label, up to the clause end."""
    for m in LABEL.finditer(text):
        role = next((v for k, v in _LABEL_ROLE.items() if m.group(1).startswith(k)), "责任")
        e = m.end()
        stop = e
        while stop < len(text) and text[stop] not in "。；;\n":
            stop += 1
        pos = e
        for part in _split_names(text[e:stop]):
            i = text.find(part, pos)
            name, own_role = _with_role(part)
            if not is_org(name):
                break
            yield name, own_role or role, i
            pos = i + len(part)


def _verb_owners(text: str) -> Found:
    """教务处牵头, 人事处、财务处配合: the unit (or list of units) before a verb."""
    for verb in _VERBS:
        for m in re.finditer(verb, text):
            s = m.start()
            if text.startswith(_VERB_NOT_AFTER, m.end()):
                continue
            if _RELATIVE_PERSON.match(text, m.end()):
                continue
            hit = _org_before(text, s)
            if hit is None and verb in ("负责", "牵头"):
                # 第九条领导小组是……机构，负责……: the unit is the sentence's subject
                for name, start in _sentence_subjects(text, s):
                    yield name, "负责" if verb == "负责" else "牵头", start
                continue
            if hit is None:
                continue
            name, start = hit
            role = "牵头" if verb == "牵头" else "配合" if verb in ("配合", "协同") else "负责"
            # 教务处、人事处牵头: every name of the list before the verb
            yield name, role, start
            j = start
            while j > 0 and text[j - 1] in "、和与及":
                k = j - 1
                while k > 0 and text[k - 1] not in "。；;！？\n，,：:、由（(":
                    k -= 1
                prev = text[k : j - 1]
                if not is_org(prev):
                    break
                yield prev, role, k
                j = k


def _duty_owners(text: str) -> Found:
    """党委办公室、职能部门等是……具体执行部门: the subject of a duty noun."""
    for m in _DUTY_NOUN.finditer(text):
        for name, start in _sentence_subjects(text, m.start()):
            yield name, "负责", start


def _cell_owners(text: str) -> Found:
    """A table cell (docx / html rows are "a | b | c"; tab- or pipe-separated text too) or a
    line made of department names only: a 责任部门 column."""
    for m in _CELL.finditer(text):
        cell = m.group()
        names = _split_names(cell)
        parsed = [_with_role(n) for n in names]
        if (
            0 < len(cell.strip()) <= 40
            and parsed
            and all(len(n) <= 12 and is_org(n) and not _task_like(n) for n, _r in parsed)
        ):
            p = m.start()
            for raw, (n, r) in zip(names, parsed, strict=True):
                i = text.find(raw, p)
                yield n, r, i
                p = i + len(raw)


def _end(text: str, start: int, name: str) -> int:
    """Where ``name`` found at ``start`` ends in ``text`` (a wrap inside it is skipped)."""
    end, k = start, 0
    while end < len(text) and k < len(name):
        if text[end] != "\n":
            k += 1
        end += 1
    return end


def extract_owners(text: str) -> list[Owner]:
    """Every unit made responsible, once per place, in text order; the first pass that finds
    a unit at a place gives its role (labels, then verbs, duty nouns, table cells)."""
    out: list[Owner] = []
    seen: set[tuple[str, int]] = set()
    passes = chain(_label_owners(text), _verb_owners(text), _duty_owners(text), _cell_owners(text))
    for raw, role, s in passes:
        lead = len(raw) - len(raw.lstrip("“”\" "))
        name, s = raw.strip("“”\" "), s + lead
        if (name, s) in seen or not is_org(name):
            continue
        seen.add((name, s))
        out.append(Owner(name=name, role=role, start=s, end=_end(text, s, name)))
    out.sort(key=lambda o: o.start)
    return out
