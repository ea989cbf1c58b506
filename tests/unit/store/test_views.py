"""A generation's request shows from its plan, even a plan a newer release wrote (an older API process
in a rolling upgrade): the view needs only version 1's fields, which every version carries."""

from __future__ import annotations

from pathlib import Path

from sfumato.catalog import TINY_MODEL_ID
from sfumato.config import Settings
from sfumato.container import build_container
from sfumato.domain.generation import PLAN_VERSION, GenerationRequest
from sfumato.store.tables import Generation


def test_a_plan_from_a_newer_release_still_shows(tmp_path: Path) -> None:
    container = build_container(Settings(data_dir=tmp_path, worker_threads=0), with_worker=False)
    try:
        key = container.keys.authenticate(container.keys.create("rolling", concurrency=1).api_key)
        assert key is not None
        request = GenerationRequest(prompt="a fox", model_id=TINY_MODEL_ID, width=32, height=32, num_images=1, seed=9)
        generation_id = container.generations.create(key, request).generation_id
        with container.session_factory() as session, session.begin():
            row = session.get(Generation, generation_id)
            assert row is not None
            row.plan = {**row.plan, "version": PLAN_VERSION + 1, "a_later_field": {"kind": "mask"}}
        view = container.generations.get(key.user_id, generation_id)
        assert view is not None
        assert (view.prompt, view.seed, view.width, view.num_images) == ("a fox", 9, 32, 1)
    finally:
        container.close()
