"""Migration 0005 makes the plan JSON the one record of a generation's request. Rows the 0004 schema
held (request fields as columns and in the plan) read the same after the upgrade and keep their images
and jobs; a downgrade to 0004 puts the columns back, filled from the plans, for rows written on
either side of it. `check_plan_is_the_record` runs on SQLite here and on PostgreSQL in
tests/integration/test_postgres.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sfumato.catalog import TINY_MODEL_ID
from sfumato.config import Settings
from sfumato.container import build_container
from sfumato.domain.generation import GenerationRequest
from sfumato.domain.status import GenerationStatus
from sfumato.store.db import make_engine
from tests.support.migrations import downgrade_to, upgrade_to

USER_ID = "0a0a0a0a-0000-4000-8000-000000000001"
WRITTEN = datetime(2026, 1, 2, 3, 4, 5)

# Two generations as the 0004 release stored them: its request columns, named as GenerationView names them.
ROWS_0004: dict[str, dict[str, Any]] = {
    "0a0a0a0a-0000-4000-8000-0000000000a1": {
        "prompt": "a red fox", "negative_prompt": "", "model_id": None, "sd_version": "v1_5", "width": 32,
        "height": 48, "num_images": 2, "inference_steps": 10, "guidance_scale": 7.5, "seed": 4_294_967_295,
        "scheduler": "EULER_DISCRETE", "preset_style": "LEONARDO", "alchemy": False, "public": True,
    },
    "0a0a0a0a-0000-4000-8000-0000000000a2": {
        "prompt": "ein Fuchs, 狐", "negative_prompt": "blurry", "model_id": TINY_MODEL_ID, "sd_version": "v2",
        "width": 64, "height": 32, "num_images": 1, "inference_steps": 25, "guidance_scale": 1.0, "seed": 0,
        "scheduler": "DPM_SOLVER", "preset_style": "DYNAMIC", "alchemy": True, "public": False,
    },
}  # fmt: skip
PLAN_COLUMNS = tuple(ROWS_0004["0a0a0a0a-0000-4000-8000-0000000000a1"])


def _plan(columns: dict[str, Any], *, versioned: bool) -> dict[str, Any]:
    """The plan written beside those columns (by a release before plan versioning: no `version`)."""
    plan = {name: value for name, value in columns.items() if name != "inference_steps"}
    plan |= {
        "num_inference_steps": columns["inference_steps"],
        "pipeline_prompt": f"{columns['prompt']}, dynamic",
        "pipeline_negative_prompt": columns["negative_prompt"],
        "catalog_key": "sfumato-tiny",
    }
    return {"version": 1, **plan} if versioned else plan


def _insert(connection: sa.Connection, table: str, **values: Any) -> None:
    """One row by SQL: the ORM's tables are head's, not 0004's."""
    names, params = ", ".join(values), ", ".join(f":{name}" for name in values)
    statement = sa.text(f"INSERT INTO {table} ({names}) VALUES ({params})")
    if "plan" in values:
        statement = statement.bindparams(sa.bindparam("plan", type_=sa.JSON()))
    connection.execute(statement, values)


def _write_0004_rows(url: str) -> None:
    """Each generation with one image and its finished job, against the 0004 schema."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _insert(connection, "users", id=USER_ID, username="old", created_at=WRITTEN)
            for index, (generation_id, columns) in enumerate(ROWS_0004.items()):
                _insert(
                    connection, "generations", id=generation_id, user_id=USER_ID, status="COMPLETE",
                    failure_reason=None, credit_cost=3, plan=_plan(columns, versioned=index > 0),
                    created_at=WRITTEN, updated_at=WRITTEN, **columns,
                )  # fmt: skip
                _insert(
                    connection, "generated_images", id=f"image-{index}", generation_id=generation_id, position=0,
                    blob_key=f"{generation_id}/0.png", nsfw=False, created_at=WRITTEN,
                )  # fmt: skip
                _insert(
                    connection, "jobs", id=f"job-{index}", generation_id=generation_id, state="DONE", attempts=1,
                    created_at=WRITTEN, updated_at=WRITTEN,
                )  # fmt: skip
    finally:
        engine.dispose()


def _read(url: str, query: str, **params: Any) -> list[sa.Row[Any]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(query), params))
    finally:
        engine.dispose()


def _columns_of(url: str, generation_id: str) -> dict[str, Any]:
    [row] = _read(url, f"SELECT {', '.join(PLAN_COLUMNS)} FROM generations WHERE id = :id", id=generation_id)
    return dict(row._mapping)


def _children(url: str) -> tuple[int, int]:
    """(image rows, job rows): what a copy-and-swap of `generations` would cascade-delete."""
    [(images, jobs)] = _read(url, "SELECT (SELECT count(*) FROM generated_images), (SELECT count(*) FROM jobs)")
    return int(images), int(jobs)


def check_plan_is_the_record(url: str, data_dir: Path) -> None:
    """Upgrade an 0004 database with rows to head, read them through the service, write one at head,
    then downgrade to 0004 and find every row's columns as the plans say."""
    upgrade_to(url, "0004")
    _write_0004_rows(url)

    container = build_container(Settings(data_dir=data_dir, database_url=url, worker_threads=0), with_worker=False)
    try:  # building the container migrated the store to head
        for generation_id, columns in ROWS_0004.items():
            view = container.generations.get(USER_ID, generation_id)
            assert view is not None
            assert {name: getattr(view, name) for name in PLAN_COLUMNS} == columns
            assert (view.status, view.failure_reason, view.credit_cost) == (GenerationStatus.COMPLETE, None, 3)
            assert (view.created_at, view.updated_at) == (WRITTEN, WRITTEN)
            assert [image.blob_key for image in view.images] == [f"{generation_id}/0.png"]
        key = container.keys.authenticate(container.keys.create("new", concurrency=1).api_key)
        assert key is not None
        request = GenerationRequest(prompt="a new fox", model_id=TINY_MODEL_ID, width=32, height=32, num_images=1)
        new_id = container.generations.create(key, request).generation_id
        new = container.generations.get(key.user_id, new_id)
        assert new is not None
        new_columns = {name: getattr(new, name) for name in PLAN_COLUMNS}
    finally:
        container.close()
    engine = make_engine(url)
    try:
        at_head = {column["name"] for column in sa.inspect(engine).get_columns("generations")}
    finally:
        engine.dispose()
    assert at_head.isdisjoint(PLAN_COLUMNS) and {"plan", "status", "credit_cost", "created_at"} <= at_head
    assert _children(url) == (2, 3)

    downgrade_to(url, "0004")
    assert _read(url, "SELECT version_num FROM alembic_version") == [("0004",)]
    for generation_id, columns in {**ROWS_0004, new_id: new_columns}.items():
        assert _columns_of(url, generation_id) == columns
    assert _children(url) == (2, 3)


def test_the_plan_is_the_record_on_sqlite(tmp_path: Path) -> None:
    check_plan_is_the_record(f"sqlite:///{tmp_path / 'sfumato.db'}", tmp_path / "data")
