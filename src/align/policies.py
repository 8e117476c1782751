"""Policy sets: load, validate and select the reference tasks a plan is checked against.

A policy set is one TOML file (format: ``reference_policies/README.md``). Validation is strict —
unknown keys, wrong types and duplicate ids are errors — because a typo such as ``term =`` instead
of ``terms =`` would otherwise silently weaken matching. Every error is a :class:`PolicyError`
naming the file and, wherever the text allows, the line.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .errors import PolicyError
from .types import PolicySet, SubMeasure, Task, Threshold

if sys.version_info >= (3, 11):  # pragma: no cover - version switch
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_VAR = "ALIGN_REFERENCE_POLICIES"
POLICIES_SCHEMA = "align-policies/1"

# Ids show up on the command line, in JSON and in HTML anchors: keep them plain.
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")

# key -> (required, kind). kinds: str, nestr (non-empty str), strlist, bool, threshold, subs.
_SET_KEYS: dict[str, tuple[bool, str]] = {
    "id": (True, "id"),
    "title": (True, "nestr"),
    "document": (True, "nestr"),
    "issuer": (True, "nestr"),
    "date": (True, "date"),
    "number": (False, "str"),
    "source": (False, "str"),
    "context_terms": (False, "strlist"),
}
_TASK_KEYS: dict[str, tuple[bool, str]] = {
    "id": (True, "id"),
    "title": (True, "nestr"),
    "description": (True, "nestr"),
    "official_text": (False, "str"),
    "aliases": (False, "strlist"),
    "terms": (False, "strlist"),
    "negative_terms": (False, "strlist"),
    "broad": (False, "bool"),
    "threshold": (False, "threshold"),
    "sub_measures": (False, "subs"),
}
_SUB_KEYS: dict[str, tuple[bool, str]] = {
    "id": (True, "id"),
    "title": (True, "nestr"),
    "description": (False, "str"),
    "terms": (False, "strlist"),
    "official": (False, "bool"),
}
_TOP_KEYS = ("set", "tasks")

_KIND_GLOSS = {
    "id": ("id 字符串", "id string"),
    "nestr": ("非空字符串", "non-empty string"),
    "str": ("字符串", "string"),
    "date": ("日期字符串（如 2020-09-16）", "date string"),
    "strlist": ("字符串数组", "array of strings"),
    "bool": ("true 或 false", "boolean"),
    "threshold": ("表 { covered = 数值, partial = 数值 }", "table"),
    "subs": ("[[tasks.sub_measures]] 表数组", "array of tables"),
}


# --------------------------------------------------------------------------- locations


class _Locator:
    """Finds the line of a table or key in the raw TOML text, so that errors found after
    parsing (missing field, wrong type, duplicate id) can still point at a line."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]\s]+(?:\s*\.\s*[^\]\s]+)*)\s*\]\]?")

    def __init__(self, text: str):
        self.lines = text.splitlines()
        # (1-based line, header name) for every [table] / [[array]] header
        self.headers: list[tuple[int, str]] = []
        for i, raw in enumerate(self.lines, start=1):
            m = self._HEADER.match(raw)
            if m and not raw.lstrip().startswith("#"):
                self.headers.append((i, re.sub(r"\s+", "", m.group(2))))

    def _block(self, header_line: int) -> tuple[int, int]:
        later = [ln for ln, _ in self.headers if ln > header_line]
        return header_line, (later[0] - 1 if later else len(self.lines))

    def _key_in(self, block: tuple[int, int], key: str) -> int | None:
        pat = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for ln in range(block[0], block[1] + 1):
            if pat.match(self.lines[ln - 1]):
                return ln
        return None

    def header(self, name: str, index: int = 0) -> int | None:
        found = [ln for ln, n in self.headers if n == name]
        return found[index] if index < len(found) else None

    def set_line(self, key: str | None = None) -> int | None:
        ln = self.header("set")
        if ln is None:
            return None
        if key is None:
            return ln
        return self._key_in(self._block(ln), key) or ln

    def task_line(self, ti: int, key: str | None = None) -> int | None:
        ln = self.header("tasks", ti)
        if ln is None:
            return None
        if key is None:
            return ln
        # a task's keys sit between its header and the first sub-table header after it
        return self._key_in(self._block(ln), key) or ln

    def sub_line(self, ti: int, si: int, key: str | None = None) -> int | None:
        tl = self.header("tasks", ti)
        if tl is None:
            return None
        nxt = self.header("tasks", ti + 1) or len(self.lines) + 1
        subs = [ln for ln, n in self.headers if n == "tasks.sub_measures" and tl < ln < nxt]
        if si >= len(subs):
            return self.task_line(ti, "sub_measures")
        ln = subs[si]
        if key is None:
            return ln
        return self._key_in(self._block(ln), key) or ln

    def top_line(self, key: str) -> int | None:
        return self.header(key) or self._key_in((1, len(self.lines)), key)


