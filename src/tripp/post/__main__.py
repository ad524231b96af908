"""``python -m tripp.post --office ... --upstream ... --token ...``: the node alone."""

import typer

from tripp.post.cli import post

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command()(post)
app()
