"""e5-small on ONNX Runtime: the same tokenizer, graph and mean pooling as the torch path, without
torch.

Why: a cold run spends ~94% of its time inside the model. ONNX Runtime runs the exported graph
at the same vectors (cosine 1.0000000 on real plan text) as fast as torch on idle cores and
1.6-2.9x faster when the cores are shared, starts in ~1 s where importing torch and transformers
alone takes several (an edited plan re-scores in about half the time), and peaks a third lower
in memory (benchmarks/README.md). Nothing here imports torch: the ONNX file is exported once, at
build time, by :mod:`align.embed.e5.export`, which is the only place that needs it.

The folder holds ``model.onnx`` (inputs ``input_ids`` and ``attention_mask``, output
``sentence_embedding``: the attention-masked mean of the last hidden states, as
sentence-transformers' Pooling module computes it), the e5 folder's ``tokenizer.json`` and the
``BUILD_OK`` marker that records how close its vectors came to torch's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ModelError
from ...types import ModelInfo
from ..base import Embedder

if TYPE_CHECKING:  # pragma: no cover
    from ..cache import EmbeddingCache

ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "sentence_embedding"
MAX_SEQ_LENGTH = 512  # as sentence_bert_config.json: longer texts are truncated, like torch's path
# Environment override for the intra-op thread count (default: the cores this process may use).
THREADS_ENV = "ALIGN_ONNX_THREADS"


def available_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Intra-op threads: one per available core, unless ``ALIGN_ONNX_THREADS``. Measured: more
    threads than cores only add contention; on idle cores the second thread is what matches
    torch's speed; on a busy shared box one thread is faster (benchmarks/README.md)."""
    env = os.environ.get(THREADS_ENV, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return available_cores()


def ort_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


class OnnxEncoder:
    """Tokenizer + inference session of one exported folder: texts in, pooled vectors out (not
    normalised). Used by the embedder and by the build's comparison with torch, so what is
    verified is exactly what runs."""

    def __init__(self, folder: Path, *, threads: int | None = None, spinning: bool = False):
        self.folder = Path(folder)
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ModelError(f"未安装 onnxruntime (not installed: {e.name}); 可改用 --backend torch") from e
        try:
            tok = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        except Exception as e:  # noqa: BLE001 - a damaged file raises anything
            raise ModelError(f"分词器无法加载 (cannot load tokenizer: {e})", path=str(self.folder)) from e
        tok.enable_truncation(MAX_SEQ_LENGTH)
        tok.no_padding()
        self.tokenizer = tok
        self.pad_id = tok.token_to_id("<pad>")
        if self.pad_id is None:
            self.pad_id = 1
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or default_threads()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # errors only: no warnings on stderr
        if not spinning:
            # Idle pool threads sleep instead of spinning: on cores shared with other processes
            # (the jieba helper, other jobs) spinning took 1.37x longer (benchmarks/README.md).
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(self.folder / ONNX_FILE), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ModelError(f"ONNX 模型加载失败 (cannot load ONNX model: {msg})", path=str(self.folder)) from e
        self.threads = opts.intra_op_num_threads

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One batch, padded to its longest text; float32 (len(texts), dim)."""
        ids = self.token_ids(texts)
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        (out,) = self.session.run([OUTPUT], {INPUTS[0]: input_ids, INPUTS[1]: mask})
        return np.asarray(out, dtype=np.float32)


class ORTEmbedder(Embedder):
    """The default model through ONNX Runtime. ``info`` names the backend and its fingerprint
    differs from the torch path's, so cached vectors of the two never mix."""

    dense = True

    def __init__(
        self,
        folder: Path,
        info: ModelInfo,
        *,
        key: str,
        query_prefix: str,
        passage_prefix: str,
        dim: int | None,
        cache: EmbeddingCache | None = None,
        progress: bool = False,
    ):
        super().__init__(info, cache=cache, progress=progress)
        self.folder = Path(folder)
        self.key = key
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._dim = dim
        self._encoder: OnnxEncoder | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._load().encode(["x"]).shape[1])
        return self._dim

    def will_load_model(self, passages: Sequence[str]) -> bool:
        return self._encoder is None and self._uncached([self.passage_prefix + t for t in passages])

    def _load(self) -> OnnxEncoder:
        if self._encoder is None:
            self._encoder = OnnxEncoder(self.folder)
        return self._encoder

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self._load().encode(texts)


def session_info() -> dict[str, Any]:
    """What the benchmarks and the build marker record about the runtime."""
    import onnxruntime as ort

    return {"onnxruntime": ort.__version__, "threads": default_threads()}
