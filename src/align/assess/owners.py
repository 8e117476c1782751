"""Owners: the departments and units a passage makes responsible.

Three shapes occur in plans: a label (责任部门：教务处、各二级学院), a unit before 牵头 / 负责 /
配合 (人事处牵头、各二级学院配合; 由招生就业处负责), and a table column that holds nothing but
department names. A name counts only if it ends like a unit (处, 部, 办公室, 中心, 学院, 委员会,
局, 政府 ...); 专人负责, 校长负责制 and 负责人 are not owners.
"""

from __future__ import annotations

import re

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
    "个人", "合作", "团队", "队伍", "基地", "站", "中心", "系",
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


def is_org(name: str) -> bool:
    n = name.strip("“”\"（）() ")
    if len(n) < 2 or len(n) > 24 or n in _NOT_ORG:
        return False
    if any(ch in n for ch in "，。；：、的了是在对把被将“”《》●"):
        return False
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
    while a > 0 and text[a - 1] not in "。；;！？\n，,：:、（(“\"由":
        a -= 1
    clause = text[a:pos]
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
        if flag[:1] in ("p", "u", "c", "x", "d", "r", "m") and word not in _PREFIXES:
            break
        if end - off > 16:
            break
        cand = clause[off:end]
        if is_org(cand):
            partner = i > 0 and toks[i - 1][0] in ("与", "同", "跟", "和", "向", "对")
            best = None if partner else (cand, a + off)
    return best


def extract_owners(text: str) -> list[Owner]:
    out: list[Owner] = []
    seen: set[tuple[str, int]] = set()

    def add(name: str, role: str, s: int) -> None:
        name = name.strip("“”\" ")
        if (name, s) in seen or not is_org(name):
            return
        seen.add((name, s))
        out.append(Owner(name=name, role=role, start=s, end=s + len(name)))

    for m in LABEL.finditer(text):
        role = next((v for k, v in _LABEL_ROLE.items() if m.group(1).startswith(k)), "责任")
        e = m.end()
        stop = e
        while stop < len(text) and text[stop] not in "。；;\n":
            stop += 1
        seg = text[e:stop]
        pos = e
        for part in _split_names(seg):
            i = text.find(part, pos)
            if not is_org(part):
                break
            add(part, role, i)
            pos = i + len(part)
    for verb in _VERBS:
        for m in re.finditer(verb, text):
            s = m.start()
            if text.startswith(_VERB_NOT_AFTER, m.end()):
                continue
            hit = _org_before(text, s)
            if hit is None:
                continue
            name, start = hit
            role = "牵头" if verb == "牵头" else "配合" if verb in ("配合", "协同") else "负责"
            # 教务处、人事处牵头: every name of the list before the verb
            add(name, role, start)
            j = start
            while j > 0 and text[j - 1] in "、和与及":
                k = j - 1
                while k > 0 and text[k - 1] not in "。；;！？\n，,：:、由（(":
                    k -= 1
                prev = text[k : j - 1]
                if not is_org(prev):
                    break
                add(prev, role, k)
                j = k
    # a table cell / line made of department names only
    pos = 0
    for line in text.split("\n"):
        names = _split_names(line)
        if (
            0 < len(line.strip()) <= 40
            and names
            and all(len(n) <= 12 and is_org(n) for n in names)
        ):
            p = pos
            for n in names:
                i = text.find(n, p)
                add(n, "", i)
                p = i + len(n)
        pos += len(line) + 1
    out.sort(key=lambda o: o.start)
    return out
