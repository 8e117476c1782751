"""Plans named as git revisions (``HEAD~1:plans/a.docx``), so `align diff` can compare a draft
with what was committed without a second checkout."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..errors import InputError


def materialise(spec: str, tmp: Path) -> Path:
    """A plan path, or ``REV:PATH`` read from git (``HEAD~1:plans/a.docx``) into a temp file."""
    p = Path(spec)
    if p.exists() or ":" not in spec or (len(spec) > 1 and spec[1] == ":" and os.name == "nt"):
        return p
    rev, _, rel = spec.partition(":")
    try:
        data = subprocess.run(
            ["git", "show", f"{rev}:{rel}"], check=True, capture_output=True
        ).stdout
    except FileNotFoundError:
        raise InputError("找不到 git，无法读取修订版本 (git not found)", path=spec) from None
    except subprocess.CalledProcessError as e:
        msg = e.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(
            f"无法从 git 读取 (cannot read from git): {msg[-1] if msg else e}", path=spec
        ) from None
    out = tmp / f"{rev.replace('/', '_').replace('~', '_').replace('^', '_')}" / Path(rel).name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out
