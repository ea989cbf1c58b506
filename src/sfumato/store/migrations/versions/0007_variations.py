"""variations: post-processing jobs on generated images; a generation's jobs include its variations'

A new `variations` table (plain `CREATE TABLE`). The `jobs` table gains `variation_id` (null for a
generation's own job) and loses the one-job-per-generation unique constraint on `generation_id`,
which now names the generation whose work a job is (its own, or one of its variations'), with a
plain index in its place.

Dropping that constraint rebuilds `jobs` on SQLite (batch mode's copy-and-swap). That is safe here,
unlike `generations` in 0005: no foreign key points at `jobs`, so dropping the old table cascades
nowhere. The constraint is unnamed on SQLite (0001 made it so), hence the naming convention that
lets batch mode find it; PostgreSQL named it itself, and its name is read from the database.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What batch mode calls SQLite's unnamed unique constraints, so one can be dropped by name.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
# The name PostgreSQL gives a column's unique constraint, as 0001 left it there.
_POSTGRES_UNIQUE = "jobs_generation_id_key"


def upgrade() -> None:
    op.create_table(
        "variations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("api_key_id", sa.String(length=36), nullable=True),
        sa.Column("generated_image_id", sa.String(length=36), nullable=False),
        sa.Column("transform_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("blob_key", sa.Text(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("credit_cost", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["generated_image_id"], ["generated_images.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_variations_user_id", "variations", ["user_id"], unique=False)
    op.create_index("ix_variations_generated_image_id", "variations", ["generated_image_id"], unique=False)

    generation_unique = _generation_unique_name() or "uq_jobs_generation_id"
    with op.batch_alter_table("jobs", naming_convention=_NAMING) as batch:
        batch.drop_constraint(generation_unique, type_="unique")
        batch.add_column(sa.Column("variation_id", sa.String(length=36), nullable=True))
        batch.create_foreign_key(
            "fk_jobs_variation_id_variations", "variations", ["variation_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_unique_constraint("uq_jobs_variation_id", ["variation_id"])
        batch.create_index("ix_jobs_generation_id", ["generation_id"], unique=False)


def downgrade() -> None:
    # The older schema has one job per generation: variations' jobs go with the variations.
    op.execute(sa.text("DELETE FROM jobs WHERE variation_id IS NOT NULL"))
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_generation_id")
        batch.drop_constraint("uq_jobs_variation_id", type_="unique")
        batch.drop_constraint("fk_jobs_variation_id_variations", type_="foreignkey")
        batch.drop_column("variation_id")
        batch.create_unique_constraint(_POSTGRES_UNIQUE, ["generation_id"])
    op.drop_index("ix_variations_generated_image_id", table_name="variations")
    op.drop_index("ix_variations_user_id", table_name="variations")
    op.drop_table("variations")


def _generation_unique_name() -> str | None:
    """The unique constraint on `jobs.generation_id`'s name, None where it has none (SQLite)."""
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("jobs"):
        if constraint["column_names"] == ["generation_id"]:
            return constraint["name"]
    raise RuntimeError("jobs.generation_id has no unique constraint to drop: is the schema at 0006?")
