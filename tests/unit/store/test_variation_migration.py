"""Migration 0007 adds variations and lets a generation have several jobs (its own and its
variations'). An 0006 database keeps its generation, image and job through the upgrade (SQLite
rebuilds `jobs` for it); a variation made at head has its job; a downgrade drops variations and
their jobs, keeps the generation's, and puts back one job per generation. `check_variations_migrate`
runs on SQLite here and on PostgreSQL in tests/integration/test_postgres.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sfumato.config import Settings
from sfumato.container import build_container
from sfumato.domain.variations import TransformType, VariationRequest, VariationSource
from sfumato.domain.views import Principal
from sfumato.store.db import make_engine
from tests.support.images import image_bytes
from tests.support.migrations import downgrade_to, upgrade_to

WRITTEN = datetime(2026, 1, 2, 3, 4, 5)
GENERATION_ID = "0a0a0a0a-0000-4000-8000-0000000000b1"
IMAGE_ID = "0a0a0a0a-0000-4000-8000-0000000000b2"
PLAN = {
    "version": 2, "prompt": "a fox", "negative_prompt": "", "pipeline_prompt": "a fox", "pipeline_negative_prompt": "",
    "catalog_key": "sfumato-tiny", "model_id": None, "sd_version": "v1_5", "width": 32, "height": 32, "num_images": 1,
    "num_inference_steps": 10, "guidance_scale": 7.0, "seed": 1, "scheduler": "EULER_DISCRETE", "preset_style": "NONE",
    "alchemy": False, "public": False,
}  # fmt: skip


def _execute(url: str, statement: str, **params: Any) -> list[sa.Row[Any]]:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def _write_0006_rows(url: str, user_id: str, key_id: str) -> None:
    """A finished generation with one image and its job, against the 0006 schema."""
    plan = sa.bindparam("plan", type_=sa.JSON())
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO generations (id, user_id, api_key_id, status, failure_reason, credit_cost, plan, "
                    "created_at, updated_at) VALUES (:id, :user, :key, 'COMPLETE', NULL, 3, :plan, :at, :at)"
                ).bindparams(plan),
                {"id": GENERATION_ID, "user": user_id, "key": key_id, "plan": PLAN, "at": WRITTEN},
            )
            connection.execute(
                sa.text("INSERT INTO generated_images VALUES (:id, :generation, 0, 'old/0.png', false, :at)"),
                {"id": IMAGE_ID, "generation": GENERATION_ID, "at": WRITTEN},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO jobs (id, generation_id, api_key_id, state, attempts, created_at, updated_at) "
                    "VALUES ('job-old', :generation, :key, 'DONE', 1, :at, :at)"
                ),
                {"generation": GENERATION_ID, "key": key_id, "at": WRITTEN},
            )
    finally:
        engine.dispose()


def _jobs(url: str) -> list[tuple[str, str]]:
    return [(str(a), str(b)) for a, b in _execute(url, "SELECT id, generation_id FROM jobs ORDER BY created_at, id")]


def check_variations_migrate(url: str, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, database_url=url, worker_threads=0)
    upgrade_to(url, "0006")
    container = build_container(settings, with_worker=False)  # the user and key, made at head
    try:
        created = container.keys.create("old", concurrency=1)
        key = container.keys.authenticate(created.api_key)
    finally:
        container.close()
    assert isinstance(key, Principal)
    downgrade_to(url, "0006")
    _write_0006_rows(url, key.user_id, key.key_id)

    container = build_container(settings, with_worker=False)  # migrates to head again
    try:
        generation = container.generations.get(key.user_id, GENERATION_ID)
        assert generation is not None and [image.id for image in generation.images] == [IMAGE_ID]
        container.blobs.put("old/0.png", image_bytes())
        request = VariationRequest(TransformType.NOBG, VariationSource(IMAGE_ID, False, "$.id"))
        variation_id = container.variations.create(key, request).variation_id
    finally:
        container.close()
    [(job_id, of_generation), (_new_job, also_of_generation)] = _jobs(url)
    assert (job_id, of_generation, also_of_generation) == ("job-old", GENERATION_ID, GENERATION_ID)
    assert _execute(url, "SELECT variation_id FROM jobs WHERE id = 'job-old'") == [(None,)]

    downgrade_to(url, "0006")
    assert _jobs(url) == [("job-old", GENERATION_ID)]
    assert _execute(url, "SELECT count(*) FROM generated_images") == [(1,)]
    with pytest.raises(sa.exc.IntegrityError):  # one job per generation again
        _execute(
            url,
            "INSERT INTO jobs (id, generation_id, state, attempts, created_at, updated_at) "
            "VALUES ('job-2', :generation, 'QUEUED', 0, :at, :at)",
            generation=GENERATION_ID,
            at=WRITTEN,
        )
    upgrade_to(url, "head")
    assert _execute(url, "SELECT count(*) FROM variations WHERE id = :id", id=variation_id) == [(0,)]


def test_variations_migrate_on_sqlite(tmp_path: Path) -> None:
    check_variations_migrate(f"sqlite:///{tmp_path / 'sfumato.db'}", tmp_path / "data")
