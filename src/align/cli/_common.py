"""Shared CLI plumbing: consoles, error handling, common options. No heavy imports here."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import typer

from .._text import megabytes
from ..errors import AlignError, one_line

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
_default_showwarning = warnings.showwarning

EXIT_OK = 0
EXIT_RULES = 1  # `align check`: a policy rule failed
EXIT_INPUT = 2  # input, usage or setup error
EXIT_INTERNAL = 3  # a bug: one line on stderr, the traceback in a log file
EXIT_INTERRUPTED = 130

STDOUT_NAME = "标准输出 stdout"


def err_console():  # rich is imported lazily; --help stays fast
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def out_console():
    from rich.console import Console

    return Console(highlight=False)


def print_error(err: AlignError | str) -> None:
    """One line on stderr, Chinese first: ``错误 error: <file>: <reason>``."""
    sys.stderr.write(f"错误 error: {one_line(str(err))}\n")


def warn(msg: str) -> None:
    """A notice on stderr; silenced by ``--quiet`` (errors never are)."""
    from ..ui import notice

    notice(one_line(msg))


# Symbols the reports use, and what to print where the console's code page lacks them
# (cp936 has no ✔, cp1252 has no Chinese at all): first candidate the encoding can hold.
_FALLBACKS: dict[str, tuple[str, ...]] = {
    "✔": ("√", "v"),
    "✘": ("×", "x"),
    "✖": ("×", "x"),
    "◐": ("◎", "○", "~"),
    "○": ("o",),
    "█": ("#",),
    "░": ("-",),
    "●": ("*",),
    "—": ("-",),
    "–": ("-",),
    "…": ("...",),
    "·": (".",),
    "“": ('"',),
    "”": ('"',),
    "‘": ("'",),
    "’": ("'",),
    "→": ("->",),
    "≥": (">=",),
    "≤": ("<=",),
}
DEGRADE = "align-degrade"


def _degrade(e: UnicodeError) -> tuple[str, int]:
    if not isinstance(e, UnicodeEncodeError):
        raise e
    out = []
    for ch in e.object[e.start : e.end]:
        for cand in _FALLBACKS.get(ch, ()):
            try:
                cand.encode(e.encoding)
            except UnicodeError:
                continue
            out.append(cand)
            break
        else:
            out.append("?")
    return "".join(out), e.end


def _is_utf(encoding: str | None) -> bool:
    import codecs

    try:
        return codecs.lookup(encoding or "ascii").name.startswith("utf")
    except LookupError:
        return False


def prepare_streams() -> None:
    """Terminal text never crashes on a console code page that lacks a character: stdout
    degrades what it cannot encode (see ``_FALLBACKS``), stderr escapes it. Machine formats
    bypass this and are written as UTF-8 bytes (:func:`write_output`)."""
    import codecs
    import io

    try:
        codecs.lookup_error(DEGRADE)
    except LookupError:
        codecs.register_error(DEGRADE, _degrade)
    for stream, errors in ((sys.stdout, DEGRADE), (sys.stderr, "backslashreplace")):
        if (
            isinstance(stream, io.TextIOWrapper)
            and not _is_utf(stream.encoding)
            and stream.errors == "strict"
        ):
            try:
                stream.reconfigure(errors=errors)
            except (ValueError, OSError):  # closed or detached: nothing will be printed
                pass


def _log_dir() -> Path:
    import os

    env = os.environ.get("ALIGN_CACHE_DIR")
    if env:
        return Path(env).expanduser() / "logs"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("align")) / "logs"


def report_crash(exc: BaseException) -> None:
    """A bug, not the user's doing: one line on stderr naming the log that holds the whole
    traceback (the terminal never shows one, and the exit code is 3, never 1)."""
    import datetime
    import os
    import traceback

    from .. import __version__

    first = one_line(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    where = ""
    try:
        folder = _log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        log = folder / f"crash-{stamp}-{os.getpid()}.log"
        body = (
            f"align {__version__}, python {sys.version.split()[0]}, {sys.platform}\n"
            f"argv: {sys.argv!r}\n\n" + "".join(traceback.format_exception(exc))
        )
        log.write_text(body, encoding="utf-8")
        where = f"；完整信息已写入 {log} (traceback written to that file; please report it)"
    except Exception as log_err:  # never let the crash report itself crash
        where = f"；无法写入日志 (could not write the traceback: {log_err})"
    sys.stderr.write(f"内部错误 internal error: {what}{where}\n")


def _show_input_warning(message, category, filename, lineno, file=None, line=None) -> None:
    from ..errors import InputWarning

    if isinstance(message, InputWarning):
        warn(str(message))
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_CLI_EXCEPTIONS: tuple[type[BaseException], ...] = tuple(
    t
    for t in (
        typer.Exit,
        typer.Abort,
        getattr(getattr(typer, "exceptions", None), "TyperException", None),
        getattr(typer, "BadParameter", None),
    )
    if isinstance(t, type)
)


def handle_errors(fn: F) -> F:
    """The exit-code contract: AlignError -> one line on stderr and exit 2; Ctrl+C -> 130; any
    other exception (a bug) -> one line naming the log with the traceback, exit 3. Input
    warnings print as ``提示 warning:`` lines, every time (not once per call site)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..errors import InputWarning

        prepare_streams()
        with warnings.catch_warnings():
            warnings.simplefilter("always", InputWarning)
            warnings.showwarning = _show_input_warning
            try:
                return fn(*args, **kwargs)
            except AlignError as e:
                print_error(e)
                raise typer.Exit(e.exit_code) from None
            except KeyboardInterrupt:
                sys.stderr.write("已中断 interrupted\n")
                raise typer.Exit(EXIT_INTERRUPTED) from None
            except _CLI_EXCEPTIONS:  # usage errors and exits: Typer reports them itself
                raise
            except Exception as e:
                report_crash(e)
                raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


