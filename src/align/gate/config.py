"""Rules for the CI gate (`align check`), read from ``align.toml`` or ``[tool.align]``.

Reporting and failing are separate settings (``report_on`` vs ``fail_on``), because the first
thing linter users ask for is to see a problem without breaking the build over it. A ``[ci]``
sub-table (``[tool.align.ci]``) overrides keys when the ``CI`` environment variable is set, so
one file can be stricter in CI than on a laptop.

Every mistake in the file is a ``ConfigError`` naming the file and, where it can be found, the
line, so a typo never silently turns a rule off. The settings themselves are plain data,
``align.findings.AlignConfig``, because every check result carries them.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..findings import AlignConfig
from ..toml_lines import TomlLines
from ..types import STATUSES

if sys.version_info >= (3, 11):  # pragma: no cover - depends on interpreter
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILE = "align.toml"
PYPROJECT = "pyproject.toml"


_KEYS = (
    "sets",
    "policies",
    "model",
    "min_covered_share",
    "required",
    "require_assessable",
    "fail_on",
    "report_on",
    "regression_margin",
    "evidence_margin",
    "baseline",
    "annotation_cap",
)


class _Parser:
    def __init__(self, path: Path, text: str, table: str | None):
        self.path = path
        self.lines = TomlLines(text)
        self.table = table  # "tool.align" for pyproject, None for align.toml top level

    def fail(self, message: str, key: str | None = None, table: str | None | bool = False) -> None:
        tbl = self.table if table is False else table
        line = None
        if key:
            line = self.lines.line_of(tbl, key) or self.lines.line_of(tbl, key.split(".")[0])
        if line is None and tbl:
            line = self.lines.line_of(tbl, None)
        raise ConfigError(message, path=str(self.path), line=line)

    def _str_list(self, key: str, value: Any, tbl: str | None) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(f"配置项 {key} 应为字符串列表 ({key} must be a list of strings)", key, tbl)
        return tuple(value)

    def _statuses(self, key: str, value: Any, tbl: str | None) -> tuple[str, ...]:
        out = self._str_list(key, value, tbl)
        bad = [s for s in out if s not in STATUSES]
        if bad:
            self.fail(
                f"配置项 {key} 含未知状态 {bad[0]!r}，可选：{', '.join(STATUSES)}"
                f" (unknown status in {key})",
                key,
                tbl,
            )
        return out

    def _share(self, key: str, value: Any, tbl: str | None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"配置项 {key} 应为 0 到 1 之间的数 ({key} must be a number in 0..1)", key, tbl)
        if not 0 <= value <= 1:
            self.fail(f"配置项 {key} 超出 0 到 1 ({key} must be within 0..1): {value}", key, tbl)
        return float(value)

    def parse(self, data: dict[str, Any], tbl: str | None) -> dict[str, Any]:
        """Validate one table; returns AlignConfig keyword arguments."""
        out: dict[str, Any] = {}
        base = self.path.parent
        for key, value in data.items():
            if key == "ci" and tbl == self.table:
                continue  # handled by the caller
            if key not in _KEYS:
                allowed = ", ".join(_KEYS + (("ci",) if tbl == self.table else ()))
                self.fail(f"未知的配置项 {key!r}，可选：{allowed} (unknown key)", key, tbl)
            if key in ("sets", "required", "require_assessable"):
                out[key] = self._str_list(key, value, tbl)
            elif key == "policies":
                out[key] = tuple(base / p for p in self._str_list(key, value, tbl))
            elif key in ("fail_on", "report_on"):
                out[key] = self._statuses(key, value, tbl)
            elif key == "model":
                if not isinstance(value, str) or not value:
                    self.fail("配置项 model 应为非空字符串 (model must be a string)", key, tbl)
                out[key] = value
            elif key == "baseline":
                if not isinstance(value, str) or not value:
                    self.fail("配置项 baseline 应为文件路径 (baseline must be a path)", key, tbl)
                out[key] = base / value
            elif key == "min_covered_share":
                if isinstance(value, dict):
                    out[key] = {str(k): self._share(f"{key}.{k}", v, tbl) for k, v in value.items()}
                    if not out[key]:
                        self.fail(f"配置项 {key} 为空表 ({key} is an empty table)", key, tbl)
                else:
                    out[key] = self._share(key, value, tbl)
            elif key == "evidence_margin":
                out[key] = self._share(key, value, tbl)
            elif key == "regression_margin":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    self.fail(
                        "配置项 regression_margin 应为非负数 (regression_margin must be a number >= 0)",
                        key,
                        tbl,
                    )
                out[key] = float(value)
            elif key == "annotation_cap":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    self.fail(
                        "配置项 annotation_cap 应为正整数 (annotation_cap must be an integer >= 1)",
                        key,
                        tbl,
                    )
                out[key] = value
        both = set(out.get("fail_on", ())) & set(out.get("report_on", ()))
        if both:
            # a status is either failing or only reported; both at once is a contradiction
            self.fail(
                f"状态 {sorted(both)[0]!r} 同时出现在 fail_on 与 report_on 中"
                " (a status cannot both fail and be only reported)",
                "report_on",
                tbl,
            )
        return out


def _is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


MAX_CONFIG_BYTES = 8 * 1024 * 1024


def parse_config(path: Path, *, ci: bool | None = None) -> AlignConfig | None:
    """Read one file. Returns None for a pyproject.toml without ``[tool.align]``."""
    from ..fileio import FileProblem, read_limited

    try:
        raw = read_limited(path, MAX_CONFIG_BYTES)  # regular files only: a FIFO would hang
    except FileProblem as e:
        reason = "配置文件过大 (config file too large)" if e.too_large else e.reason
        raise ConfigError(f"无法读取配置文件 (cannot read config): {reason}", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("配置文件不是 UTF-8 编码 (config is not UTF-8)", path=str(path)) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise ConfigError(
            f"配置文件不是有效的 TOML (invalid TOML): {str(e).split(' (at')[0]}",
            path=str(path),
            line=int(m.group(1)) if m else None,
        ) from None
    if path.name == PYPROJECT:
        tool = doc.get("tool", {})
        if not isinstance(tool, dict) or "align" not in tool:
            return None
        data, table = tool["align"], "tool.align"
    else:
        data, table = doc, None
    p = _Parser(path, text, table)
    if not isinstance(data, dict):
        p.fail("[tool.align] 应为表 ([tool.align] must be a table)", None)
    kwargs = p.parse(data, table)
    ci_table = data.get("ci")
    if ci_table is not None:
        ci_name = f"{table}.ci" if table else "ci"
        if not isinstance(ci_table, dict):
            p.fail("配置项 ci 应为表 (ci must be a table)", "ci")
        ci_kwargs = p.parse(ci_table, ci_name)
        if ci is None:
            ci = _is_ci()
        if ci:
            kwargs.update(ci_kwargs)
            both = set(kwargs.get("fail_on", ())) & set(kwargs.get("report_on", ()))
            if both:
                # CI moved a status into fail_on: it is no longer "only reported"
                kwargs["report_on"] = tuple(s for s in kwargs["report_on"] if s not in both)
    return AlignConfig(**kwargs, source=path)


def find_config(start: Path | None = None) -> Path | None:
    """Nearest ``align.toml``, or ``pyproject.toml`` with ``[tool.align]``, from ``start`` up."""
    here = (start or Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for d in (here, *here.parents):
        cand = d / CONFIG_FILE
        if cand.is_file():
            return cand
        py = d / PYPROJECT
        if py.is_file():
            try:
                if "align" in tomllib.loads(py.read_text(encoding="utf-8")).get("tool", {}):
                    return py
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                # a broken pyproject.toml that may not even be ours: report it only if it
                # mentions our table, otherwise keep looking
                if "[tool.align" in py.read_text(encoding="utf-8", errors="replace"):
                    return py
    return None


def load_config(
    explicit: Path | None = None, start: Path | None = None, *, ci: bool | None = None
) -> AlignConfig:
    """The rules in force: ``explicit`` (``--config``), else the nearest config file found
    upward from ``start`` (default: the working directory), else the defaults.

    ``ci`` applies the ``[ci]`` overrides; None means "when the CI environment variable is set".
    """
    if explicit is not None:
        explicit = Path(explicit)
        if not explicit.exists() and not explicit.is_symlink():
            raise ConfigError("配置文件不存在 (config file not found)", path=str(explicit))
        cfg = parse_config(explicit, ci=ci)
        if cfg is None:
            raise ConfigError("pyproject.toml 中没有 [tool.align] 表 (no [tool.align] table)", path=str(explicit))
        return cfg
    found = find_config(start)
    if found is None:
        return AlignConfig()
    cfg = parse_config(found, ci=ci)
    return cfg if cfg is not None else AlignConfig()


def with_overrides(config: AlignConfig, **overrides: Any) -> AlignConfig:
    """Command-line options win over the file; None means "not given"."""
    names = {f.name for f in fields(AlignConfig)}
    return replace(config, **{k: v for k, v in overrides.items() if k in names and v is not None})
