"""Reading an upload: the multipart body parsed as it streams in, into memory, within limits.

Uploads never touch the disk: Starlette's own form parser spools files over 1 MB to a temporary
file, so the body is parsed here into bounded in-memory buffers. The size limit is enforced from
``Content-Length`` before anything is read, and again while counting the stream, so an oversized
upload is refused without being held in memory. A multipart body must end with its closing
boundary: a body cut in transit is a 400, never a plan scored from its first part.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from starlette.requests import Request

from ..errors import AlignError, InputError
from .limits import DEFAULT_BODY_TIMEOUT, FORM_OVERHEAD, MAX_FIELD_BYTES, MAX_FILES, mb

FILE_FIELD = "file"  # the single-plan form's file input
FILES_FIELD = "files"  # the batch form's file input
SET_FIELD = "set"  # the policy-set checkboxes


class UploadTooLarge(Exception):
    """The request body is over the limit; answered with HTTP 413."""


class UploadStalled(Exception):
    """No byte of the body arrived for ``body_timeout`` seconds; answered with HTTP 408."""


class BadUpload(AlignError):
    """A request that is not a usable upload (no file, malformed form, unknown policy set)."""


class UnsupportedType(InputError):
    """A file whose extension no reader handles; answered with HTTP 415."""


@dataclass
class Upload:
    """The single-plan form as read: the plan's name and bytes, the other fields' values."""

    filename: str | None = None
    data: bytes = b""
    fields: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Form:
    """A multipart body as read: its file parts in order, its other fields' values by name."""

    files: list[tuple[str, bytes]] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)


async def drain(stream: AsyncIterator[bytes], budget: int) -> None:
    """Read and discard what the client is still sending (up to ``budget`` bytes), so a browser
    gets to show our 413 page instead of a connection reset."""
    seen = 0
    try:
        async for chunk in stream:
            seen += len(chunk)
            if seen > budget:
                break
    except Exception:  # client went away or stalled: nothing left to answer
        pass


async def timed(stream: AsyncIterator[bytes], timeout: float | None) -> AsyncIterator[bytes]:
    """``stream``, raising UploadStalled when no chunk arrives for ``timeout`` seconds."""
    import asyncio

    it = stream.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(it.__anext__(), timeout)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise UploadStalled from None
        yield chunk


def basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()


