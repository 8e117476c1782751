"""Moved to :mod:`align.embed.e5.ort`; kept for one release."""

from __future__ import annotations

from .e5.ort import (
    INPUTS,
    MAX_SEQ_LENGTH,
    ONNX_FILE,
    OUTPUT,
    THREADS_ENV,
    TOKENIZER_FILE,
    OnnxEncoder,
    ORTEmbedder,
    available_cores,
    default_threads,
    ort_available,
    session_info,
)

__all__ = [
    "INPUTS", "MAX_SEQ_LENGTH", "ONNX_FILE", "OUTPUT", "THREADS_ENV", "TOKENIZER_FILE",
    "OnnxEncoder", "ORTEmbedder", "available_cores", "default_threads", "ort_available",
    "session_info",
]
