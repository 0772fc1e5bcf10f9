"""`desk texts`: the text catalogue (data/texts/).

desk texts check     every language has every key with the same placeholders, no text is
                     empty, and every key the code asks for is there (exits 1 if not)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.settings import ROOT
from core.texts import TEXTS_DIR, check_code, used_keys

# Where the code that asks for texts lives (widget.js is under bot/).
CODE = tuple(ROOT / name for name in ("bot", "actions", "knowledge", "ticketing"))

app = typer.Typer(help="The text catalogue (data/texts/).", no_args_is_help=True)


@app.command("check")
def check(
    catalogue: Annotated[
        Path, typer.Option("--catalogue", help="The folder of the catalogue files.")
    ] = TEXTS_DIR,
    code: Annotated[
        list[Path] | None,
        typer.Option("--code", help="A file or folder of code to scan (repeatable)."),
    ] = None,
) -> None:
    """Check the catalogue, and the keys the code asks for; exit 1 listing the problems."""
    roots = code or list(CODE)
    problems = check_code(catalogue, roots)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        typer.echo(f"{len(problems)} problem(s) in the text catalogue", err=True)
        raise typer.Exit(1)
    typer.echo(f"texts: {catalogue} sound; {len(used_keys(roots))} uses of keys in the code found")
