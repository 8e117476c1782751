"""Export the built e5-small folder to ONNX, once, and check it against torch before trusting it.

The export runs the same ``transformers`` BERT that sentence-transformers loads (eager attention,
so the graph is plain MatMul/Softmax that ONNX Runtime fuses) with sentence-transformers' mean
pooling inside the graph, through ``torch.onnx.export``: torch is needed here, at build time, and
nowhere on the ONNX run path. Two variants:

* ``fp32`` (``--backend onnx``): fp32 compute. The e5 folder's weights are fp16 values, so they
  are stored as fp16 with a Cast to fp32 (lossless: the vectors are bit-identical to an all-fp32
  file): 235 MB on disk instead of 470 MB, and the 96M-weight word embedding stays fp16 in memory
  (the Cast follows its Gather).
* ``int8`` (``--backend onnx-int8``, experimental): ONNX Runtime's dynamic int8 quantisation of
  the fp32 graph. Faster, but its vectors move (cosine ~0.98 to torch's) and no calibration file
  has been fitted to them, so it is never chosen on its own.

The folder (``<cache>/models/e5-small-onnx-<variant>-<hash>``, the hash covering the e5 folder,
this builder and the onnxruntime version) is built through :func:`.folder.build_once`: under a
lock, marker written last, superseded builds removed. The marker records the verdict of the
comparison with torch on fixed Chinese texts, both prefixes: ``verified`` when the minimum cosine
is at least ``MIN_COSINE_VS_TORCH``. A failed check (or a failed export) is remembered too, with
the ONNX file deleted, so every later run falls back to torch at once instead of exporting again.
"""

from __future__ import annotations

import hashlib
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

from ...errors import ModelError
from ..st import load_st_model, set_hub_offline
from .build import E5_MODEL_KEY
from .folder import build_once, complete_marker, file_sizes, prune_superseded
from .ort import INPUTS, ONNX_FILE, OUTPUT, TOKENIZER_FILE, OnnxEncoder
from .verify import VERIFY_SENTENCES, cosines

VARIANTS = {"onnx": "fp32", "onnx-int8": "int8"}
ONNX_MODEL = "e5-small-onnx"
# Bump whenever the export's output changes: the folder name (and so the fingerprint) follows it.
ONNX_BUILDER_VERSION = "1"
OPSET = 17
# fp32 ONNX must give torch's vectors: measured 0.9999998 minimum on 160 real plan passages.
MIN_COSINE_VS_TORCH = 0.9999
# A text longer than the 512-token limit, so the check covers truncation as well.
_LONG_TEXT = "".join(VERIFY_SENTENCES) * 3

# ------------------------------------------------------------------------------------ locating


def onnx_dir(e5_folder: Path, variant: str) -> Path:
    """Beside the e5 folder it is exported from, the symlink resolved: a private cache that links
    to an already-built e5 folder (the benchmarks, the tests) shares its export as well."""
    import onnxruntime

    e5_folder = e5_folder.resolve()
    ident = f"{e5_folder.name}:{variant}:{ONNX_BUILDER_VERSION}:{onnxruntime.__version__}"
    short = hashlib.sha256(ident.encode()).hexdigest()[:12]
    return e5_folder.parent / f"{ONNX_MODEL}-{variant}-{short}"


def _expect(e5_folder: Path, variant: str) -> dict[str, Any]:
    return {
        "model": ONNX_MODEL,
        "variant": variant,
        "builder_version": ONNX_BUILDER_VERSION,
        "e5_folder": e5_folder.resolve().name,
    }


def read_build(e5_folder: Path, variant: str) -> dict[str, Any] | None:
    """The marker of a complete build (usable or not) for this e5 folder, else None."""
    return complete_marker(onnx_dir(e5_folder, variant), _expect(e5_folder, variant), TOKENIZER_FILE)


def ensure_onnx_model(e5_folder: Path, variant: str, *, progress: bool = True) -> tuple[Path, dict]:
    """The exported folder and its marker, exporting first when there is no complete build."""
    if variant not in VARIANTS.values():
        raise ModelError(f"未知的 ONNX 变体 {variant!r} (unknown ONNX variant)")
    final = onnx_dir(e5_folder, variant)
    expect = _expect(e5_folder, variant)
    marker = complete_marker(final, expect, TOKENIZER_FILE)
    if marker is None:
        build_once(
            final,
            lambda tmp, bar: _build_into(tmp, e5_folder, variant, bar),
            valid=lambda folder: complete_marker(folder, expect, TOKENIZER_FILE) is not None,
            prune=lambda folder: prune_superseded(
                folder, f"{ONNX_MODEL}-{variant}-*", {"model": ONNX_MODEL, "variant": variant}
            ),
            steps=3,
            progress=progress,
            label=("ONNX 模型", "ONNX model"),
        )
        marker = complete_marker(final, expect, TOKENIZER_FILE)
        if marker is None:  # pragma: no cover - build_once raises instead
            raise ModelError("ONNX 模型构建未完成 (ONNX build incomplete)", path=str(final))
    return final, marker


def usable(marker: dict[str, Any]) -> bool:
    files = marker.get("files") or {}
    if ONNX_FILE not in files:
        return False
    return marker.get("variant") == "int8" or bool(marker.get("verified"))


# --------------------------------------------------------------------------------------- build


