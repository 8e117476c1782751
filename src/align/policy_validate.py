"""Validation of one policy-set file: the keys and value kinds the format allows, checked
strictly, with errors that name the file and, wherever the text allows, the line.

Strict because a typo such as ``term =`` instead of ``terms =`` would otherwise silently weaken
matching. Loading files and choosing sets is ``align.policies``; the format is
``reference_policies/README.md``.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from pathlib import Path
from typing import Any

from .errors import PolicyError
from .toml_lines import TomlLines
from .types import PolicySet, SubMeasure, Task, Threshold

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


class PolicyLines(TomlLines):
    """The lines of a policy file's parts ([set], the i-th [[tasks]], its sub-measures), so
    that errors found after parsing (missing field, wrong type, duplicate id) can still point
    at a line."""

    def set_line(self, key: str | None = None) -> int | None:
        ln = self.header("set")
        if ln is None:
            return None
        if key is None:
            return ln
        return self.key_in(self.block(ln), key) or ln

    def task_line(self, ti: int, key: str | None = None) -> int | None:
        ln = self.header("tasks", ti)
        if ln is None:
            return None
        if key is None:
            return ln
        # a task's keys sit between its header and the first sub-table header after it
        return self.key_in(self.block(ln), key) or ln

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
        return self.key_in(self.block(ln), key) or ln

    def top_line(self, key: str) -> int | None:
        return self.header(key) or self.key_in((1, len(self.lines)), key)


# --------------------------------------------------------------------------- validation


class Checker:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.loc = PolicyLines(text)
        self.seen: dict[str, int | None] = {}  # every task / sub-measure id in this file -> line

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

    def table(
        self, table: dict[str, Any], spec: dict[str, tuple[bool, str]], where: str, line_of
    ) -> dict[str, Any]:
        """Check one table's keys against ``spec`` and return its validated values."""
        self.check_keys(table, spec, where, line_of)
        return {
            k: self.value(table, k, kind, where, line_of)
            for k, (_, kind) in spec.items()
            if k in table
        }

    def parse(self, data: dict[str, Any]) -> PolicySet:
        """The whole file: top-level keys, the [set] table, then every task in order."""
        for key in data:
            if key not in _TOP_KEYS:
                hint = difflib.get_close_matches(key, _TOP_KEYS, n=1)
                sug = f'，是否应为 "{hint[0]}"' if hint else ""
                raise self.fail(
                    f'未知的顶层字段 "{key}"{sug}；只允许 [set] 和 [[tasks]] (unknown key)',
                    self.loc.top_line(key),
                )
        sv = self.set_meta(data)
        tasks_raw = data.get("tasks")
        if tasks_raw is None or (isinstance(tasks_raw, list) and not tasks_raw):
            raise self.fail(
                "政策集没有任务，至少需要一个 [[tasks]] (no tasks)", self.loc.set_line(None) or 1
            )
        if not isinstance(tasks_raw, list) or not all(isinstance(t, dict) for t in tasks_raw):
            raise self.fail(
                '"tasks" 应为 [[tasks]] 表数组 (wrong type: expected array of tables)',
                self.loc.top_line("tasks"),
            )
        self.seen = {}
        tasks = tuple(self.task(ti, t, sv["id"]) for ti, t in enumerate(tasks_raw))
        return PolicySet(tasks=tasks, path=str(self.path), **sv)

    def set_meta(self, data: dict[str, Any]) -> dict[str, Any]:
        """The [set] table's values, as PolicySet keyword arguments."""
        if "set" not in data:
            raise self.fail("缺少 [set] 表 (missing [set] table)", 1)
        meta = data["set"]
        if not isinstance(meta, dict):
            raise self.fail(
                '"set" 应为表 [set] (wrong type: expected table)', self.loc.top_line("set")
            )

        def set_line(key: str | None) -> int | None:
            return self.loc.set_line(key) or 1

        sv = self.table(meta, _SET_KEYS, "[set] ", set_line)
        sv.setdefault("number", "")
        if "context_terms" in sv:
            sv["context_terms"] = tuple(sv["context_terms"])
        return sv

    def claim(self, id_: str, what: str, line: int | None) -> None:
        """Task and sub-measure ids are unique within the file."""
        if id_ in self.seen:
            first = f"（第 {self.seen[id_]} 行已定义）" if self.seen[id_] else ""
            raise self.fail(f'{what} id "{id_}" 重复{first} (duplicate {KIND_EN[what]} id)', line)
        self.seen[id_] = line

    def task(self, ti: int, t: dict[str, Any], set_id: str) -> Task:
        def t_line(key: str | None) -> int | None:
            return self.loc.task_line(ti, key)

        label = f"第 {ti + 1} 个任务"
        if isinstance(t.get("id"), str) and t["id"].strip():
            label = f"任务 {t['id']} "
        tv = self.table(t, _TASK_KEYS, label, t_line)
        self.claim(tv["id"], "任务", t_line("id"))
        tv["sub_measures"] = tuple(
            self.sub_measure(ti, si, s, tv["id"]) for si, s in enumerate(tv.get("sub_measures", []))
        )
        return Task(set_id=set_id, **tv)

    def sub_measure(self, ti: int, si: int, s: dict[str, Any], task_id: str) -> SubMeasure:
        def s_line(key: str | None) -> int | None:
            return self.loc.sub_line(ti, si, key)

        label = f"任务 {task_id} 的第 {si + 1} 个子项"
        if isinstance(s.get("id"), str) and s["id"].strip():
            label = f"子项 {s['id']} "
        sv = self.table(s, _SUB_KEYS, label, s_line)
        self.claim(sv["id"], "子项", s_line("id"))
        return SubMeasure(**sv)


KIND_EN = {"任务": "task", "子项": "sub-measure", "政策集": "policy-set"}