def write_output(text: str, output: Path | None, *, terminal: bool = False) -> None:
    """Write output to a file or to stdout (never mixed with progress, which goes to stderr).

    Machine formats (JSON, Markdown, SARIF…; ``terminal=False``) are UTF-8 on stdout whatever
    the console's code page; terminal text (tables) goes through the console's encoding, with
    symbols it lacks degraded. A file is written whole to a temporary file beside it and then
    renamed, so a failed write leaves the previous file untouched.
    """
    from ..errors import OutputError
    from ..fileio import os_reason, write_atomic

    if text and not text.endswith("\n"):
        text += "\n"
    if terminal:  # plan text quoted in findings or tables: no escape sequence reaches a tty
        from ..report._common import visible

        text = visible(text)
    if output is None:
        try:
            buffer = getattr(sys.stdout, "buffer", None)
            if terminal or buffer is None or _is_utf(getattr(sys.stdout, "encoding", None)):
                sys.stdout.write(text)
            else:
                sys.stdout.flush()
                buffer.write(text.encode("utf-8"))
                buffer.flush()
            sys.stdout.flush()
        except BrokenPipeError:  # `align … | head`: the reader has what it wanted
            _silence_stdout()
        except OSError as e:
            _silence_stdout()
            raise OutputError(f"无法写出结果：{os_reason(e, '-', writing=True)}", STDOUT_NAME) from None
        return
    try:
        write_atomic(output, text.encode("utf-8"))
    except OSError as e:
        kept = "；原文件未改动 (the existing file is unchanged)" if output.is_file() else ""
        raise OutputError(
            f"无法写入输出文件：{os_reason(e, output, writing=True)}{kept}", str(output)
        ) from None


def _silence_stdout() -> None:
    """After stdout failed, point it at /dev/null so the interpreter's final flush is quiet."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


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
CalibrationOption = typer.Option(
    None,
    "--calibration",
    help=(
        "使用 align calibrate 生成的校准文件（代替内置校准）。"
        " A calibration file written by `align calibrate`, instead of the shipped one."
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


def plan_files(metavar: str) -> Any:
    """The positional plan-files argument of the commands that read plans without scoring."""
    return typer.Argument(
        ...,
        metavar=metavar,
        help="规划文件或目录（可多个）。Plan files or directories.",
        show_default=False,
    )


TABLE_OR_JSON = ("table", "json")


def check_format(fmt: str | None, formats: tuple[str, ...]) -> None:
    """``--format`` must name one of ``formats`` (None: not given)."""
    if fmt is not None and fmt not in formats:
        raise typer.BadParameter(
            f"必须是 {' / '.join(formats)} 之一 (one of {', '.join(formats)})",
            param_hint="--format",
        )


def read_each(
    files: list[Path], encoding: str | None, max_size: float, then: Callable[[Any], T]
) -> tuple[list[T], bool]:
    """Read every plan the arguments name and pass each Document to ``then``; a file that
    cannot be read (or ``then`` rejects) is one error line on stderr. Returns the results and
    whether anything failed."""
    from ..read import collect_inputs, read_document

    paths, errors = collect_inputs(files)
    for err in errors:
        print_error(err)
    failed = bool(errors)
    results: list[T] = []
    for path in paths:
        try:
            results.append(then(read_document(path, encoding=encoding, max_bytes=megabytes(max_size))))
        except AlignError as err:
            print_error(err)
            failed = True
    return results, failed


# Options of every command that scores plans with the project config ----------------------


@dataclass(frozen=True)
class ScoringArgs:
    """The options `align check`, `align baseline` and `align diff` share: which policies and
    model, the cache and the input limits (``--quiet``/``--verbose`` act in their callbacks)."""

    policy: list[Path] | None = None
    sets: list[str] | None = None
    model: str | None = None
    backend: str | None = None
    no_cache: bool = False
    encoding: str | None = None
    max_size: float = 50.0
    calibration: Path | None = None


# (name, type, declaration) in --help order; quiet and verbose only reach their callbacks
_SCORING_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("policy", list[Path], PolicyOption),
    ("sets", list[str], SetOption),
    ("model", str, ModelOption),
    ("backend", str, BackendOption),
    ("no_cache", bool, NoCacheOption),
    ("encoding", str, EncodingOption),
    ("max_size", float, MaxSizeOption),
    ("calibration", Path, CalibrationOption),
    ("quiet", bool, QuietOption),
    ("verbose", bool, VerboseOption),
)


def scoring_options(fn: F) -> F:
    """Give a command the ``ScoringArgs`` options, after its own, as one argument ``opts``.

    Typer reads a command's options from its signature, so the shared ones are added to the
    signature here instead of being written out again in every command."""
    import inspect
    import typing

    kept = {f.name for f in fields(ScoringArgs)}
    sig = inspect.signature(fn)
    own = [p for p in sig.parameters.values() if p.name != "opts"]
    extra = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=tp)
             for n, tp, opt in _SCORING_OPTIONS]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {n: kwargs.pop(n) for n, _, _ in _SCORING_OPTIONS if n in kwargs}
        opts = ScoringArgs(**{n: v for n, v in values.items() if n in kept})
        return fn(*args, opts=opts, **kwargs)

    hints = {k: v for k, v in typing.get_type_hints(fn).items() if k != "opts"}
    wrapper.__signature__ = sig.replace(parameters=own + extra)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**hints, **{n: tp for n, tp, _ in _SCORING_OPTIONS}}
    return wrapper  # type: ignore[return-value]
