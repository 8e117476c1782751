"""A batch upload's .zip files unpacked to the plans in them, within the per-file and total limits."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

from ..errors import InputError
from .limits import MAX_FILES, mb
from .upload import BadUpload, UploadTooLarge


def _zip_name(info: zipfile.ZipInfo) -> str:
    """Member names from Windows zips are GBK without the UTF-8 flag; zipfile reads them as
    cp437. Recover the Chinese name when that is what they are."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("gb18030")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def expand_files(
    files: Sequence[tuple[str, bytes]], per_file: int, total: int, suffixes: Sequence[str]
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(plans, errors): .zip uploads unpacked to their plan files (folders kept in the name,
    hidden and macOS metadata entries skipped, nested zips not opened), every file within the
    per-file limit and all of them within the total. A bad zip is one error; a member over the
    limit is one error; the other plans still go in."""
    plans: list[tuple[str, bytes]] = []
    errors: list[str] = []
    used = 0

    def add(name: str, data: bytes) -> None:
        nonlocal used
        if used + len(data) > total:  # unpacked zips add up past what the body was
            raise UploadTooLarge
        used += len(data)
        plans.append((name, data))

    for name, data in files:
        if not name.lower().endswith(".zip"):
            add(name, data)
            continue
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            members = zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            errors.append(str(InputError("不是有效的 zip 压缩包 (not a valid zip file)", path=name)))
            continue
        found = 0
        for info in members:
            inner = _zip_name(info)
            parts = inner.replace("\\", "/").split("/")
            base = parts[-1]
            if info.is_dir() or not base or any(p.startswith(".") or p == "__MACOSX" for p in parts):
                continue
            if base.startswith("~$") or "." + base.rsplit(".", 1)[-1].lower() not in suffixes:
                continue
            shown = f"{name}/{inner}"
            if info.flag_bits & 0x1:
                errors.append(str(InputError("压缩包内文件已加密 (encrypted zip member)", path=shown)))
                continue
            if info.file_size > per_file:
                errors.append(str(InputError(f"文件过大（每个文件上限 {mb(per_file)}）(file too large)", path=shown)))
                continue
            try:
                with zf.open(info) as f:
                    body = f.read(per_file + 1)  # never more than the limit, whatever it claims
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as e:
                errors.append(str(InputError(f"无法解压：{e} (cannot unpack)", path=shown)))
                continue
            if len(body) > per_file:
                errors.append(str(InputError(f"文件过大（每个文件上限 {mb(per_file)}）(file too large)", path=shown)))
                continue
            add(inner, body)
            found += 1
            if len(plans) > MAX_FILES:
                raise BadUpload(f"一次最多上传 {MAX_FILES} 个文件 (too many files)")
        if not found and not any(e.startswith(name) for e in errors):
            errors.append(str(InputError("压缩包中没有可读的规划文件 (no plan files in the zip)", path=name)))
    return plans, errors
