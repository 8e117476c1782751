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
from typing import Any

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
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
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


async def read_upload(
    request: Request, max_bytes: int, body_timeout: float | None = DEFAULT_BODY_TIMEOUT
) -> Upload:
    """Parse a multipart upload into memory, refusing anything over ``max_bytes`` of file data,
    a body that stalls for ``body_timeout`` seconds (UploadStalled) and a multipart body without
    its closing boundary (BadUpload: it was cut in transit).

    A non-multipart body is taken as the file itself (``?filename=plan.docx``), so
    ``curl --data-binary @plan.docx`` works against the JSON API.
    """
    from python_multipart.multipart import MultipartParser, parse_options_header

    body_limit = max_bytes + FORM_OVERHEAD
    drain_budget = 4 * max_bytes + 1024 * 1024
    stream = timed(request.stream(), body_timeout)
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > body_limit:
        await drain(stream, drain_budget)
        raise UploadTooLarge

    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    up = Upload()

    if ctype != b"multipart/form-data":
        up.filename = basename(request.query_params.get("filename", "")) or None
        up.fields[SET_FIELD] = request.query_params.getlist(SET_FIELD)
        async for chunk in stream:
            if len(up.data) + len(chunk) > max_bytes:
                await drain(stream, drain_budget)
                raise UploadTooLarge
            up.data.extend(chunk)
        return up

    boundary = params.get(b"boundary")
    if not boundary:
        raise BadUpload("上传的表单缺少分隔符，无法解析 (malformed multipart upload)")

    state: dict[str, Any] = {"name": b"", "value": b"", "headers": {}, "field": None, "file": False}
    too_large = False
    ended = False

    def on_end() -> None:
        nonlocal ended
        ended = True

    def on_part_begin() -> None:
        state.update(headers={}, field=None, file=False, buf=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["name"].lower()] = state["value"]
        state["name"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, opts = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        state["field"] = name
        if b"filename" in opts and name == FILE_FIELD and up.filename is None:
            raw = opts[b"filename"]
            try:
                fname = raw.decode("utf-8")
            except UnicodeDecodeError:
                fname = raw.decode("gb18030", "replace")
            up.filename = basename(fname)
            state["file"] = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        nonlocal too_large
        piece = data[start:end]
        if state["file"]:
            if len(up.data) + len(piece) > max_bytes:
                too_large = True
                return
            up.data.extend(piece)
        elif state["field"] is not None:
            buf: bytearray = state["buf"]
            if len(buf) + len(piece) > MAX_FIELD_BYTES:
                raise BadUpload("表单字段过长 (form field too long)")
            buf.extend(piece)

    def on_part_end() -> None:
        if not state["file"] and state["field"]:
            value = bytes(state["buf"]).decode("utf-8", "replace")
            up.fields.setdefault(state["field"], []).append(value)
        state["file"] = False

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    seen = 0
    try:
        async for chunk in stream:
            seen += len(chunk)
            if seen > body_limit:
                too_large = True
            if not too_large:
                parser.write(chunk)
            if too_large:
                up.data.clear()
                await drain(stream, drain_budget)
                raise UploadTooLarge
        parser.finalize()
    except (UploadTooLarge, UploadStalled, AlignError):
        raise
    except Exception as e:  # python-multipart parse errors: a broken or truncated form
        raise BadUpload("上传的表单无法解析 (malformed multipart upload)") from e
    if not ended:  # python-multipart's finalize() does not check this itself
        up.data.clear()
        raise BadUpload(
            "上传不完整：表单缺少结束分隔符，文件可能在传输中被截断，请重新上传 "
            "(truncated upload: the multipart body has no closing boundary)"
        )
    return up


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


@dataclass
class MultiUpload:
    files: list[tuple[str, bytes]] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)


async def read_files(
    request: Request, per_file: int, total: int, body_timeout: float | None
) -> MultiUpload:
    """Every file part of a multipart body (any field name), in memory, within the limits."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    body_limit = total + FORM_OVERHEAD
    drain_budget = 2 * total + 1024 * 1024
    stream = timed(request.stream(), body_timeout)
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > body_limit:
        await drain(stream, drain_budget)
        raise UploadTooLarge
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise BadUpload("请用表单上传文件 (expected a multipart/form-data upload)")

    up = MultiUpload()
    st: dict[str, Any] = {"hname": b"", "hvalue": b"", "headers": {}, "file": None, "buf": None}
    problem: list[Exception] = []
    ended = False

    def on_part_begin() -> None:
        st.update(headers={}, file=None, buf=bytearray(), field=None)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        st["hname"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        st["hvalue"] += data[start:end]

    def on_header_end() -> None:
        st["headers"][st["hname"].lower()] = st["hvalue"]
        st["hname"], st["hvalue"] = b"", b""

    def on_headers_finished() -> None:
        _, opts = parse_options_header(st["headers"].get(b"content-disposition", b""))
        st["field"] = opts.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in opts:
            raw = opts[b"filename"]
            try:
                st["file"] = basename(raw.decode("utf-8"))
            except UnicodeDecodeError:
                st["file"] = basename(raw.decode("gb18030", "replace"))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        buf: bytearray = st["buf"]
        n = end - start
        if st["file"] is not None:
            if len(buf) + n > per_file and not st["file"].lower().endswith(".zip"):
                problem.append(
                    BadUpload(f"{st['file']}: 文件过大（每个文件上限 {mb(per_file)}）(file too large)")
                )
                return
        elif len(buf) + n > MAX_FIELD_BYTES:
            problem.append(BadUpload("表单字段过长 (form field too long)"))
            return
        buf.extend(data[start:end])

    def on_part_end() -> None:
        if st["file"] is not None:
            if st["file"]:  # an empty file input sends a part with filename=""
                up.files.append((st["file"], bytes(st["buf"])))
                if len(up.files) > MAX_FILES:
                    problem.append(BadUpload(f"一次最多上传 {MAX_FILES} 个文件 (too many files)"))
        elif st["field"]:
            up.fields.setdefault(st["field"], []).append(bytes(st["buf"]).decode("utf-8", "replace"))
        st["buf"] = bytearray()

    def on_end() -> None:
        nonlocal ended
        ended = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    seen = 0
    try:
        async for chunk in stream:
            seen += len(chunk)
            if seen > body_limit:
                up.files.clear()
                await drain(stream, drain_budget)
                raise UploadTooLarge
            parser.write(chunk)
            if problem:
                up.files.clear()
                await drain(stream, drain_budget)
                raise problem[0]
        parser.finalize()
    except (UploadTooLarge, UploadStalled, AlignError):
        raise
    except Exception as e:
        raise BadUpload("上传的表单无法解析 (malformed multipart upload)") from e
    if not ended:
        raise BadUpload(
            "上传不完整：表单缺少结束分隔符，请重新上传 (truncated upload: no closing boundary)"
        )
    return up