# --------------------------------------------------------------------------- validation


class _Checker:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.loc = _Locator(text)

    def fail(self, message: str, line: int | None) -> PolicyError:
        return PolicyError(message, path=str(self.path), line=line)

    def check_keys(
        self, table: dict[str, Any], spec: dict[str, tuple[bool, str]], where: str, line_of
    ) -> None:
        for key in table:
            if key not in spec:
                hint = difflib.get_close_matches(key, list(spec), n=1)
                sug = f'，是否应为 "{hint[0]}"' if hint else ""
                raise self.fail(
                    f'{where}中有未知字段 "{key}"{sug}；可用字段：{", ".join(spec)} (unknown key)',
                    line_of(key),
                )
        for key, (required, _) in spec.items():
            if required and key not in table:
                raise self.fail(
                    f'{where}缺少必填字段 "{key}" (missing required field)', line_of(None)
                )

    def value(self, table: dict[str, Any], key: str, kind: str, where: str, line_of) -> Any:
        v = table[key]

        def wrong() -> PolicyError:
            zh, en = _KIND_GLOSS[kind]
            got = type(v).__name__
            return self.fail(
                f'{where}的字段 "{key}" 应为{zh}，实际为 {got} (wrong type: expected {en})',
                line_of(key),
            )

        if kind in ("str", "nestr", "id"):
            if not isinstance(v, str):
                raise wrong()
            if kind != "str" and not v.strip():
                raise self.fail(f'{where}的字段 "{key}" 不能为空 (empty value)', line_of(key))
            if kind == "id" and not ID_RE.match(v):
                raise self.fail(
                    f'{where}的 id "{v}" 不合法：只能用字母、数字、-、_、.，且以字母或数字开头，'
                    f"不超过64个字符 (invalid id)",
                    line_of(key),
                )
            return v
        if kind == "date":
            if isinstance(v, _dt.date) and not isinstance(v, _dt.datetime):
                return v.isoformat()
            if not isinstance(v, str):
                raise wrong()
            if not DATE_RE.match(v.strip()):
                raise self.fail(
                    f'{where}的字段 "{key}" 应为 YYYY、YYYY-MM 或 YYYY-MM-DD，实际为 "{v}" '
                    f"(invalid date)",
                    line_of(key),
                )
            return v.strip()
        if kind == "bool":
            if not isinstance(v, bool):
                raise wrong()
            return v
        if kind == "strlist":
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise wrong()
            if any(not x.strip() for x in v):
                raise self.fail(
                    f'{where}的字段 "{key}" 含有空字符串 (empty string in list)', line_of(key)
                )
            return tuple(x.strip() for x in v)
        if kind == "threshold":
            if (
                not isinstance(v, dict)
                or set(v) != {"covered", "partial"}
                or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in v.values()
                )
            ):
                raise wrong()
            if not all(0 <= x <= 100 for x in v.values()):
                raise self.fail(
                    f"{where}的阈值应为 0-100 的置信度 (thresholds are confidences, 0-100)",
                    line_of(key),
                )
            if v["partial"] > v["covered"]:
                raise self.fail(
                    f"{where}的阈值 partial ({v['partial']}) 不能大于 covered ({v['covered']}) "
                    f"(partial threshold above covered)",
                    line_of(key),
                )
            return Threshold(covered=float(v["covered"]), partial=float(v["partial"]))
        if kind == "subs":
            if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
                raise wrong()
            return v
        raise AssertionError(kind)  # pragma: no cover

    def parse(self, data: dict[str, Any]) -> PolicySet:
        loc = self.loc
        for key in data:
            if key not in _TOP_KEYS:
                hint = difflib.get_close_matches(key, _TOP_KEYS, n=1)
                sug = f'，是否应为 "{hint[0]}"' if hint else ""
                raise self.fail(
                    f'未知的顶层字段 "{key}"{sug}；只允许 [set] 和 [[tasks]] (unknown key)',
                    loc.top_line(key),
                )
        if "set" not in data:
            raise self.fail("缺少 [set] 表 (missing [set] table)", 1)
        meta = data["set"]
        if not isinstance(meta, dict):
            raise self.fail('"set" 应为表 [set] (wrong type: expected table)', loc.top_line("set"))

        def set_line(key: str | None) -> int | None:
            return loc.set_line(key) or 1

        self.check_keys(meta, _SET_KEYS, "[set] ", set_line)
        sv = {
            k: self.value(meta, k, kind, "[set] ", set_line)
            for k, (_, kind) in _SET_KEYS.items()
            if k in meta
        }
        sv.setdefault("number", "")
        if "context_terms" in sv:
            sv["context_terms"] = tuple(sv["context_terms"])

        tasks_raw = data.get("tasks")
        if tasks_raw is None or (isinstance(tasks_raw, list) and not tasks_raw):
            raise self.fail("政策集没有任务，至少需要一个 [[tasks]] (no tasks)", set_line(None))
        if not isinstance(tasks_raw, list) or not all(isinstance(t, dict) for t in tasks_raw):
            raise self.fail(
                '"tasks" 应为 [[tasks]] 表数组 (wrong type: expected array of tables)',
                loc.top_line("tasks"),
            )

        seen: dict[str, int | None] = {}  # every task / sub-measure id in this file -> line

        def claim(id_: str, what: str, line: int | None) -> None:
            if id_ in seen:
                first = f"（第 {seen[id_]} 行已定义）" if seen[id_] else ""
                raise self.fail(f'{what} id "{id_}" 重复{first} (duplicate {_EN[what]} id)', line)
            seen[id_] = line

        tasks: list[Task] = []
        for ti, t in enumerate(tasks_raw):

            def t_line(key: str | None, _ti: int = ti) -> int | None:
                return loc.task_line(_ti, key)

            label = f"第 {ti + 1} 个任务"
            if isinstance(t.get("id"), str) and t["id"].strip():
                label = f"任务 {t['id']} "
            self.check_keys(t, _TASK_KEYS, label, t_line)
            tv = {
                k: self.value(t, k, kind, label, t_line)
                for k, (_, kind) in _TASK_KEYS.items()
                if k in t
            }
            claim(tv["id"], "任务", t_line("id"))

            subs: list[SubMeasure] = []
            for si, s in enumerate(tv.get("sub_measures", [])):

                def s_line(key: str | None, _ti: int = ti, _si: int = si) -> int | None:
                    return loc.sub_line(_ti, _si, key)

                slabel = f"任务 {tv['id']} 的第 {si + 1} 个子项"
                if isinstance(s.get("id"), str) and s["id"].strip():
                    slabel = f"子项 {s['id']} "
                self.check_keys(s, _SUB_KEYS, slabel, s_line)
                sv_ = {
                    k: self.value(s, k, kind, slabel, s_line)
                    for k, (_, kind) in _SUB_KEYS.items()
                    if k in s
                }
                claim(sv_["id"], "子项", s_line("id"))
                subs.append(SubMeasure(**sv_))
            tv["sub_measures"] = tuple(subs)
            tasks.append(Task(set_id=sv["id"], **tv))

        return PolicySet(tasks=tuple(tasks), path=str(self.path), **sv)


