"""docs/ has a page for every topic the code and the README point at, and their links resolve."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _sources() -> list[Path]:
    files = [ROOT / "README.md", ROOT / ".pre-commit-hooks.yaml", ROOT / "examples" / "github-workflow.yml"]
    files += sorted((ROOT / "src").rglob("*.py")) + sorted((ROOT / "src").rglob("*.json"))
    files += sorted((ROOT / "docs").glob("*.md"))
    return files


def test_every_cited_docs_page_exists():
    cited: dict[str, set[str]] = {}
    for f in _sources():
        for page in re.findall(r"docs/([A-Za-z0-9_-]+\.md)", f.read_text(encoding="utf-8")):
            cited.setdefault(page, set()).add(str(f.relative_to(ROOT)))
    assert {"models.md", "ci.md"} <= set(cited)  # embed/lexical.py and the README cite these
    for page, where in cited.items():
        assert (ROOT / "docs" / page).is_file(), f"docs/{page} cited by {sorted(where)}"


def test_one_page_per_topic_and_relative_links_resolve():
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert {"models.md", "policies.md", "ci.md", "web.md"} <= pages
    for name in pages:
        text = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert text.startswith("# "), name
        for target in re.findall(r"\]\((?!https?:|#)([^)#]+)", text):
            assert (ROOT / "docs" / target).resolve().exists(), (name, target)
