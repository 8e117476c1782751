"""Terminal feedback for one run: a single progress display, notices, and how much to say.

Every stage that shows progress (scoring plans, embedding texts, building the e5 model) asks
:func:`stage` for a line. Inside :func:`live` (the CLI opens it once per command) all stages are
tasks of **one** rich ``Progress`` on stderr, so they stack instead of redrawing over each other
on one line; outside it (library use) a stage gets a display of its own for as long as it runs.
Nothing is shown when stderr is not a terminal or the run is ``--quiet``.

Notices (``提示 warning: …``) go through :func:`notice` so that ``--quiet`` silences them;
:func:`detail` lines appear only with ``--verbose``. Errors are never silenced (they are printed
by the CLI, not here). rich is imported only when a display is actually shown.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

QUIET, NORMAL, VERBOSE = 0, 1, 2
_level = NORMAL
_display: Any = None  # the live rich Progress, if one is shown


def set_verbosity(level: int) -> None:
    global _level
    _level = level


def verbosity() -> int:
    return _level


def notice(message: str, *, prefix: str = "提示 warning: ") -> None:
    """One line on stderr unless ``--quiet`` (written above the progress display, if any)."""
    if _level > QUIET:
        _write(f"{prefix}{message}")


def detail(message: str) -> None:
    """One line on stderr with ``--verbose`` only: what a run cost, which model, which cache."""
    if _level >= VERBOSE:
        _write(f"详情 info: {message}")


def _write(line: str) -> None:
    if _display is not None:
        _display.console.print(line, markup=False, highlight=False, soft_wrap=True)
    else:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _new_progress(console: Any) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@contextmanager
def live(console: Any = None) -> Iterator[Any]:
    """The run's one progress display (nested calls reuse it). ``console`` is for tests."""
    global _display
    if _display is not None or _level == QUIET:
        yield _display
        return
    console = console if console is not None else _stderr_console()
    if not console.is_terminal:
        yield None
        return
    progress = _new_progress(console)
    _display = progress
    try:
        with progress:
            yield progress
    finally:
        _display = None


class Stage:
    """One line of the display: ``advance(n)``, ``update(completed=, total=, description=)``,
    ``close()``. A stage that is not shown (no terminal, --quiet, too small) does nothing."""

    def __init__(self, progress: Any, task: Any, own: bool):
        self._progress = progress
        self._task = task
        self._own = own  # started for this stage alone (no live display): stop it on close

    def __bool__(self) -> bool:
        return self._progress is not None

    def advance(self, n: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, **fields: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task, **fields)

    def close(self) -> None:
        global _display
        if self._progress is None:
            return
        progress, self._progress = self._progress, None
        progress.remove_task(self._task)
        if self._own:
            progress.stop()
            if _display is progress:
                _display = None

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stage(description: str, total: float | None = None, *, show: bool = True) -> Stage:
    """A line in the run's display (see the module docstring); ``show=False`` gives a no-op."""
    global _display
    if not show or _level == QUIET:
        return Stage(None, None, own=False)
    if _display is not None:
        return Stage(_display, _display.add_task(description, total=total), own=False)
    console = _stderr_console()
    if not console.is_terminal:
        return Stage(None, None, own=False)
    progress = _new_progress(console)
    progress.start()
    _display = progress  # nested stages of this one join it
    return Stage(progress, progress.add_task(description, total=total), own=True)
