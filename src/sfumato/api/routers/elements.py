"""`/elements`: the catalog's LoRA elements and the caller's own user elements (docs/elements.md)."""

from __future__ import annotations

from fastapi import APIRouter

from sfumato.api.deps import ContainerDep, KeyDep, checked_uuid
from sfumato.api.responses import LeonardoJSON
from sfumato.errors import ClientError, DataException, NotSupported
from sfumato.wire.element_response import list_elements, user_loras, user_loras_by_pk

router = APIRouter(tags=["elements"])


def _user_lora_id(value: str) -> int:
    """User element ids are integers (Leonardo's `user_loras.id`); anything else is a data error."""
    try:
        return int(value)
    except ValueError:
        raise DataException(f'invalid input syntax for type integer: "{value}"') from None


@router.get("/elements")
def get_elements(_key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    """The catalog's elements (no user's)."""
    return LeonardoJSON(list_elements(container.catalog.public_elements()))


@router.post("/elements")
def train_element(_key: KeyDep) -> LeonardoJSON:
    raise NotSupported(
        "training elements is not supported by Sfumato yet (a later issue); register a LoRA trained elsewhere "
        "with `sfumato elements add FILE --name N --base-model B --user USER_ID`"
    )


@router.get("/elements/user/{userId}")
def get_user_elements(userId: str, key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    """The caller's own elements; another user's id lists none, as if that user had none."""
    user_id = checked_uuid(userId)
    entries = container.catalog.user_elements(user_id) if user_id == key.user_id else []
    return LeonardoJSON(user_loras(entries))


@router.get("/elements/{id}")
def get_user_element(id: str, key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    """One of the caller's user elements by its integer id; null for an unknown id (or another user's)."""
    return LeonardoJSON(user_loras_by_pk(container.catalog.user_element(_user_lora_id(id), key.user_id)))


@router.delete("/elements/{id}")
def delete_user_element(id: str, key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    """User elements are catalog rows the operator registered: the operator removes them."""
    entry = container.catalog.user_element(_user_lora_id(id), key.user_id)
    if entry is None:
        return LeonardoJSON({"delete_user_loras_by_pk": None})
    raise ClientError(
        f"element {entry.name} was registered by this server's operator, who removes it with "
        f"`sfumato elements remove {entry.id}`; deleting elements through the API is not supported"
    )
