"""The Typer application object, shared by the command modules (one module per command group)."""

from __future__ import annotations

import typer

from ._common import QuietOption, VerboseOption

app = typer.Typer(
    name="align",
    help=(
        "政策对标检查：判断一份学校规划覆盖了哪些政策任务，并给出证据。\n\n"
        "Check which policy tasks a plan covers, with evidence."
    ),
    no_args_is_help=True,
    add_completion=True,  # align --install-completion / --show-completion (bash, zsh, fish, pwsh)
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"align {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="显示版本。Show the version."
    ),
    quiet: bool = QuietOption,
    verbose: bool = VerboseOption,
) -> None:
    """政策对标检查 align: which policy tasks does a plan cover, and where is the evidence?"""
    # runs before any subcommand parses its options (so `align score --help` too): from here on
    # rich wraps Chinese at its punctuation instead of cutting it with "…"
    cjk_wrapping()


def cjk_wrapping() -> None:
    from ..report._wrap import install

    install()