_EN = {"任务": "task", "子项": "sub-measure", "政策集": "policy-set"}


# --------------------------------------------------------------------------- public API


def builtin_policy_dir() -> Path:
    """Directory of the shipped reference sets: ``$ALIGN_REFERENCE_POLICIES`` if set, else the
    repository's ``reference_policies/`` (editable install), else a copy packaged beside this
    module. The env var lets tests and installed copies point elsewhere without code changes."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    here = Path(__file__).resolve().parent
    for cand in (here.parents[1] / "reference_policies", here / "reference_policies"):
        if cand.is_dir():
            return cand
    return here.parents[1] / "reference_policies"


MAX_POLICY_BYTES = 8 * 1024 * 1024  # the shipped sets are a few KB each


def load_policy_file(path: str | Path) -> PolicySet:
    """Parse and validate one policy-set TOML file."""
    p = Path(path)
    from .fileio import NOT_FOUND, FileProblem, read_limited

    try:
        raw = read_limited(p, MAX_POLICY_BYTES)  # regular files only: a FIFO would hang
    except FileProblem as e:
        if e.too_large:
            reason = f"政策文件过大（上限 {MAX_POLICY_BYTES // (1024 * 1024)} MB）(policy file too large)"
        elif e.reason == NOT_FOUND:
            reason = "找不到政策文件 (policy file not found)"
        else:
            reason = f"无法读取政策文件：{e.reason}"
        raise PolicyError(reason, path=str(p)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise PolicyError(
            "政策文件不是 UTF-8 编码 (not UTF-8 encoded)", path=str(p), line=line
        ) from None
    if not text.strip():
        raise PolicyError("文件为空 (empty file)", path=str(p))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = getattr(e, "lineno", None) or (int(m.group(1)) if m else None)
        if line is None and "end of document" in msg:
            line = len(text.splitlines()) or None
        detail = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg).strip()
        raise PolicyError(
            f"TOML 语法错误：{detail} (TOML syntax error)", path=str(p), line=line
        ) from None
    return _Checker(p, text).parse(data)


def _expand(item: str | Path) -> list[Path]:
    p = Path(item).expanduser()
    if p.is_dir():
        files = sorted(f for f in p.glob("*.toml") if f.is_file())
        if not files:
            raise PolicyError(
                "目录中没有 .toml 政策文件 (no .toml policy files in directory)", path=str(p)
            )
        return files
    if not p.exists() and not p.is_symlink():
        raise PolicyError("找不到政策文件或目录 (policy file or directory not found)", path=str(p))
    return [p]  # anything else (FIFO, device, link loop): reading it says why


def load_policies(
    extra: Sequence[str | Path] = (), *, include_builtin: bool = True
) -> list[PolicySet]:
    """Built-in sets (file-name order) followed by the user's files/directories, in the order
    given. Set ids, task ids and sub-measure ids must be unique across everything loaded, so a
    report's ids are unambiguous; a clash names both files."""
    files: list[Path] = []
    if include_builtin:
        d = builtin_policy_dir()
        if not d.is_dir():
            raise PolicyError(
                f"找不到内置政策集目录，可用环境变量 {ENV_VAR} 指定 "
                f"(built-in policy sets not found)",
                path=str(d),
            )
        files.extend(_expand(d))
    for item in extra:
        files.extend(_expand(item))

    sets: list[PolicySet] = []
    set_owner: dict[str, str] = {}
    id_owner: dict[str, tuple[str, str]] = {}  # task/sub id -> (kind, file)
    loaded: set[Path] = set()
    for f in files:
        key = f.resolve()
        if key in loaded:  # the same file named twice (e.g. built-in dir passed again)
            continue
        loaded.add(key)
        ps = load_policy_file(f)
        if ps.id in set_owner:
            raise PolicyError(
                f'政策集 id "{ps.id}" 与 {set_owner[ps.id]} 重复 (duplicate policy-set id)',
                path=str(f),
                line=_Locator(f.read_text(encoding="utf-8-sig")).set_line("id"),
            )
        set_owner[ps.id] = str(f)
        for kind, id_ in _ids(ps):
            if id_ in id_owner:
                other_kind, other_file = id_owner[id_]
                loc = _Locator(f.read_text(encoding="utf-8-sig"))
                raise PolicyError(
                    f'{kind} id "{id_}" 与 {other_file} 中的{other_kind}重复 '
                    f"(duplicate {_EN[kind]} id across files)",
                    path=str(f),
                    line=_line_of_id(loc, id_),
                )
            id_owner[id_] = (kind, str(f))
        sets.append(ps)
    return sets


