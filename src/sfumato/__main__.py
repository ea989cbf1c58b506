"""`python -m sfumato` is the `sfumato` command."""

from sfumato.cli import app

app()