def _filename(raw: bytes) -> str:
    """A part's filename: browsers send UTF-8; old Windows tools send GBK."""
    try:
        return basename(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return basename(raw.decode("gb18030", "replace"))


# ---------------------------------------------------------------------------- the two forms


async def read_upload(
    request: Request, max_bytes: int, body_timeout: float | None = DEFAULT_BODY_TIMEOUT
) -> Upload:
    """Parse a multipart upload into memory, refusing anything over ``max_bytes`` of file data,
    a body that stalls for ``body_timeout`` seconds (UploadStalled) and a multipart body without
    its closing boundary (BadUpload: it was cut in transit).

    A non-multipart body is taken as the file itself (``?filename=plan.docx``), so
    ``curl --data-binary @plan.docx`` works against the JSON API.
    """
    body = _Body(request, max_bytes + FORM_OVERHEAD, 4 * max_bytes + 1024 * 1024, body_timeout)
    await body.check_length()
    ctype, boundary = body.content_type()
    if ctype != b"multipart/form-data":
        return await _raw_upload(request, body, max_bytes)
    if not boundary:
        raise BadUpload("上传的表单缺少分隔符，无法解析 (malformed multipart upload)")
    form = await body.parse(_PlanParts(boundary, max_bytes))
    name, data = form.files[0] if form.files else (None, b"")
    return Upload(name, data, form.fields)


async def read_files(
    request: Request, per_file: int, total: int, body_timeout: float | None
) -> Form:
    """Every file part of a multipart body (any field name), in memory, within the limits:
    ``per_file`` bytes a file (a .zip only counts towards the total), ``total`` in all."""
    body = _Body(request, total + FORM_OVERHEAD, 2 * total + 1024 * 1024, body_timeout)
    await body.check_length()
    ctype, boundary = body.content_type()
    if ctype != b"multipart/form-data" or not boundary:
        raise BadUpload("请用表单上传文件 (expected a multipart/form-data upload)")
    return await body.parse(_BatchParts(boundary, per_file))


async def _raw_upload(request: Request, body: _Body, max_bytes: int) -> Upload:
    data = bytearray()
    async for chunk in body.stream:
        if len(data) + len(chunk) > max_bytes:
            await body.refuse(UploadTooLarge())
        data.extend(chunk)
    name = basename(request.query_params.get("filename", "")) or None
    return Upload(name, bytes(data), {SET_FIELD: request.query_params.getlist(SET_FIELD)})


def check_upload(up: Upload, suffixes: Sequence[str]) -> str:
    """The file's name, after the checks that need no model: a file was sent, its type is one
    we read. The rest (empty, binary, encrypted, ...) is the reader's, with the CLI's words."""
    if not up.filename:
        raise BadUpload("请选择要上传的规划文件 (no file uploaded)")
    name = up.filename
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in suffixes:
        # Let the reader word it (with its hints for .doc, .wps, ...): the CLI's exact message.
        from ..read import read_bytes

        try:
            read_bytes(b"", name)
        except InputError as e:
            raise UnsupportedType(e.message, path=e.path) from None
        raise UnsupportedType(f"不支持的文件类型 {suffix} (unsupported file type)", path=name)
    return name


# ---------------------------------------------------------------------------- the one reader


class _Body:
    """A request's body as a stream, with the guards both forms share: the size limit (from
    ``Content-Length``, then counted), the stall timeout, and draining what a refused client
    is still sending."""

    def __init__(
        self, request: Request, limit: int, drain_budget: int, timeout: float | None
    ) -> None:
        self.request = request
        self.limit = limit
        self.drain_budget = drain_budget
        self.stream = timed(request.stream(), timeout)

    async def refuse(self, error: Exception) -> NoReturn:
        await drain(self.stream, self.drain_budget)
        raise error

    async def check_length(self) -> None:
        length = self.request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self.refuse(UploadTooLarge())

    def content_type(self) -> tuple[bytes, bytes | None]:
        from python_multipart.multipart import parse_options_header

        ctype, params = parse_options_header(self.request.headers.get("content-type", ""))
        return ctype, params.get(b"boundary")

    async def parse(self, parts: _Parts) -> Form:
        """Feed the stream to ``parts``' parser; the first problem it meets ends the read."""
        seen = 0
        try:
            async for chunk in self.stream:
                seen += len(chunk)
                if seen > self.limit:
                    parts.fail(UploadTooLarge())
                else:
                    parts.parser.write(chunk)
                if parts.problem is not None:
                    parts.form.files.clear()
                    await self.refuse(parts.problem)
            parts.parser.finalize()
        except (UploadTooLarge, UploadStalled, AlignError):
            raise
        except Exception as e:  # python-multipart parse errors: a broken or truncated form
            raise BadUpload("上传的表单无法解析 (malformed multipart upload)") from e
        if not parts.ended:  # python-multipart's finalize() does not check this itself
            parts.form.files.clear()
            raise BadUpload(parts.truncated)
        return parts.form


class _Parts:
    """python-multipart's callbacks for one body, collecting a :class:`Form`: files of at most
    ``max_file`` bytes, fields of at most ``MAX_FIELD_BYTES``. The two forms differ only in
    which parts are files, what a file over the limit is, and their words for a cut body; the
    subclasses say."""

    truncated = ""  # the message for a body without its closing boundary

    def __init__(self, boundary: bytes, max_file: int) -> None:
        from python_multipart.multipart import MultipartParser

        self.form = Form()
        self.max_file = max_file
        self.problem: Exception | None = None
        self.ended = False
        self._hname = self._hvalue = b""
        self._headers: dict[bytes, bytes] = {}
        self._field = ""
        self._file: str | None = None  # the current part's filename when it is a file
        self._buf = bytearray()
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        })

    def is_file(self, name: str, filename: str | None) -> bool:
        return filename is not None

    def too_large(self, filename: str) -> Exception | None:
        """The error for a file over ``max_file``, or None to let it grow (to the total)."""
        raise NotImplementedError

    def add_file(self, filename: str, data: bytes) -> None:
        self.form.files.append((filename, data))

    def fail(self, error: Exception) -> None:
        if self.problem is None:
            self.problem = error

    def _part_begin(self) -> None:
        self._headers, self._field, self._file, self._buf = {}, "", None, bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._hname.lower()] = self._hvalue
        self._hname = self._hvalue = b""

    def _headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, opts = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._field = opts.get(b"name", b"").decode("utf-8", "replace")
        filename = _filename(opts[b"filename"]) if b"filename" in opts else None
        if self.is_file(self._field, filename):
            self._file = filename

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.problem is not None:
            return
        size = len(self._buf) + end - start
        if self._file is not None and size > self.max_file:
            error = self.too_large(self._file)
            if error is not None:
                self.fail(error)
                return
        elif self._file is None and size > MAX_FIELD_BYTES:
            self.fail(BadUpload("表单字段过长 (form field too long)"))
            return
        self._buf.extend(data[start:end])

    def _part_end(self) -> None:
        if self._file is not None:
            self.add_file(self._file, bytes(self._buf))
        elif self._field:
            self.form.fields.setdefault(self._field, []).append(
                bytes(self._buf).decode("utf-8", "replace")
            )
        self._file, self._buf = None, bytearray()

    def _end(self) -> None:
        self.ended = True


class _PlanParts(_Parts):
    """The single-plan form: the first part named ``file`` with a filename is the plan (later
    ones are plain fields); a plan over the limit is a 413."""

    truncated = (
        "上传不完整：表单缺少结束分隔符，文件可能在传输中被截断，请重新上传 "
        "(truncated upload: the multipart body has no closing boundary)"
    )

    def is_file(self, name: str, filename: str | None) -> bool:
        return filename is not None and name == FILE_FIELD and not self.form.files

    def too_large(self, filename: str) -> Exception | None:
        return UploadTooLarge()


class _BatchParts(_Parts):
    """The batch form: every part with a filename is a plan, or a .zip of plans (bounded by the
    total only: its members are checked once unpacked); a plan over the limit is a 400 that
    names it."""

    truncated = "上传不完整：表单缺少结束分隔符，请重新上传 (truncated upload: no closing boundary)"

    def too_large(self, filename: str) -> Exception | None:
        if filename.lower().endswith(".zip"):
            return None
        return BadUpload(f"{filename}: 文件过大（每个文件上限 {mb(self.max_file)}）(file too large)")

    def add_file(self, filename: str, data: bytes) -> None:
        if not filename:  # an empty file input sends a part with filename=""
            return
        super().add_file(filename, data)
        if len(self.form.files) > MAX_FILES:
            self.fail(BadUpload(f"一次最多上传 {MAX_FILES} 个文件 (too many files)"))
