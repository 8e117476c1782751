"""Fixtures shared by several test modules."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A private ALIGN_CACHE_DIR (vectors, term weights, task index, models) for one test;
    modules that must never touch the user's cache use it for every test (``usefixtures``)."""
    root = tmp_path / "cache"
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(root))
    return root
