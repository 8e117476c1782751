"""Moved to ``align.web`` (``web.app``, ``web.upload``, ``web.pages``, ...); kept for one release."""

from __future__ import annotations

from .web.app import cpu_cores, create_app
from .web.limits import DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_KEEP_ALIVE
from .web.pages import upload_page
from .web.scorer import ScorerHolder, check_set_ids, select_sets
from .web.security import SecurityHeaders
from .web.server import header_timeout_protocol, server_config
from .web.upload import (
    BadUpload,
    UnsupportedType,
    Upload,
    UploadStalled,
    UploadTooLarge,
    read_upload,
)

__all__ = [
    "create_app",
    "read_upload",
    "select_sets",
    "server_config",
    "ScorerHolder",
    "upload_page",
    "BadUpload",
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_KEEP_ALIVE",
    "SecurityHeaders",
    "UnsupportedType",
    "Upload",
    "UploadStalled",
    "UploadTooLarge",
    "check_set_ids",
    "cpu_cores",
    "header_timeout_protocol",
]
