"""Moved to :mod:`align.embed.e5.export` (the ONNX export) and :mod:`align.embed.e5.backend`
(choosing torch or ONNX Runtime); kept for one release."""

from __future__ import annotations

from .e5.backend import BACKEND_ENV, BACKENDS, onnx_e5_embedder, resolve_backend
from .e5.export import (
    MIN_COSINE_VS_TORCH,
    ONNX_BUILDER_VERSION,
    ONNX_MODEL,
    OPSET,
    VARIANTS,
    compare_with_torch,
    ensure_onnx_model,
    export_fp32,
    onnx_dir,
    quantize_int8,
    read_build,
    store_weights_fp16,
    usable,
    verify_texts,
)

__all__ = [
    "BACKENDS", "BACKEND_ENV", "MIN_COSINE_VS_TORCH", "ONNX_BUILDER_VERSION", "ONNX_MODEL", "OPSET",
    "VARIANTS", "compare_with_torch", "ensure_onnx_model", "export_fp32", "onnx_dir",
    "onnx_e5_embedder", "quantize_int8", "read_build", "resolve_backend", "store_weights_fp16",
    "usable", "verify_texts",
]
