"""`sfumato webhooks list|retry`: see and re-send completion webhooks. Works while the
server runs on the same data dir (the running deliverer picks a re-queued row up)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from sfumato.cli.common import DataDir, JsonOutput, console, load_settings, print_table
from sfumato.store.db import open_store
from sfumato.store.repositories import utcnow
from sfumato.webhooks.outbox import DeliveryState, attempts_of, list_deliveries, requeue

webhooks_app = typer.Typer(help="Completion webhook deliveries.", no_args_is_help=True)


@webhooks_app.command("list")
def webhooks_list(
    data_dir: DataDir = None,
    state: Annotated[
        str | None, typer.Option("--state", help="Only this state: PENDING, DELIVERED, FAILED or GAVE_UP.")
    ] = None,
    as_json: JsonOutput = False,
) -> None:
    """List deliveries with their attempts (oldest first)."""

    if state is not None and state.upper() not in DeliveryState.__members__:
        console.print(f"unknown state {state!r}; one of {', '.join(DeliveryState)}")
        raise typer.Exit(2)
    _, session_factory = open_store(load_settings(data_dir).sqlalchemy_url)
    table = Table("id", "generation", "state", "attempts", "last status", "next attempt", "url", "history")
    listing = []
    with session_factory() as session:
        for row in list_deliveries(session, state):
            attempts = attempts_of(session, row.id)
            history = " ".join(str(a.status_code) if a.status_code is not None else "error" for a in attempts)
            pending = row.state == DeliveryState.PENDING
            next_attempt = row.next_attempt_at.isoformat(timespec="seconds") if pending else ""
            table.add_row(
                row.id, row.generation_id, row.state, str(row.attempts),
                str(row.last_status) if row.last_status is not None else (row.last_error or ""),
                next_attempt, row.url, history,
            )  # fmt: skip
            listing.append({
                "id": row.id, "generationId": row.generation_id, "state": row.state, "attempts": row.attempts,
                "lastStatus": row.last_status, "lastError": row.last_error, "nextAttemptAt": next_attempt or None,
                "url": row.url,
                "history": [{"at": a.attempted_at.isoformat(timespec="seconds"), "statusCode": a.status_code,
                             "error": a.error, "durationMs": a.duration_ms} for a in attempts],
            })  # fmt: skip
    if as_json:
        print(json.dumps(listing))
    else:
        print_table(table)


@webhooks_app.command("retry")
def webhooks_retry(
    delivery_id: Annotated[str, typer.Argument(help="Delivery id (the webhook-id header).")],
    data_dir: DataDir = None,
) -> None:
    """Re-queue a FAILED or GAVE_UP delivery now: same id, identical body, fresh retry schedule."""

    _, session_factory = open_store(load_settings(data_dir).sqlalchemy_url)
    with session_factory() as session, session.begin():
        delivery = requeue(session, delivery_id.strip(), utcnow())
    if delivery is None:
        console.print(f"no FAILED or GAVE_UP delivery with id {delivery_id!r}")
        raise typer.Exit(1)
    console.print(f"re-queued {delivery.id}")
