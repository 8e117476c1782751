"""Errors a user can hit. Each carries one readable line; the CLI prints it and exits 2."""

from __future__ import annotations

import unicodedata


def shown_path(path: str) -> str:
    """A file name as it appears in a one-line message: as is, unless it holds a newline or
    another control character, then quoted and escaped like ``repr`` (a newline in a name must
    not start a second line, which GitHub Actions would read as a workflow command)."""
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in path):
        return repr(path)
    return path


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (tabs kept)."""
    if not any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") and ch != "\t" for ch in text):
        return text
    return "".join(
        ch
        if ch == "\t" or unicodedata.category(ch) not in ("Cc", "Zl", "Zp")
        else repr(ch)[1:-1]
        for ch in text
    )


class AlignError(Exception):
    """A problem with the user's input or setup (not a bug). ``str()`` is the one-line message."""

    exit_code = 2

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path:
            shown = shown_path(str(self.path))
            where = f"{shown}:{self.line}: " if self.line else f"{shown}: "
        return f"{where}{self.message}"


class InputError(AlignError):
    """A plan file that cannot be read (missing, empty, binary, encrypted, too large, ...)."""


class OutputError(AlignError):
    """A report or baseline that cannot be written (directory, full or read-only disk, ...)."""


class PolicyError(AlignError):
    """A policy-set file that is malformed, incomplete or clashes with another."""


class ConfigError(AlignError):
    """An invalid ``[tool.align]`` / ``align.toml`` configuration."""


class ModelError(AlignError):
    """The embedding model cannot be found, built or loaded."""


class InputWarning(UserWarning):
    """Something the user should know about an input that was still read (bad bytes replaced,
    unsupported files skipped in a folder). The message is one line, ``path: reason``; the CLI
    prints it as ``提示 warning: …`` on stderr."""

    def __init__(self, message: str, path: str | None = None):
        self.message = message
        self.path = path
        super().__init__(f"{shown_path(path)}: {message}" if path else message)
