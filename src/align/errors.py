"""Errors a user can hit. Each carries one readable line; the CLI prints it and exits 2."""

from __future__ import annotations


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
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class InputError(AlignError):
    """A plan file that cannot be read (missing, empty, binary, encrypted, too large, ...)."""


class PolicyError(AlignError):
    """A policy-set file that is malformed, incomplete or clashes with another."""


class ConfigError(AlignError):
    """An invalid ``[tool.align]`` / ``align.toml`` configuration."""


class ModelError(AlignError):
    """The embedding model cannot be found, built or loaded."""
