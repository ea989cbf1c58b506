"""Variations run in-process as the worker runs them (`claim_next` + `run_job`): each ends COMPLETE
with its picture under the generation's folder, listed under its image; a failing one is retried,
then ends FAILED with the reason; they count against the key like generations; a source that is
not the caller's own is refused like an unknown id; deleting the generation removes them all."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from sfumato.catalog import TINY_MODEL_ID
from sfumato.config import Settings
from sfumato.container import Container, build_container
from sfumato.domain.generation import GenerationRequest
from sfumato.domain.status import GenerationStatus
from sfumato.domain.variations import TransformType, VariationRequest, VariationSource
from sfumato.domain.views import ImageView, Principal, VariationView
from sfumato.errors import ClientError, TooManyRequests
from sfumato.jobs.lease import claim_next
from sfumato.jobs.runner import run_job
from sfumato.store.tables import Job, Variation

SIDE = 32


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    settings = Settings(data_dir=tmp_path, worker_threads=0, job_max_attempts=2, key_queue_cap=3)
    built = build_container(settings, with_worker=False)
    try:
        yield built
    finally:
        built.close()


def _key(container: Container, name: str = "frank") -> Principal:
    key = container.keys.authenticate(container.keys.create(name, concurrency=1).api_key)
    assert key is not None
    return key


def _run_next(container: Container) -> None:
    lease = claim_next(container.session_factory, "worker-a", lease_s=60, default_concurrency=10)
    assert lease is not None
    run_job(container.jobs, lease)


def _generated_image(container: Container, key: Principal) -> tuple[str, ImageView]:
    request = GenerationRequest(prompt="a cat", model_id=TINY_MODEL_ID, width=SIDE, height=SIDE, num_images=1)
    generation_id = container.generations.create(key, request).generation_id
    _run_next(container)
    generation = container.generations.get(key.user_id, generation_id)
    assert generation is not None and generation.status is GenerationStatus.COMPLETE
    return generation_id, generation.images[0]


def _request(transform: TransformType, source_id: str, *, of_variation: bool = False) -> VariationRequest:
    multiplier = 2.0 if transform is TransformType.UPSCALE else None
    return VariationRequest(transform, VariationSource(source_id, of_variation, "$.id"), multiplier=multiplier)


def _made(container: Container, key: Principal, request: VariationRequest) -> VariationView:
    variation_id = container.variations.create(key, request).variation_id
    _run_next(container)
    variation = container.variations.get(key.user_id, variation_id)
    assert variation is not None
    return variation


def _picture(container: Container, variation: VariationView) -> Image.Image:
    assert variation.status is GenerationStatus.COMPLETE and variation.blob_key is not None, variation
    return Image.open(io.BytesIO(container.blobs.get(variation.blob_key)))


def test_each_variation_completes_with_its_size_and_is_listed_under_its_image(container: Container) -> None:
    key = _key(container)
    generation_id, image = _generated_image(container, key)

    upscale = _made(container, key, _request(TransformType.UPSCALE, image.id))
    nobg = _made(container, key, _request(TransformType.NOBG, image.id))
    unzoom = _made(container, key, _request(TransformType.UNZOOM, image.id))
    universal = VariationRequest(
        TransformType.UPSCALE, VariationSource(image.id, False, "$.generatedImageId"), multiplier=1.5, universal=True
    )
    upscaled_half = _made(container, key, universal)

    assert _picture(container, upscale).size == (2 * SIDE, 2 * SIDE)
    assert _picture(container, upscaled_half).size == (48, 48)
    alpha = _picture(container, nobg)
    assert alpha.mode == "RGBA" and alpha.size == (SIDE, SIDE)
    low, high = alpha.getchannel("A").getextrema()
    assert low < high  # a mask, not a constant
    assert _picture(container, unzoom).size == (48, 48)  # 1.5 times each side, on the 16-pixel grid
    assert (upscale.credit_cost, nobg.credit_cost, unzoom.credit_cost, upscaled_half.credit_cost) == (15, 5, 15, 15)

    generation = container.generations.get(key.user_id, generation_id)
    assert generation is not None
    listed = generation.images[0].variations
    assert [(v.id, v.transform_type) for v in listed] == [
        (upscale.id, TransformType.UPSCALE),
        (nobg.id, TransformType.NOBG),
        (unzoom.id, TransformType.UNZOOM),
        (upscaled_half.id, TransformType.UPSCALE),
    ]
    folder = f"users/{key.user_id}/generations/{generation_id}/variations/"
    assert all(v.blob_key and v.blob_key.startswith(folder) for v in listed)


def test_a_variation_of_a_variation_starts_from_its_picture_and_is_listed_under_the_same_image(
    container: Container,
) -> None:
    key = _key(container)
    _generation_id, image = _generated_image(container, key)
    unzoom = _made(container, key, _request(TransformType.UNZOOM, image.id))
    nobg = _made(container, key, _request(TransformType.NOBG, unzoom.id, of_variation=True))
    assert _picture(container, nobg).size == _picture(container, unzoom).size == (48, 48)
    assert nobg.generated_image_id == image.id


def test_deleting_the_generation_removes_its_variations_rows_jobs_and_files(container: Container) -> None:
    key = _key(container)
    generation_id, image = _generated_image(container, key)
    upscale = _made(container, key, _request(TransformType.UPSCALE, image.id))
    queued = container.variations.create(key, _request(TransformType.NOBG, image.id)).variation_id
    assert upscale.blob_key is not None and container.blobs.path_for(upscale.blob_key).is_file()

    assert container.generations.delete(key.user_id, generation_id)
    assert container.variations.get(key.user_id, upscale.id) is None
    assert container.variations.get(key.user_id, queued) is None
    with container.session_factory() as session:
        assert session.scalars(select(Variation)).all() == [] and session.scalars(select(Job)).all() == []
    assert not container.blobs.path_for(upscale.blob_key).exists()


def test_a_failing_variation_is_retried_then_ends_failed_with_the_reason(container: Container) -> None:
    key = _key(container)
    _generation_id, image = _generated_image(container, key)
    variation_id = container.variations.create(key, _request(TransformType.NOBG, image.id)).variation_id
    container.blobs.delete(image.blob_key)  # its source picture is gone: every run fails

    _run_next(container)
    retried = container.variations.get(key.user_id, variation_id)
    assert retried is not None and retried.status is GenerationStatus.PENDING and retried.failure_reason is None
    _run_next(container)
    failed = container.variations.get(key.user_id, variation_id)
    assert failed is not None and failed.status is GenerationStatus.FAILED and failed.blob_key is None
    assert failed.failure_reason is not None and "FileNotFoundError" in failed.failure_reason


def test_variations_count_against_the_keys_queue_cap_and_concurrency(container: Container) -> None:
    key = _key(container)  # concurrency 1, queue cap 3
    _generation_id, image = _generated_image(container, key)
    for _ in range(3):
        container.variations.create(key, _request(TransformType.NOBG, image.id))
    with pytest.raises(TooManyRequests, match="pending generations and variations"):
        container.variations.create(key, _request(TransformType.NOBG, image.id))
    with pytest.raises(TooManyRequests):
        container.generations.create(key, GenerationRequest(prompt="a dog", model_id=TINY_MODEL_ID))

    first = claim_next(container.session_factory, "worker-a", lease_s=60, default_concurrency=10)
    assert first is not None
    assert claim_next(container.session_factory, "worker-b", lease_s=60, default_concurrency=10) is None


def test_a_variation_over_twenty_megapixels_is_refused_before_it_is_queued(container: Container) -> None:
    key = _key(container)
    _generation_id, image = _generated_image(container, key)
    large = io.BytesIO()
    Image.new("RGB", (4000, 3000)).save(large, format="PNG")
    container.blobs.put(image.blob_key, large.getvalue())  # as if a chain of upscales had made it
    with pytest.raises(ClientError, match="8000x6000, over the 20-megapixel limit") as raised:
        container.variations.create(key, _request(TransformType.UPSCALE, image.id))
    assert raised.value.path == "$.id"
    with pytest.raises(ClientError, match="6000x4500, over the 20-megapixel limit"):
        container.variations.create(key, _request(TransformType.UNZOOM, image.id))
    assert container.variations.create(key, _request(TransformType.NOBG, image.id)).credit_cost == 5  # 12 MP


def test_only_the_callers_own_finished_pictures_are_sources(container: Container) -> None:
    alice, bob = _key(container, "alice"), _key(container, "bob")
    _generation_id, image = _generated_image(container, alice)
    pending = container.variations.create(alice, _request(TransformType.NOBG, image.id)).variation_id

    refusals = [
        (bob, _request(TransformType.UPSCALE, image.id), "couldn't access image"),
        (alice, _request(TransformType.UPSCALE, "0badbad0-0000-4000-8000-000000000001"), "couldn't access image"),
        (alice, _request(TransformType.NOBG, pending, of_variation=True), "failed to find init variation"),
        (alice, _request(TransformType.UNZOOM, image.id, of_variation=True), "failed to find init variation"),
    ]
    for caller, request, words in refusals:
        with pytest.raises(ClientError) as raised:
            container.variations.create(caller, request)
        assert raised.value.status == 400 and raised.value.message.startswith(words) and raised.value.path == "$.id"
    assert container.variations.get(bob.user_id, pending) is None
