"""Init-image use-cases: hand out upload forms, take the upload, read and delete, each scoped to one
user; and `owned_image`, the look-up every field that takes an uploaded image's id goes through."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from sfumato.domain.init_images import (
    InitImageKind,
    UploadState,
    checked_image_key,
    init_image_key,
)
from sfumato.domain.views import InitImageView, Principal
from sfumato.errors import ClientError, Forbidden, NotFound, PayloadTooLarge
from sfumato.storage.blobs import BlobStore
from sfumato.storage.image_check import reencoded_image
from sfumato.storage.uploads import PresignedUpload, UploadGrant, UploadTarget
from sfumato.store.init_images import get_init_image, get_owned_init_image, mark_uploaded
from sfumato.store.repositories import utcnow
from sfumato.store.tables import InitImage
from sfumato.store.views import init_image_view


@dataclass
class InitImageService:
    session_factory: sessionmaker[Session]
    blobs: BlobStore
    target: UploadTarget
    max_bytes: int
    max_pixels: int
    # True when clients upload straight to the store (S3's presigned POST): the server first sees the
    # file when the image is read or used, and checks it then (`settle`).
    uploads_direct: bool = False
    clock: Callable[[], datetime] = utcnow

    def create(self, key: Principal, extension: str, base_url: str) -> PresignedUpload:
        """A pending init image and the form that uploads its file (`extension` already checked)."""
        [upload] = self._create(key, [(extension, InitImageKind.INIT)], base_url)
        return upload

    def create_canvas(
        self, key: Principal, init_extension: str, mask_extension: str, base_url: str
    ) -> tuple[PresignedUpload, PresignedUpload]:
        """A canvas' init image and mask, made in one transaction (both or neither)."""
        init, mask = self._create(
            key, [(init_extension, InitImageKind.INIT), (mask_extension, InitImageKind.MASK)], base_url
        )
        return init, mask

    def _create(self, key: Principal, wanted: list[tuple[str, InitImageKind]], base_url: str) -> list[PresignedUpload]:
        now = self.clock()
        rows = [_pending_row(key, str(uuid.uuid4()), extension, kind, now) for extension, kind in wanted]
        with self.session_factory() as session, session.begin():
            session.add_all(rows)
        return [self.target.presign(row.blob_key, row.id, base_url) for row in rows]

    def get(self, user_id: str, image_id: str) -> InitImageView | None:
        """The user's init image, uploaded or still awaited (its URL is known from the start)."""
        self.settle(user_id, image_id)
        with self.session_factory() as session:
            row = get_owned_init_image(session, image_id, user_id)
            return init_image_view(row) if row else None

    def owned_image(self, user_id: str, image_id: str) -> InitImageView | None:
        """The user's init image if its file is here: what a generation may use. Someone else's id,
        and one not uploaded yet, read as unknown."""
        image = self.get(user_id, image_id)
        return image if image is not None and image.uploaded else None

    def store_inline(self, key: Principal, data: bytes, extension: str) -> str:
        """An image sent inline (v2's BASE64 and URL references), checked like an upload and kept as
        the caller's uploaded init image, so a plan holds its key as for any upload; its id."""
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(f"the image is larger than the {self.max_bytes}-byte upload limit")
        encoded = reencoded_image(data, extension, self.max_pixels)
        now = self.clock()
        row = _pending_row(key, str(uuid.uuid4()), extension, InitImageKind.INIT, now)
        row.state, row.uploaded_at = UploadState.UPLOADED, now
        self.blobs.put(row.blob_key, encoded)
        try:
            with self.session_factory() as session, session.begin():
                session.add(row)
        except Exception:
            self.blobs.delete(row.blob_key)
            raise
        return row.id

    def delete(self, user_id: str, image_id: str) -> bool:
        """Remove the row, then its file; a form still held for it is refused from then on."""
        with self.session_factory() as session, session.begin():
            row = get_owned_init_image(session, image_id, user_id)
            if row is None:
                return False
            # Its file, and (direct uploads) the form's object beside the checked copy (`settle`).
            keys = {row.blob_key, init_image_key(row.user_id, row.id, row.extension)}
            session.delete(row)
        for key in sorted(keys):
            self.blobs.delete(key)
        return True

    def accept_upload(self, grant: UploadGrant, data: bytes | None) -> None:
        """Store an upload the form granted, once. Every refusal leaves the image pending and stores
        nothing, so the client may retry with a good file; only a stored file uses the form up."""
        if data is None:
            raise ClientError(
                "the upload form has no part named 'file': send the fields, then the image as part 'file'"
            )
        with self.session_factory() as session:
            row = get_init_image(session, grant.upload_id)
            image = init_image_view(row) if row is not None and row.blob_key == grant.key else None
        if image is None:
            raise NotFound("no init image awaits this upload (it was deleted): ask POST /init-image for a new one")
        if image.uploaded:
            raise Forbidden("this upload URL was already used: ask POST /init-image for a new one")
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(f"the file is larger than the {self.max_bytes}-byte upload limit")
        self._store_checked(image, reencoded_image(data, image.extension, self.max_pixels))

    def settle(self, user_id: str, image_id: str) -> None:
        """With direct uploads, check a pending image's object once it is there, as `POST /uploads` checks a
        local upload: size from a HEAD, then type and pixels by decoding; a good file is re-encoded to a key of
        its own (`checked_image_key`: the form may still overwrite its object) and the image becomes uploaded.
        A bad one is deleted (the form may be used again while it lasts) and refused with the reason.
        Nothing there yet leaves the image pending."""
        if not self.uploads_direct:
            return
        with self.session_factory() as session:
            row = get_owned_init_image(session, image_id, user_id)
            image = init_image_view(row) if row is not None else None
        if image is None or image.uploaded:
            return
        size = self.blobs.size(image.blob_key)
        if size is None:
            return
        try:
            if size > self.max_bytes:
                raise PayloadTooLarge(f"the uploaded file is larger than the {self.max_bytes}-byte upload limit")
            encoded = reencoded_image(self.blobs.get(image.blob_key), image.extension, self.max_pixels)
        except FileNotFoundError:  # deleted between the HEAD and the GET: still awaited
            return
        except (ClientError, PayloadTooLarge) as refused:
            self.blobs.delete(image.blob_key)
            raise type(refused)(f"init image {image.id}: {refused.message}; upload a good file again") from None
        with contextlib.suppress(Forbidden):  # a racing check of the same object settled it first
            # The checked file goes to a key of its own: the form can still overwrite its object until it
            # expires, and a render must read what was checked.
            self._store_checked(image, encoded, checked_image_key(image.blob_key))
            self.blobs.delete(image.blob_key)

    def _store_checked(self, image: InitImageView, encoded: bytes, key: str | None = None) -> None:
        """Write a checked file (at `key`, default the image's own) and mark its image uploaded there, in
        one step: exactly once per image."""
        key = key or image.blob_key
        written = False
        try:
            with self.session_factory() as session, session.begin():
                # The row stays locked from this UPDATE to commit: a racing upload of the same form
                # waits, then finds it uploaded, so only one file is ever written for it.
                if not mark_uploaded(session, image.id, image.blob_key, self.clock(), stored_at=key):
                    raise Forbidden("this upload URL was already used: ask POST /init-image for a new one")
                self.blobs.put(key, encoded)  # a failed write rolls the state back
                written = True
        except Exception:
            if written:  # the commit failed: the image stays pending, so its file goes too
                self.blobs.delete(key)
            raise


def _pending_row(key: Principal, image_id: str, extension: str, kind: InitImageKind, now: datetime) -> InitImage:
    return InitImage(
        id=image_id,
        user_id=key.user_id,
        api_key_id=key.key_id,
        kind=kind,
        extension=extension,
        blob_key=init_image_key(key.user_id, image_id, extension),
        state=UploadState.PENDING,
        created_at=now,
    )
