"""`sfumato keys create|list|revoke`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sfumato.cli.common import DataDir, console, load_settings
from sfumato.service.keys import KeyService
from sfumato.store.db import open_store

keys_app = typer.Typer(help="Users and API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="User name; an existing user gets another key.")],
    data_dir: DataDir = None,
    webhook_url: Annotated[str | None, typer.Option(help="Completion webhook URL for this key.")] = None,
    webhook_api_key: Annotated[str | None, typer.Option(help="Bearer token sent to the webhook.")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Generations run at once (default 10).")] = None,
) -> None:
    """Create an API key and print it once, as JSON."""

    settings = load_settings(data_dir)
    _, session_factory = open_store(settings.sqlalchemy_url)
    issued = KeyService(session_factory).create(
        name, concurrency or settings.default_key_concurrency, webhook_url, webhook_api_key
    )
    print(
        json.dumps(
            {
                "apiKey": issued.api_key,
                "apiKeyId": issued.api_key_id,
                "userId": issued.user_id,
                "username": issued.username,
                "concurrency": issued.concurrency,
                "webhookUrl": issued.webhook_url,
                "webhookSecret": issued.webhook_secret,
            }
        )
    )


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List keys (their 8-character prefixes, never the secrets)."""

    _, session_factory = open_store(load_settings(data_dir).sqlalchemy_url)
    table = Table("id", "prefix", "user", "userId", "concurrency", "webhook", "created", "revoked")
    for key in KeyService(session_factory).list():
        table.add_row(
            key.id, key.prefix, key.username, key.user_id, str(key.concurrency),
            key.webhook_url or "", key.created_at, "yes" if key.revoked else "",
        )  # fmt: skip
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="Key id, its 8-character prefix, or the key itself.")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: it gets 401 from then on."""

    _, session_factory = open_store(load_settings(data_dir).sqlalchemy_url)
    count = KeyService(session_factory).revoke(key)
    if count == 0:
        console.print(f"no active key matches {key!r}")
        raise typer.Exit(1)
    console.print(f"revoked {count} key(s)")
