"""`sfumato keys create|list|revoke`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from sfumato.cli.common import DataDir, JsonOutput, console, load_settings, print_table, refuse
from sfumato.service.keys import KeyService
from sfumato.store.db import open_store
from sfumato.webhooks.url_safety import NonPublicWebhookUrl, UnsafeWebhookUrl

keys_app = typer.Typer(help="Users and API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="User name; an existing user gets another key.")],
    data_dir: DataDir = None,
    webhook_url: Annotated[str | None, typer.Option(help="Completion webhook URL for this key.")] = None,
    webhook_api_key: Annotated[str | None, typer.Option(help="Bearer token sent to the webhook.")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Generations run at once (default 10).")] = None,
    allow_private_webhook: Annotated[
        bool,
        typer.Option(
            "--allow-private-webhook",
            help="Allow a --webhook-url on a loopback, private or link-local address (a local receiver).",
        ),
    ] = False,
) -> None:
    """Create an API key and print it once, as JSON."""

    settings = load_settings(data_dir)
    _, session_factory = open_store(settings.sqlalchemy_url)
    try:
        issued = KeyService(session_factory).create(
            name,
            concurrency or settings.jobs.default_key_concurrency,
            webhook_url,
            webhook_api_key,
            allow_private_webhook,
        )
    except NonPublicWebhookUrl as error:
        refuse(
            f"refusing --webhook-url {webhook_url!r}",
            f"{error}; for a receiver on this machine or a private network pass --allow-private-webhook",
        )
    except UnsafeWebhookUrl as error:
        refuse(f"refusing --webhook-url {webhook_url!r}", f"{error}; give a full URL such as https://host/hook")
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
def keys_list(data_dir: DataDir = None, as_json: JsonOutput = False) -> None:
    """List keys (their 8-character prefixes, never the secrets)."""

    _, session_factory = open_store(load_settings(data_dir).sqlalchemy_url)
    keys = KeyService(session_factory).list()
    if as_json:
        print(json.dumps([
            {"apiKeyId": key.id, "prefix": key.prefix, "username": key.username, "userId": key.user_id,
             "concurrency": key.concurrency, "webhookUrl": key.webhook_url, "createdAt": key.created_at,
             "revoked": key.revoked}
            for key in keys
        ]))  # fmt: skip
        return
    table = Table("id", "prefix", "user", "userId", "concurrency", "webhook", "created", "revoked")
    for key in keys:
        table.add_row(
            key.id, key.prefix, key.username, key.user_id, str(key.concurrency),
            key.webhook_url or "", key.created_at, "yes" if key.revoked else "",
        )  # fmt: skip
    print_table(table)


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
