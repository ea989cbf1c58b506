"""Uploads straight to the store (S3's presigned POST): the server checks the object when the image is
first read or used (`InitImageService.settle`). Run on the local store, which keeps the same keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sfumato.config import Settings
from sfumato.container import Container, build_container
from sfumato.domain.init_images import UploadState
from sfumato.domain.views import Principal
from sfumato.errors import PayloadTooLarge
from sfumato.service.init_images import InitImageService
from sfumato.storage.image_check import ImageRefused
from tests.support.images import decoded, image_bytes

BASE = "http://h:1"


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    container = build_container(Settings(data_dir=tmp_path, worker_threads=0), with_worker=False)
    yield container
    container.close()


@pytest.fixture
def direct(container: Container) -> InitImageService:
    return replace(container.init_images, uploads_direct=True, max_bytes=4096)


def owner(container: Container, name: str = "direct") -> Principal:
    key = container.keys.authenticate(container.keys.create(name, concurrency=1).api_key)
    assert key is not None
    return key


def test_a_good_object_is_re_encoded_to_a_key_of_its_own_and_becomes_uploaded(
    container: Container, direct: InitImageService
) -> None:
    alice = owner(container)
    upload = direct.create(alice, "png", BASE)
    awaited = direct.get(alice.user_id, upload.upload_id)
    assert awaited is not None and awaited.state == UploadState.PENDING  # nothing in the store yet
    raw = image_bytes("PNG", (16, 16)) + b"a polyglot's tail"
    container.blobs.put(upload.key, raw)  # what the client's POST to the bucket does
    settled = direct.get(alice.user_id, upload.upload_id)
    assert settled is not None and settled.state == UploadState.UPLOADED
    assert settled.blob_key != upload.key and settled.blob_key.startswith(upload.key.rpartition(".")[0])
    stored = container.blobs.get(settled.blob_key)
    assert stored != raw and decoded(stored).tobytes() == decoded(raw).tobytes()
    assert container.blobs.size(upload.key) is None  # the form's object is gone once checked


def test_the_form_overwriting_its_object_after_the_check_changes_nothing_a_render_reads(
    container: Container, direct: InitImageService
) -> None:
    alice = owner(container)
    upload = direct.create(alice, "png", BASE)
    container.blobs.put(upload.key, image_bytes("PNG", (16, 16)))
    settled = direct.get(alice.user_id, upload.upload_id)
    assert settled is not None and settled.state == UploadState.UPLOADED
    checked = container.blobs.get(settled.blob_key)
    container.blobs.put(upload.key, b"<svg/> not an image")  # the presigned form is still valid: a second POST
    again = direct.get(alice.user_id, upload.upload_id)
    assert again is not None and again.blob_key == settled.blob_key
    assert container.blobs.get(again.blob_key) == checked
    assert direct.delete(alice.user_id, upload.upload_id)
    assert container.blobs.size(upload.key) is None and container.blobs.size(settled.blob_key) is None


@pytest.mark.parametrize(
    ("data", "refusal"),
    [(b"x" * 5000, PayloadTooLarge), (b"<svg/>", ImageRefused), (image_bytes("JPEG"), ImageRefused)],
)
def test_a_bad_object_is_deleted_and_refused_with_its_reason(
    container: Container, direct: InitImageService, data: bytes, refusal: type[Exception]
) -> None:
    alice = owner(container)
    upload = direct.create(alice, "png", BASE)
    container.blobs.put(upload.key, data)
    with pytest.raises(refusal, match=f"init image {upload.upload_id}"):
        direct.settle(alice.user_id, upload.upload_id)
    assert container.blobs.size(upload.key) is None
    pending = direct.get(alice.user_id, upload.upload_id)
    assert pending is not None and pending.state == UploadState.PENDING


def test_someone_elses_image_is_never_checked(container: Container, direct: InitImageService) -> None:
    alice, bob = owner(container, "alice"), owner(container, "bob")
    upload = direct.create(alice, "png", BASE)
    container.blobs.put(upload.key, b"not an image")
    direct.settle(bob.user_id, upload.upload_id)  # reads as unknown: nothing happens
    assert container.blobs.get(upload.key) == b"not an image"
