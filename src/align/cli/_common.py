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
    """A notice on stderr; silenced by ``--quiet`` (errors never are)."""
    from ..ui import notice

    notice(msg)


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
def _complete_model(incomplete: str) -> list[tuple[str, str]]:
    models = [("e5-small", "默认 default, multilingual-e5-small"), ("use-m3", "纯 numpy pure numpy"),
              ("lexical", "仅词项 jieba terms only")]
    return [m for m in models if m[0].startswith(incomplete)]


ModelOption = typer.Option(
    None,
    "--model",
    "-m",
    autocompletion=_complete_model,
    help=(
        "嵌入模型：e5-small（默认）、use-m3、lexical，或 sentence-transformers 模型目录/名称。"
        " Embedding model: e5-small (default), use-m3, lexical, or a sentence-transformers path/name."
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


def _set_quiet(value: bool) -> None:
    if value:
        from .. import ui

        ui.set_verbosity(ui.QUIET)


def _set_verbose(value: bool) -> None:
    if value:
        from .. import ui

        ui.set_verbosity(ui.VERBOSE)


QuietOption = typer.Option(
    False, "--quiet", "-q", callback=_set_quiet, expose_value=False,
    help="只输出结果和错误：无进度、无提示。Only results and errors: no progress, no notices.",
)
VerboseOption = typer.Option(
    False, "--verbose", "-v", callback=_set_verbose, expose_value=False,
    help="另外输出模型、缓存与用时。Also say which model and cache were used and what took how long.",
)

# `-o FILE` without `-f`: the format its extension names. Commands pass the formats they have.
FORMAT_BY_SUFFIX = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".sarif": "sarif",
    ".xml": "junit",
}


def resolve_format(fmt: str | None, output: Path | None, formats: tuple[str, ...],
                   default: str) -> str:
    """``-f`` if given (a note when ``-o``'s extension says otherwise), else the format named by
    ``-o``'s extension, else ``default``. An extension that names a format this command does not
    write is a usage error rather than a file of the wrong kind."""
    from ..errors import AlignError

    suffix = output.suffix.lower() if output is not None else ""
    implied = FORMAT_BY_SUFFIX.get(suffix)
    if fmt is not None:
        if fmt not in formats:
            raise AlignError(f"未知的输出格式 {fmt!r}，可选：{' | '.join(formats)} (unknown format)")
        if implied and implied != fmt and implied in formats:
            warn(f"按 -f {fmt} 写入 {output}，与扩展名 {suffix} 不符 (format differs from extension)")
        return fmt
    if implied in formats:
        return implied
    if implied is not None or suffix not in ("", ".txt", ".log"):
        raise AlignError(
            f"无法从扩展名 {suffix} 推断输出格式，请用 -f 指定：{' | '.join(formats)}"
            f" (cannot infer the format of {output}; pass -f)"
        )
    return default
