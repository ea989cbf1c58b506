"""Init-image queries. Each takes an open Session; the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sfumato.domain.init_images import UploadState
from sfumato.store.tables import InitImage


def get_owned_init_image(session: Session, image_id: str, user_id: str) -> InitImage | None:
    """An init image only if `user_id` owns it: someone else's id reads as unknown."""
    return session.scalar(select(InitImage).where(InitImage.id == image_id, InitImage.user_id == user_id))


def get_init_image(session: Session, image_id: str) -> InitImage | None:
    """Any user's init image: only for an upload, whose signed form already names its owner's row."""
    return session.get(InitImage, image_id)


def mark_uploaded(session: Session, image_id: str, blob_key: str, now: datetime, stored_at: str | None = None) -> bool:
    """Move a pending image (whose form wrote `blob_key`) to uploaded, its file now at `stored_at` (default:
    there); False if it is not pending (any more). The UPDATE takes the row's write lock until commit,
    so of two uploads racing for one URL exactly one gets True."""
    result = session.execute(
        update(InitImage)
        .where(InitImage.id == image_id, InitImage.blob_key == blob_key, InitImage.state == UploadState.PENDING)
        .values(state=UploadState.UPLOADED, uploaded_at=now, blob_key=stored_at or blob_key)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]
