"""The model catalog, readable by every layer: which open-weight model serves each Leonardo model id."""

from sfumato.catalog.model_catalog import (
    DIFFUSERS_MARKER,
    LEONARDO_DEFAULT_MODEL_ID,
    LOCAL_CATALOG_NAME,
    SHIPPED_CATALOG,
    TINY_MODEL_ID,
    CatalogEditError,
    CatalogEntry,
    ModelCatalog,
    add_local_entry,
    load_catalog,
    local_catalog_path,
    markdown_table,
    remove_local_entry,
    shipped_entries,
)

__all__ = [
    "DIFFUSERS_MARKER",
    "LEONARDO_DEFAULT_MODEL_ID",
    "LOCAL_CATALOG_NAME",
    "SHIPPED_CATALOG",
    "TINY_MODEL_ID",
    "CatalogEditError",
    "CatalogEntry",
    "ModelCatalog",
    "add_local_entry",
    "load_catalog",
    "local_catalog_path",
    "markdown_table",
    "remove_local_entry",
    "shipped_entries",
]
