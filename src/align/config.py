"""Moved to ``align.gate.config`` (reading the file) and ``align.findings`` (``AlignConfig``);
kept for one release."""

from __future__ import annotations

from .findings import DEFAULT_ANNOTATION_CAP, AlignConfig  # noqa: F401
from .gate.config import (  # noqa: F401
    _KEYS,
    CONFIG_FILE,
    MAX_CONFIG_BYTES,
    PYPROJECT,
    find_config,
    load_config,
    parse_config,
    with_overrides,
)
