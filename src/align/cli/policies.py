"""`align policies`: list the policy sets and tasks a plan would be checked against.

Useful on its own to validate a user's policy file before scoring with it: loading runs the full
validation, so a broken file fails here with the same one-line error.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ._app import app
from ._common import (
    OutputOption,
    PolicyOption,
    SetOption,
    handle_errors,
    resolve_format,
    write_output,
)

_FORMATS = ("table", "json")


@app.command("policies")
@handle_errors
def policies_cmd(
    policy: list[Path] | None = PolicyOption,
    set_ids: list[str] | None = SetOption,
    fmt: str = typer.Option(
        None, "--format", "-f",
        help="输出格式：table（默认）或 json；未给出时按 -o 的扩展名推断。"
        " Output format: table (default) or json, or what -o's extension names.",
    ),
    output: Path | None = OutputOption,
) -> None:
    """列出政策集及其任务。List the policy sets and their tasks (built-in plus --policy files)."""
    from ..errors import InputError
    from ..policies import load_policies, policies_to_dict, select_sets

    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in _FORMATS:
            raise InputError(f'未知的输出格式 "{fmt}"，可用：table、json (unknown --format)')
    fmt = resolve_format(fmt, output, tuple(_FORMATS), "table")
    sets = select_sets(load_policies(policy or ()), set_ids)

    if fmt == "json":
        write_output(json.dumps(policies_to_dict(sets), ensure_ascii=False, indent=2), output)
        return

    from rich.console import Console

    from ..report.policies import render_policies

    if output is None:
        console = Console(highlight=False)
    else:  # render into a buffer at a fixed width, then write the plain text to the file
        import io

        console = Console(file=io.StringIO(), record=True, highlight=False, width=100)
    render_policies(sets, console)
    if output is not None:
        write_output(console.export_text(), output)
