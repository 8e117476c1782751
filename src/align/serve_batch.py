"""Moved to ``align.web`` (``web.batch``, ``web.jobs``, ``web.unpack``, ...); kept for one release."""

from __future__ import annotations

from .web.batch import batch_routes
from .web.jobs import BatchJob, JobStore, PlanState
from .web.limits import DEFAULT_TOTAL_BYTES, JOB_TTL, MAX_FILES, MAX_JOBS
from .web.pages import batch_form, progress_page
from .web.unpack import expand_files
from .web.upload import FILES_FIELD, read_files
from .web.upload import Form as MultiUpload

__all__ = [
    "batch_routes",
    "batch_form",
    "expand_files",
    "progress_page",
    "read_files",
    "BatchJob",
    "JobStore",
    "MultiUpload",
    "PlanState",
    "DEFAULT_TOTAL_BYTES",
    "FILES_FIELD",
    "JOB_TTL",
    "MAX_FILES",
    "MAX_JOBS",
]
