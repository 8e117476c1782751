"""``json`` (one object, or an array for several plans) and ``jsonl`` (one line per plan)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..types import Report


class JsonFormatter:
    name = "json"

    def format(self, reports: Sequence[Report]) -> str:
        data = [r.to_dict() for r in reports]
        return json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2)


class JsonlFormatter:
    name = "jsonl"

    def format(self, reports: Sequence[Report]) -> str:
        return "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in reports)
