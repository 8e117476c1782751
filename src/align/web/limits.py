"""The numbers that bound what one client may make the server do, and how a size is shown."""

from __future__ import annotations

FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the policy-set checkboxes
MAX_FIELD_BYTES = 16 * 1024  # one non-file form field

DEFAULT_BODY_TIMEOUT = 30.0  # seconds without a byte of the body: the upload has stalled
DEFAULT_HEADER_TIMEOUT = 30.0  # seconds to finish the request line and headers
DEFAULT_KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open
BUSY_RETRY_AFTER = 10  # seconds, in the 503's Retry-After

DEFAULT_TOTAL_BYTES = 200 * 1024 * 1024  # one batch upload, and its zips once unpacked
MAX_FILES = 500  # plans in one batch upload
JOB_TTL = 3600.0  # seconds a finished batch's results stay available
MAX_JOBS = 8  # batches kept in memory


def mb(n: int) -> str:
    """A limit as people read it: "10 MB", or "512 KB" below a megabyte."""
    mb = n / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 1 else f"{n / 1024:.0f} KB"
