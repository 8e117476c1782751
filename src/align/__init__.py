"""align: check which policy tasks a plan covers, with evidence.

Public API (heavy libraries load only when scoring starts)::

    import align
    report = align.score("plan.docx")                 # default policy sets and model
    report.policy_sets[0].tasks[0].status              # "covered" | "partial" | "missing"
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "score", "load_policies", "read_document", "chunk_document"]


def __getattr__(name: str) -> Any:
    # Lazy re-exports keep `import align` (and `align --help`) free of heavy imports.
    if name == "score":
        from .pipeline import score

        return score
    if name == "load_policies":
        from .policies import load_policies

        return load_policies
    if name == "read_document":
        from .read import read_document

        return read_document
    if name == "chunk_document":
        from .chunk import chunk_document

        return chunk_document
    raise AttributeError(name)
