"""The words for statuses, levels and verdicts, in one place (Chinese first, English beside).

Every format, the gate and the web pages name a status the same way; a wording change is one
line here. Keys are the JSON values (``covered``, ``error``, ``assessable`` ...).
"""

from __future__ import annotations

# coverage status of a task (types.Status)
STATUS_ZH: dict[str, str] = {"covered": "已覆盖", "partial": "部分覆盖", "missing": "未覆盖"}
STATUS_EN: dict[str, str] = {"covered": "covered", "partial": "partial", "missing": "missing"}
STATUS_SYMBOL: dict[str, str] = {"covered": "✔", "partial": "◐", "missing": "✘"}
STATUS_STYLE: dict[str, str] = {"covered": "green", "partial": "yellow", "missing": "red"}
STATUS_RANK: dict[str, int] = {"missing": 0, "partial": 1, "covered": 2}

# 可考核 verdict of a task's evidence (types.AssessVerdict)
VERDICT_ZH: dict[str, str] = {"assessable": "可考核", "partly": "部分可考核", "vague": "不可考核"}
VERDICT_SHORT: dict[str, str] = {"assessable": "是", "partly": "部分", "vague": "否"}
VERDICT_SYMBOL: dict[str, str] = {"assessable": "✔", "partly": "◐", "vague": "✘"}
VERDICT_STYLE: dict[str, str] = {"assessable": "green", "partly": "yellow", "vague": "red"}

# level of a gate finding (`align check`)
LEVEL_ZH: dict[str, str] = {"error": "错误", "warning": "警告", "notice": "提示"}
