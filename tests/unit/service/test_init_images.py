"""Init-image use-cases on a real store: an upload URL is used up only by a stored file, a refusal
stores nothing, and another user's id reads as unknown everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sfumato.config import Settings
from sfumato.container import Container, build_container
from sfumato.domain.init_images import InitImageKind, UploadState
from sfumato.domain.views import Principal
from sfumato.errors import ClientError, Forbidden, NotFound, PayloadTooLarge
from sfumato.storage.image_check import ImageRefused
from sfumato.storage.uploads import PresignedUpload, UploadGrant
from sfumato.store.init_images import mark_uploaded
from sfumato.store.repositories import utcnow
from tests.support.images import decoded, image_bytes

BASE = "http://h:1"


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    container = build_container(Settings(data_dir=tmp_path, worker_threads=0), with_worker=False)
    yield container
    container.close()


def principal(container: Container, name: str) -> Principal:
    key = container.keys.authenticate(container.keys.create(name, concurrency=1).api_key)
    assert key is not None
    return key


def grant(container: Container, upload: PresignedUpload) -> UploadGrant:
    return container.uploads.grant(upload.fields)


def stored_files(container: Container) -> list[Path]:
    return sorted(path for path in container.blobs.root.rglob("*") if path.is_file())


def test_a_refused_upload_stores_nothing_and_leaves_the_url_usable(container: Container) -> None:
    alice = principal(container, "alice")
    upload = container.init_images.create(alice, "png", BASE)
    assert container.init_images.get(alice.user_id, upload.upload_id) is not None  # readable while pending
    assert container.init_images.owned_image(alice.user_id, upload.upload_id) is None  # not usable yet

    for refused in (b"not an image", image_bytes("JPEG")):
        with pytest.raises(ImageRefused):
            container.init_images.accept_upload(grant(container, upload), refused)
    with pytest.raises(ClientError, match="no part named 'file'"):
        container.init_images.accept_upload(grant(container, upload), None)
    assert stored_files(container) == []
    pending = container.init_images.get(alice.user_id, upload.upload_id)
    assert pending is not None and pending.state == UploadState.PENDING

    container.init_images.accept_upload(grant(container, upload), image_bytes("PNG"))
    image = container.init_images.owned_image(alice.user_id, upload.upload_id)
    assert image is not None and image.uploaded and image.uploaded_at is not None
    assert image.kind == InitImageKind.INIT and image.blob_key == upload.key
    assert stored_files(container) == [container.blobs.path_for(upload.key)]


def test_a_used_url_is_refused_and_the_stored_file_kept(container: Container) -> None:
    alice = principal(container, "alice")
    upload = container.init_images.create(alice, "png", BASE)
    container.init_images.accept_upload(grant(container, upload), image_bytes("PNG", size=(40, 24)))
    with pytest.raises(Forbidden, match="already used") as refused:
        container.init_images.accept_upload(grant(container, upload), image_bytes("PNG", size=(8, 8)))
    assert refused.value.status == 403
    assert decoded(container.blobs.path_for(upload.key).read_bytes()).size == (40, 24)


def test_only_one_of_two_racing_uploads_moves_the_image_to_uploaded(container: Container) -> None:
    """The guard under `accept_upload`: the second UPDATE of a pending row finds it uploaded."""
    alice = principal(container, "alice")
    upload = container.init_images.create(alice, "png", BASE)
    with container.session_factory() as session, session.begin():
        assert mark_uploaded(session, upload.upload_id, upload.key, utcnow())
    with container.session_factory() as session, session.begin():
        assert not mark_uploaded(session, upload.upload_id, upload.key, utcnow())


def test_a_file_over_the_limit_is_a_413_before_it_is_decoded(container: Container) -> None:
    alice = principal(container, "alice")
    upload = container.init_images.create(alice, "png", BASE)
    small = replace(container.init_images, max_bytes=1024)
    with pytest.raises(PayloadTooLarge, match="larger than the 1024-byte upload limit"):
        small.accept_upload(grant(container, upload), b"\x89PNG" + b"\x00" * 1021)
    assert stored_files(container) == []


class FailingBlobs:
    """A blob store whose disk is full."""

    def put(self, key: str, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    def get(self, key: str) -> bytes:
        raise FileNotFoundError(key)

    def delete(self, key: str) -> None:
        raise AssertionError("nothing was written, so nothing is deleted")

    def delete_prefix(self, prefix: str) -> None:
        raise AssertionError("not used by init images")


def test_a_failed_write_leaves_the_image_pending_for_a_retry(container: Container) -> None:
    alice = principal(container, "alice")
    upload = container.init_images.create(alice, "png", BASE)
    with pytest.raises(OSError, match="No space left"):
        replace(container.init_images, blobs=FailingBlobs()).accept_upload(grant(container, upload), image_bytes())
    pending = container.init_images.get(alice.user_id, upload.upload_id)
    assert pending is not None and pending.state == UploadState.PENDING
    container.init_images.accept_upload(grant(container, upload), image_bytes())  # the retry is taken


def test_another_users_id_reads_as_unknown_everywhere(container: Container) -> None:
    alice, bob = principal(container, "alice"), principal(container, "bob")
    upload = container.init_images.create(alice, "png", BASE)
    container.init_images.accept_upload(grant(container, upload), image_bytes())
    assert container.init_images.get(bob.user_id, upload.upload_id) is None
    assert container.init_images.owned_image(bob.user_id, upload.upload_id) is None
    assert container.init_images.delete(bob.user_id, upload.upload_id) is False
    assert container.init_images.owned_image(alice.user_id, upload.upload_id) is not None  # untouched


def test_a_delete_removes_the_file_and_refuses_the_form_from_then_on(container: Container) -> None:
    alice = principal(container, "alice")
    uploaded, pending = (container.init_images.create(alice, "webp", BASE) for _ in range(2))
    container.init_images.accept_upload(grant(container, uploaded), image_bytes("WEBP"))
    assert container.init_images.delete(alice.user_id, uploaded.upload_id)
    assert container.init_images.delete(alice.user_id, pending.upload_id)  # never uploaded: nothing to remove
    assert stored_files(container) == []
    assert container.init_images.get(alice.user_id, uploaded.upload_id) is None
    with pytest.raises(NotFound, match="it was deleted"):
        container.init_images.accept_upload(grant(container, pending), image_bytes("WEBP"))
    assert container.init_images.delete(alice.user_id, uploaded.upload_id) is False


def test_a_canvas_makes_an_init_image_and_a_mask(container: Container) -> None:
    alice = principal(container, "alice")
    init, mask = container.init_images.create_canvas(alice, "jpg", "png", BASE)
    assert init.key.endswith(f"/initImages/{init.upload_id}.jpg") and mask.key.endswith(f"{mask.upload_id}.png")
    kinds = [container.init_images.get(alice.user_id, upload.upload_id) for upload in (init, mask)]
    assert [view.kind if view else None for view in kinds] == [InitImageKind.INIT, InitImageKind.MASK]
