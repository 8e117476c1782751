"""Shared CLI plumbing: consoles, error handling, common options. No heavy imports here."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from ..errors import AlignError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_RULES = 1  # `align check`: a policy rule failed
EXIT_INPUT = 2  # input, usage or setup error


def err_console():  # rich is imported lazily; --help stays fast
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def out_console():
    from rich.console import Console

    return Console(highlight=False)


def print_error(err: AlignError | str) -> None:
    """One line on stderr, Chinese first: ``错误：<file>: <reason>``."""
    msg = str(err)
    sys.stderr.write(f"错误 error: {msg}\n")


def warn(msg: str) -> None:
    sys.stderr.write(f"提示 warning: {msg}\n")


def handle_errors(fn: F) -> F:
    """Turn AlignError into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AlignError as e:
            print_error(e)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            sys.stderr.write("已中断 interrupted\n")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def write_output(text: str, output: Path | None) -> None:
    """Write machine output to a file or to stdout (never mixed with progress, which goes to stderr)."""
    if output is None:
        sys.stdout.write(text)
        if text and not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


# Reusable option declarations ------------------------------------------------------------

PolicyOption = typer.Option(
    None,
    "--policy",
    "-p",
    help="额外的政策任务文件或目录（可多次）。Extra policy-set file or directory (repeatable).",
)
SetOption = typer.Option(
    None,
    "--set",
    "-s",
    help="只对照这些政策集（id，可多次）。Only these policy-set ids (repeatable).",
)
ModelOption = typer.Option(
    None,
    "--model",
    "-m",
    help=(
        "嵌入模型：e5-small（默认）、use-m3、lexical，或 sentence-transformers 模型目录/名称。"
        " Embedding model: e5-small (default), use-m3, lexical, or a sentence-transformers path/name."
    ),
)
BackendOption = typer.Option(
    None,
    "--backend",
    help=(
        "e5-small 的推理后端：auto（默认：有 onnxruntime 且核对通过时用 onnx，否则 torch）、torch、onnx、"
        "onnx-int8（实验性，未校准）。也可设 ALIGN_BACKEND。"
        " Inference backend for e5-small: auto (default), torch, onnx, onnx-int8 (experimental,"
        " uncalibrated); or set ALIGN_BACKEND."
    ),
)
NoCacheOption = typer.Option(False, "--no-cache", help="不使用嵌入缓存。Do not read or write the embedding cache.")
EncodingOption = typer.Option(
    None, "--encoding", help="强制文本编码（如 gbk）。Force the text encoding of .txt/.md files."
)
OutputOption = typer.Option(None, "--output", "-o", help="写入文件而非标准输出。Write to FILE instead of stdout.")
MaxSizeOption = typer.Option(
    50.0,
    "--max-size",
    min=0.001,
    help="文件大小上限（MB，默认 50）。Refuse plan files larger than this many MB (default 50).",
)


def megabytes(mb: float) -> int:
    return int(mb * 1024 * 1024)
