"""generations: the plan JSON is the one record of a request; its duplicate columns go

Every plan written since 0001 carries each of these fields with the value its column got (both were
filled from one `GenerationPlan`), so dropping the columns loses nothing. None is filtered or sorted
by (the list sorts by created_at, id; limits filter by api_key_id, status).

The columns are dropped and added in place (`ALTER TABLE ... DROP/ADD COLUMN`, SQLite 3.35 or newer),
never by SQLite batch mode's copy-and-swap: with foreign keys on, dropping the old `generations`
table would cascade-delete every generation's images and job. For the same reason the downgrade
leaves the re-added columns nullable on SQLite (making them NOT NULL there needs the copy); on
PostgreSQL it sets NOT NULL after the backfill, as 0001 made them.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Column -> (type as 0001 made it, nullable there). The plan names each the same, but one.
_COLUMNS: dict[str, tuple[sa.types.TypeEngine[Any], bool]] = {
    "prompt": (sa.Text(), False),
    "negative_prompt": (sa.Text(), False),
    "model_id": (sa.String(length=64), True),
    "sd_version": (sa.String(length=32), False),
    "width": (sa.Integer(), False),
    "height": (sa.Integer(), False),
    "num_images": (sa.Integer(), False),
    "inference_steps": (sa.Integer(), False),
    "guidance_scale": (sa.Float(), False),
    "seed": (sa.BigInteger(), False),
    "scheduler": (sa.String(length=32), False),
    "preset_style": (sa.String(length=32), True),
    "alchemy": (sa.Boolean(), False),
    "public": (sa.Boolean(), False),
}
_PLAN_KEY = {"inference_steps": "num_inference_steps"}
_BACKFILL_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("generations", recreate="never") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("generations", recreate="never") as batch:
        for name, (type_, _nullable) in _COLUMNS.items():
            batch.add_column(sa.Column(name, type_, nullable=True))
    _backfill_from_plans()
    if op.get_bind().dialect.name != "sqlite":
        with op.batch_alter_table("generations") as batch:
            for name, (type_, nullable) in _COLUMNS.items():
                if not nullable:
                    batch.alter_column(name, existing_type=type_, nullable=False)


def _backfill_from_plans() -> None:
    """Copy each row's plan fields into the re-added columns, a batch of rows at a time (keyset on id)."""
    bind = op.get_bind()
    generations = sa.table(
        "generations",
        sa.column("id", sa.String()),
        sa.column("plan", sa.JSON()),
        *(sa.column(name, type_) for name, (type_, _nullable) in _COLUMNS.items()),
    )
    fill = (
        sa.update(generations)
        .where(generations.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(f"new_{name}") for name in _COLUMNS})
    )
    last_id = ""
    while True:
        rows = bind.execute(
            sa.select(generations.c.id, generations.c.plan)
            .where(generations.c.id > last_id)
            .order_by(generations.c.id)
            .limit(_BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        values = [
            {"row_id": row_id, **{f"new_{name}": plan[_PLAN_KEY.get(name, name)] for name in _COLUMNS}}
            for row_id, plan in rows
        ]
        bind.execute(fill, values)
        last_id = rows[-1][0]
