"""Builders for the plain data tests feed the formats and the gate: a Report from its sets.

Tests import these (``from builders import report``; pytest puts tests/ on the path) instead
of each writing its own DocumentInfo/ModelInfo boilerplate.
"""

from __future__ import annotations

from collections.abc import Sequence

from align.types import Chunk, DocumentInfo, ModelInfo, Report, SetResult


def report(
    sets: Sequence[SetResult],
    *,
    path: str = "plans/plan.txt",
    sha256: str = "0" * 64,
    chars: int = 100,
    chunks: Sequence[Chunk] = (),
    n_chunks: int | None = None,
    fmt: str = "",
    model: str = "lexical",
    kind: str = "",
    fingerprint: str = "",
    matrix: tuple[tuple[float, ...], ...] = (),
    align_version: str = "",
) -> Report:
    """A report of ``sets`` for a plan at ``path``; ``n_chunks`` (default: ``len(chunks)``)
    is what the document info says."""
    return Report(
        document=DocumentInfo(path=path, sha256=sha256, chars=chars,
                              chunks=len(chunks) if n_chunks is None else n_chunks, format=fmt),
        model=ModelInfo(name=model, kind=kind, fingerprint=fingerprint),
        policy_sets=tuple(sets),
        chunks=tuple(chunks),
        matrix=matrix,
        align_version=align_version,
    )
