"""Policy sets: load, validate and select the reference tasks a plan is checked against.

A policy set is one TOML file (format: ``reference_policies/README.md``). Validation is strict —
unknown keys, wrong types and duplicate ids are errors — because a typo such as ``term =`` instead
of ``terms =`` would otherwise silently weaken matching; it lives in ``align.policy_validate``.
Every error is a :class:`PolicyError` naming the file and, wherever the text allows, the line.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .errors import PolicyError
from .policy_validate import (  # noqa: F401  (the key tables: tests/test_schemas.py reads them here)
    _SET_KEYS,
    _SUB_KEYS,
    _TASK_KEYS,
    _TOP_KEYS,
    KIND_EN,
    Checker,
    PolicyLines,
)
from .types import PolicySet

if sys.version_info >= (3, 11):  # pragma: no cover - version switch
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_VAR = "ALIGN_REFERENCE_POLICIES"
POLICIES_SCHEMA = "align-policies/1"


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
    return Checker(p, text).parse(data)


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
                line=PolicyLines(f.read_text(encoding="utf-8-sig")).set_line("id"),
            )
        set_owner[ps.id] = str(f)
        for kind, id_ in _ids(ps):
            if id_ in id_owner:
                other_kind, other_file = id_owner[id_]
                loc = PolicyLines(f.read_text(encoding="utf-8-sig"))
                raise PolicyError(
                    f'{kind} id "{id_}" 与 {other_file} 中的{other_kind}重复 '
                    f"(duplicate {KIND_EN[kind]} id across files)",
                    path=str(f),
                    line=loc.line_of_id(id_),
                )
            id_owner[id_] = (kind, str(f))
        sets.append(ps)
    return sets


def _ids(ps: PolicySet) -> Iterable[tuple[str, str]]:
    for t in ps.tasks:
        yield "任务", t.id
        for s in t.sub_measures:
            yield "子项", s.id


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
