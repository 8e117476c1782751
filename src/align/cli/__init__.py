"""Command-line interface. Only parses options and wires the pipeline steps together.

Each command group lives in its own module and registers itself on the shared ``app``:

* ``score``      ``align score`` and ``align explain`` (the renderers are ``report/``'s)
* ``check``      ``align check``, ``align baseline``, ``align diff`` (the rules are ``gate/``'s)
* ``batch``      ``align batch`` (the job is ``batch/``'s)
* ``chunks``, ``targets``, ``policies``   the inspection commands
* ``calibrate``  ``align calibrate`` (the fit is ``calibrate.py``'s)
* ``cache``, ``serve``   the cache and the local web page (``web/``)
* ``_app``, ``_common``, ``_inputs``   the typer app, shared options and error handling, reading
  and scoring the plans a command names

Every command builds its scorer with ``pipeline.make_scorer``. Heavy libraries (torch, sentence-transformers, docx, pdf) are imported inside command bodies,
so ``align --help`` stays instant.
"""

from __future__ import annotations

import atexit
import os
import sys

from . import batch, cache, calibrate, check, chunks, policies, score, serve, targets  # noqa: F401  (registers commands)
from ._app import app


def main() -> None:
    """The ``align`` console script: run the command, then leave quickly."""
    exit_process(run())


def run(args: list[str] | None = None) -> object:
    """Run one command (``sys.argv`` by default) and return its exit code instead of exiting:
    for tools that time or profile the CLI in-process (benchmarks/)."""
    argv = sys.argv[1:] if args is None else args
    if not argv or "--help" in argv or "-h" in argv:  # root help is shown before any callback
        from ._app import cjk_wrapping

        cjk_wrapping()
    try:
        app(args=args)
    except SystemExit as e:
        return e.code
    return 0


def exit_process(code: object) -> None:
    """Exit with ``code``, skipping the interpreter's teardown once torch is loaded.

    After a model ran, tearing down the interpreter (thousands of modules of torch,
    transformers and scipy, then their C++ destructors) takes about a second: as long as
    embedding the few edited paragraphs of a re-scored plan (benchmarks/bench_score.py). By then
    every result is written, so the atexit handlers run, the streams are flushed, and the process
    ends with ``os._exit``. Without torch the normal exit is already fast and is kept.
    ``ALIGN_FULL_EXIT=1`` keeps the normal exit (for debugging tools that hook interpreter exit).
    """
    if isinstance(code, str):  # SystemExit("message"): Python prints it and exits 1
        print(code, file=sys.stderr)
        code = 1
    status = 0 if code is None else int(code) if isinstance(code, int) else 1
    if "torch" not in sys.modules or os.environ.get("ALIGN_FULL_EXIT"):
        sys.exit(status)
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # closed or broken pipe: nothing left to save
                pass
        os._exit(status)
