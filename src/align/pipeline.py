"""Wire the steps: read -> chunk -> embed -> score -> report. The public Python API lives here.

``Scorer`` loads policies, the model and its calibration once, so a batch of plans (or a web
server) pays for model loading a single time; ``make_scorer`` builds one from a command's
options (every CLI command uses it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from ._text import megabytes
from .errors import AlignError
from .types import Document, DocumentInfo, ModelInfo, Report

if TYPE_CHECKING:  # pragma: no cover
    from .embed.base import Embedder
    from .embed.cache import EmbeddingCache
    from .scoring.calibration import Calibration
    from .scoring.index import TaskIndex
    from .types import PolicySet


@dataclass
class Timings:
    """Seconds spent per stage, summed over documents (benchmarks read this)."""

    read: float = 0.0
    chunk: float = 0.0
    embed: float = 0.0
    score: float = 0.0
    setup: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


class Scorer:
    def __init__(
        self,
        *,
        policy_files: Sequence[str | Path] = (),
        set_ids: Sequence[str] | None = None,
        model: str | None = None,
        cache: bool = True,
        progress: bool = False,
        policy_sets: Sequence[PolicySet] | None = None,
        backend: str | None = None,
        embedder: Embedder | None = None,
        calibration: Calibration | str | Path | None = None,
        max_tokens: int | None = None,
        max_bytes: int | None = None,
    ):
        from .policies import load_policies, select_sets

        t0 = time.perf_counter()
        if policy_sets is None:
            policy_sets = select_sets(load_policies(policy_files), set_ids)
        self.policy_sets: list[PolicySet] = list(policy_sets)
        self.model_name = model
        self.backend = backend  # e5-small: auto (None) | torch | onnx | onnx-int8
        self.cache = cache
        self.progress = progress
        self._embedder = embedder
        self._calibration = None if isinstance(calibration, (str, Path)) else calibration
        self._calibration_file = Path(calibration) if isinstance(calibration, (str, Path)) else None
        self._index: TaskIndex | None = None
        self.max_tokens = max_tokens
        self.max_bytes = max_bytes  # None: the reader's default (50 MB)
        self.timings = Timings(setup=time.perf_counter() - t0)

    # lazily loaded so that `align policies` or a failing read never loads torch ------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from .embed import get_embedder

            t0 = time.perf_counter()
            self._embedder = get_embedder(
                self.model_name, cache=self.cache, progress=self.progress, backend=self.backend
            )
            self.timings.setup += time.perf_counter() - t0
        return self._embedder

    @property
    def store(self) -> EmbeddingCache | None:
        """The on-disk cache of vectors, term weights and task indexes (None with --no-cache)."""
        return self.embedder.cache

    @property
    def calibration(self) -> Calibration:
        if self._calibration is None:
            from .scoring.calibration import load_calibration, read_calibration

            if self._calibration_file is not None:
                cal = read_calibration(self._calibration_file, source=str(self._calibration_file))
                if cal.key != self.embedder.key:
                    raise AlignError(
                        f"校准文件是为模型 {cal.key} 生成的，当前模型为 {self.embedder.key}"
                        " (calibration was fitted for another model)",
                        path=str(self._calibration_file),
                    )
                self._calibration = cal
            else:
                self._calibration = load_calibration(self.embedder.key)
        return self._calibration

    @property
    def index(self) -> TaskIndex:
        if self._index is None:
            from .scoring.index import load_task_index

            embedder, calibration = self.embedder, self.calibration  # timed on their own
            t0 = time.perf_counter()
            self._index = load_task_index(self.policy_sets, embedder, calibration, self.store)
            self.timings.setup += time.perf_counter() - t0
        return self._index

    # ---------------------------------------------------------------------------------------
    def score_document(self, doc: Document) -> Report:
        from .assess import annotate_sets, plan_time
        from .chunk import DEFAULT_MAX_TOKENS, chunk_document
        from .embed.lexical import passage_weights
        from .scoring.combine import score_chunks
        from .scoring.decide import decide
        from .scoring.views import chunk_embed_text

        t0 = time.perf_counter()
        chunks = chunk_document(doc, max_tokens=self.max_tokens or DEFAULT_MAX_TOKENS)
        self.timings.chunk += time.perf_counter() - t0
        index, emb, cal = self.index, self.embedder, self.calibration
        t1 = time.perf_counter()
        texts = [chunk_embed_text(c, cal.heading_context) for c in chunks]
        vectors = None
        if chunks and emb.dense and cal.uses_dense:
            helper = None
            if self.store is not None and emb.will_load_model(texts):
                from .embed import lexical_helper

                # jieba cuts the new texts on the other core while the model loads
                helper = lexical_helper.start(texts, self.store)
            try:
                vectors = emb.encode_passages(texts)
            except BaseException:
                if helper is not None:
                    helper.stop()
                raise
            if helper is not None:
                helper.wait()
        t2 = time.perf_counter()
        lex_weights = passage_weights(texts, self.store)  # jieba only for uncached texts
        scores = score_chunks(chunks, index, emb, cal, vectors=vectors, lex_weights=lex_weights)
        sets = decide(chunks, self.policy_sets, scores, cal, index.term_words)
        sets = annotate_sets(sets, chunks, plan_time(doc.text), self.store)  # 可考核 on the evidence
        self.timings.embed += t2 - t1
        self.timings.score += time.perf_counter() - t2  # lexical signal + standardising + statuses
        info = emb.info
        model = ModelInfo(
            name=info.name,
            version=info.version,
            kind=info.kind,
            fingerprint=info.fingerprint,
            calibration=cal.source,
            extra=dict(info.extra),
        )
        return Report(
            document=DocumentInfo(
                path=doc.path,
                sha256=doc.sha256,
                chars=len(doc.text),
                chunks=len(chunks),
                format=doc.format,
                encoding=doc.encoding,
            ),
            model=model,
            policy_sets=sets,
            chunks=tuple(chunks),
            matrix=tuple(tuple(round(float(x) * 100, 2) for x in row) for row in scores.prob),
            align_version=__version__,
        )

    def score_path(self, path: str | Path, *, encoding: str | None = None) -> Report:
        from .read import read_document

        t0 = time.perf_counter()
        doc = read_document(path, encoding=encoding, **self._size_limit())
        self.timings.read += time.perf_counter() - t0
        return self.score_document(doc)

    def score_bytes(self, data: bytes, name: str) -> Report:
        from .read import read_bytes

        t0 = time.perf_counter()
        doc = read_bytes(data, name, **self._size_limit())
        self.timings.read += time.perf_counter() - t0
        return self.score_document(doc)

    def _size_limit(self) -> dict[str, int]:
        return {} if self.max_bytes is None else {"max_bytes": self.max_bytes}

    def score_paths(
        self,
        paths: Sequence[str | Path],
        *,
        encoding: str | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> list[Report | AlignError]:
        """One entry per plan (directories expanded); a bad file becomes its error, in place,
        and the others are still scored."""
        from .read import collect_inputs

        files, errors = collect_inputs(paths)
        out: list[Report | AlignError] = list(errors)
        for i, f in enumerate(files):
            if on_progress:
                on_progress(i, len(files), str(f))
            try:
                out.append(self.score_path(f, encoding=encoding))
            except AlignError as e:
                out.append(e)
        if on_progress:
            on_progress(len(files), len(files), "")
        return out




def make_scorer(
    policy_files: Sequence[str | Path] | None,
    set_ids: Sequence[str] | None,
    model: str | None,
    no_cache: bool,
    progress: bool = True,
    max_size: float | None = None,
    calibration: str | Path | None = None,
    backend: str | None = None,
) -> Scorer:
    """The Scorer for a command's options, as the command line gives them: no ``--policy`` or
    ``--set`` means the defaults, ``--no-cache``, ``--max-size`` in MB (None: the reader's
    default). Every command builds its scorer here, so an option means the same everywhere."""
    return Scorer(
        calibration=calibration,
        policy_files=policy_files or (),
        set_ids=list(set_ids) if set_ids else None,
        model=model,
        backend=backend,
        cache=not no_cache,
        progress=progress,
        max_bytes=megabytes(max_size) if max_size else None,
    )


def score(
    paths: str | Path | Sequence[str | Path],
    *,
    policy_files: Sequence[str | Path] = (),
    set_ids: Sequence[str] | None = None,
    model: str | None = None,
    cache: bool = True,
    encoding: str | None = None,
) -> Report | list[Report]:
    """Score one plan (returns a Report) or several (returns a list). Raises AlignError on the
    first file that cannot be read; use ``Scorer.score_paths`` to collect errors instead."""
    single = isinstance(paths, (str, os.PathLike))
    scorer = Scorer(policy_files=policy_files, set_ids=set_ids, model=model, cache=cache)
    results = scorer.score_paths([paths] if single else list(paths), encoding=encoding)  # type: ignore[list-item]
    for r in results:
        if isinstance(r, AlignError):
            raise r
    reports = [r for r in results if isinstance(r, Report)]
    return reports[0] if single and len(reports) == 1 else reports
