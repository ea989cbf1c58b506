"""The model catalog, readable by every layer: which open-weight model serves each Leonardo model id.

`entries` holds the entry types and the row format, `model_catalog` loading and look-ups,
`local_file` the edits of `catalog.local.toml`, `docs_table` the table of docs/models.md.
"""

from sfumato.catalog.aux_entries import (
    AUX_KINDS,
    AuxEntry,
    AuxFace,
    AuxWeights,
    BackgroundRemoverEntry,
    ControlNetEntry,
    DepthEstimatorEntry,
    PoseEstimatorEntry,
    SafetyCheckerEntry,
    UpscalerEntry,
    in_use,
)
from sfumato.catalog.docs_table import markdown_table, slug_table
from sfumato.catalog.elements import BASE_MODEL_FAMILIES, ElementEntry
from sfumato.catalog.entries import (
    DIFFUSERS_MARKER,
    CatalogEntry,
    CatalogFormatError,
    LeonardoFace,
    QualityDefaults,
    WeightsSpec,
)
from sfumato.catalog.ip_adapters import IpAdapterEntry
from sfumato.catalog.licences import LICENSES, CommercialUseRefused, Licensing, terms_of
from sfumato.catalog.local_file import CatalogEditError, add_local_entry, remove_local_entry
from sfumato.catalog.model_catalog import (
    CPU_FRIENDLY_SLUG,
    LEONARDO_DEFAULT_MODEL_ID,
    LOCAL_CATALOG_NAME,
    SHIPPED_CATALOG,
    TINY_MODEL_ID,
    ModelCatalog,
    load_catalog,
    local_catalog_path,
    shipped_entries,
)
from sfumato.catalog.slugs import SlugEntry

__all__ = [
    "AUX_KINDS",
    "BASE_MODEL_FAMILIES",
    "CPU_FRIENDLY_SLUG",
    "DIFFUSERS_MARKER",
    "LEONARDO_DEFAULT_MODEL_ID",
    "LICENSES",
    "LOCAL_CATALOG_NAME",
    "SHIPPED_CATALOG",
    "TINY_MODEL_ID",
    "AuxEntry",
    "AuxFace",
    "AuxWeights",
    "BackgroundRemoverEntry",
    "CatalogEditError",
    "CatalogEntry",
    "CatalogFormatError",
    "CommercialUseRefused",
    "ControlNetEntry",
    "DepthEstimatorEntry",
    "ElementEntry",
    "IpAdapterEntry",
    "LeonardoFace",
    "Licensing",
    "ModelCatalog",
    "PoseEstimatorEntry",
    "QualityDefaults",
    "SafetyCheckerEntry",
    "SlugEntry",
    "UpscalerEntry",
    "WeightsSpec",
    "add_local_entry",
    "in_use",
    "load_catalog",
    "local_catalog_path",
    "markdown_table",
    "remove_local_entry",
    "shipped_entries",
    "slug_table",
    "terms_of",
]