def _build_into(tmp: Path, e5_folder: Path, variant: str, bar: Any) -> dict[str, Any]:
    import onnxruntime

    marker: dict[str, Any] = {
        **_expect(e5_folder, variant),
        "key": E5_MODEL_KEY,
        "onnxruntime_version": onnxruntime.__version__,
        "opset": OPSET,
        "min_cosine_threshold": MIN_COSINE_VS_TORCH,
    }
    shutil.copyfile(e5_folder / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
    fp32 = tmp / "model-fp32.onnx.part"
    try:
        bar.step("导出计算图 (exporting the graph with torch.onnx)")
        t0 = time.perf_counter()
        marker["torch_version"] = export_fp32(e5_folder, fp32)
        marker["export_seconds"] = round(time.perf_counter() - t0, 1)
        if variant == "int8":
            bar.step("动态 int8 量化 (dynamic int8 quantisation)")
            quantize_int8(fp32, tmp / ONNX_FILE)
        else:
            bar.step("权重存为 fp16 (storing the weights as fp16)")
            store_weights_fp16(fp32, tmp / ONNX_FILE)
        fp32.unlink()
        bar.step("与 torch 核对向量 (checking vectors against torch)")
        cosine = compare_with_torch(e5_folder, tmp)
    except (OSError, MemoryError):
        raise  # the machine, not the model: nothing to remember, build_once reports it
    except Exception as e:  # noqa: BLE001 - remembered so later runs do not export again
        msg = str(e).splitlines()[0] if str(e) else ""
        marker.update(verified=False, error=f"{type(e).__name__}: {msg}"[:300])
        cosine = None
    fp32.unlink(missing_ok=True)
    if cosine is not None:
        marker["min_cosine_vs_torch"] = round(float(cosine), 7)
        marker["verified"] = bool(cosine >= MIN_COSINE_VS_TORCH)
    if not (marker["verified"] or variant == "int8" and cosine is not None):
        (tmp / ONNX_FILE).unlink(missing_ok=True)  # 235 MB nothing will load
    marker["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    marker["files"] = file_sizes(tmp)
    return marker


def export_fp32(e5_folder: Path, dest: Path) -> str:
    """``torch.onnx.export`` of the e5 folder's BertModel plus mean pooling; returns torch's
    version. Dynamic batch and sequence axes; the TorchScript exporter (no onnxscript needed)."""
    set_hub_offline()
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(
        str(e5_folder), local_files_only=True, attn_implementation="eager", dtype=torch.float32
    ).eval()

    class MeanPooled(torch.nn.Module):
        """sentence-transformers' Pooling(mean): masked sum of token states over the count."""

        def __init__(self, model: torch.nn.Module):
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            states = self.model(input_ids=input_ids, attention_mask=attention_mask)[0]
            weights = attention_mask.unsqueeze(-1).to(states.dtype)
            return (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)

    ids = torch.tensor([[0, 6, 7, 8, 2], [0, 9, 10, 2, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.long)
    axes = {"batch": 0, "sequence": 1}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about constant shapes in HF code
        torch.onnx.export(
            MeanPooled(bert),
            (ids, mask),
            str(dest),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_axes={
                INPUTS[0]: {v: k for k, v in axes.items()},
                INPUTS[1]: {v: k for k, v in axes.items()},
                OUTPUT: {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return str(torch.__version__)


def store_weights_fp16(src: Path, dest: Path) -> int:
    """Rewrite large fp32 initializers whose values are exact fp16 numbers as fp16 plus a Cast
    to fp32 (the e5 folder's weights are fp16, so this loses nothing); a Gather's table is cast
    after the Gather, so only the looked-up rows become fp32. Returns how many were rewritten."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    g = model.graph
    consumers: dict[str, list[Any]] = {}
    for node in g.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    front: list[Any] = []
    after: dict[str, Any] = {}
    done = 0
    for init in list(g.initializer):
        if init.data_type != TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        if arr.size < 4096:
            continue
        half = arr.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), arr):
            continue  # not an fp16 value: keep it as it is
        name16 = f"{init.name}__fp16"
        g.initializer.remove(init)
        g.initializer.append(numpy_helper.from_array(half, name16))
        users = consumers.get(init.name, [])
        if len(users) == 1 and users[0].op_type == "Gather" and users[0].input[0] == init.name:
            gather = users[0]
            out = gather.output[0]
            gather.input[0] = name16
            gather.output[0] = f"{out}__fp16"
            after[gather.output[0]] = helper.make_node(
                "Cast", [gather.output[0]], [out], to=TensorProto.FLOAT, name=f"{out}__cast"
            )
        else:
            front.append(
                helper.make_node(
                    "Cast", [name16], [init.name], to=TensorProto.FLOAT, name=f"{init.name}__cast"
                )
            )
        done += 1
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(front)
    for node in nodes:
        g.node.append(node)
        for out in node.output:
            if out in after:
                g.node.append(after[out])
    onnx.checker.check_model(model)
    onnx.save(model, str(dest))
    return done


def quantize_int8(src: Path, dest: Path) -> None:
    """ONNX Runtime's dynamic quantisation: int8 weights, activations quantised per batch."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(str(src), str(dest), weight_type=QuantType.QInt8)


def verify_texts() -> list[str]:
    return [*VERIFY_SENTENCES, _LONG_TEXT]


def compare_with_torch(e5_folder: Path, onnx_folder: Path, texts: list[str] | None = None) -> float:
    """Minimum cosine, over the texts and both prefixes, between this folder's ONNX vectors (the
    run path's own encoder, one padded batch) and sentence-transformers' on the e5 folder."""

    texts = list(texts) if texts else verify_texts()
    st = load_st_model(e5_folder)
    enc = OnnxEncoder(onnx_folder)
    worst = 1.0
    for prefix in ("query: ", "passage: "):
        batch = [prefix + t for t in texts]
        ref = st.encode(batch, prompt="", batch_size=len(batch), convert_to_numpy=True)
        ours = enc.encode(batch)
        worst = min(worst, float(cosines(ours, ref).min()))
    return worst