def _ids(ps: PolicySet) -> Iterable[tuple[str, str]]:
    for t in ps.tasks:
        yield "任务", t.id
        for s in t.sub_measures:
            yield "子项", s.id


def _line_of_id(loc: _Locator, id_: str) -> int | None:
    pat = re.compile(rf"^\s*id\s*=\s*[\"']{re.escape(id_)}[\"']")
    for i, raw in enumerate(loc.lines, start=1):
        if pat.match(raw):
            return i
    return None


def select_sets(sets: Sequence[PolicySet], ids: Sequence[str] | None) -> list[PolicySet]:
    """The sets named by ``ids`` (all when ``ids`` is empty/None), kept in loading order."""
    if not ids:
        return list(sets)
    known = [s.id for s in sets]
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise PolicyError(
            f"未知的政策集 id：{', '.join(unknown)}；可用：{', '.join(known)} "
            f"(unknown policy-set id)"
        )
    wanted = set(ids)
    return [s for s in sets if s.id in wanted]


def policies_to_dict(sets: Sequence[PolicySet]) -> dict[str, Any]:
    """Everything loaded, for ``align policies --format json``. ``text_origin`` says which fields
    are official wording and which are our matching text."""
    return {
        "schema": POLICIES_SCHEMA,
        "text_origin": {
            "official": ["title", "official_text", "sub_measures[].title (official = true)"],
            "ours": [
                "description",
                "aliases",
                "terms",
                "negative_terms",
                "sub_measures[].description",
                "sub_measures[].terms",
                "sub_measures[].title (official = false)",
            ],
        },
        "policy_sets": [
            {
                "id": s.id,
                "title": s.title,
                "document": s.document,
                "issuer": s.issuer,
                "number": s.number,
                "date": s.date,
                "source": s.source,
                "context_terms": list(s.context_terms),
                "path": s.path,
                "tasks": [
                    {
                        "id": t.id,
                        "set_id": t.set_id,
                        "title": t.title,
                        "official_text": t.official_text,
                        "description": t.description,
                        "aliases": list(t.aliases),
                        "terms": list(t.terms),
                        "negative_terms": list(t.negative_terms),
                        "broad": t.broad,
                        "threshold": (
                            {"covered": t.threshold.covered, "partial": t.threshold.partial}
                            if t.threshold
                            else None
                        ),
                        "sub_measures": [
                            {
                                "id": m.id,
                                "title": m.title,
                                "official": m.official,
                                "description": m.description,
                                "terms": list(m.terms),
                            }
                            for m in t.sub_measures
                        ],
                    }
                    for t in s.tasks
                ],
            }
            for s in sets
        ],
    }
