"""The `sfumato` command: serve, worker, db, keys, models, elements, generate, webhooks."""

from __future__ import annotations

import typer

from sfumato.cli.db import db_app
from sfumato.cli.elements import elements_app
from sfumato.cli.generate import generate
from sfumato.cli.keys import keys_app
from sfumato.cli.models import models_app
from sfumato.cli.serve import serve
from sfumato.cli.webhooks import webhooks_app
from sfumato.cli.worker import worker

app = typer.Typer(help="Sfumato: self-hosted image generation with Leonardo.AI's REST API.", no_args_is_help=True)
app.command()(serve)
app.command()(worker)
app.command()(generate)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(models_app, name="models")
app.add_typer(elements_app, name="elements")
app.add_typer(webhooks_app, name="webhooks")
