"""Leonardo v2 slugs resolve to catalog rows; every row states its licence; commercial-only gives
each slug, modelId and sd_version a commercially usable row or refuses it by name."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from sfumato.catalog import (
    LEONARDO_DEFAULT_MODEL_ID,
    LICENSES,
    SHIPPED_CATALOG,
    TINY_MODEL_ID,
    CatalogEditError,
    CatalogEntry,
    CatalogFormatError,
    CommercialUseRefused,
    ModelCatalog,
    UpscalerEntry,
    add_local_entry,
)
from sfumato.domain.generation import GenerationRequest
from sfumato.domain.views import Principal
from sfumato.errors import GENERATION_ARGS_PATH
from sfumato.service.generations import GenerationService

PLAIN = ModelCatalog.load()
COMMERCIAL = ModelCatalog.load(commercial_only=True)

# The slugs issue #13 names; the shipped [[slug]] table must serve each of them.
NAMED_SLUGS = [
    "sfumato-tiny", "flux-pro-2.0", "flux-dev", "flux-schnell", "flux-kontext-pro", "flux-kontext-max",
    "phoenix-v1.0", "phoenix-v0.9", "lucid-origin", "lucid-realism", "lightning-xl", "kino-xl", "anime-xl",
    "gemini-2.5-flash-image", "gemini-image-2", "nano-banana-2", "nano-banana-2-lite", "gpt-image-1.5",
    "gpt-image-2", "seedream-4.0", "seedream-4.5", "ideogram-v3.0", "sd-turbo",
]  # fmt: skip
FLUX2_DEV, KLEIN_4B = "4713e76c-3640-4f29-b300-10f266a8c6c0", "7a55c4b6-cfbd-4f2a-b31b-863fd062c270"
QWEN_IMAGE, QWEN_EDIT_PLUS = "84fd4aa9-a043-4cec-bee6-06c5e5ff5955", "69900a2c-e997-4a56-b32d-b7f777eff41b"
SD_TURBO = "865a9620-40a6-4ad7-8be4-726f6bc4fe8e"


def _reference_counts(catalog: ModelCatalog, slug: str) -> list[int]:
    """No reference, one, and one more than the reference model takes (where the row says)."""
    limit = catalog.slugs[slug].reference_limit
    return [0, 1] + ([limit + 1] if limit is not None else [])


def test_every_named_slug_is_served_and_listed() -> None:
    assert set(NAMED_SLUGS) <= set(PLAIN.slug_names())
    assert PLAIN.slug_names() == sorted(PLAIN.slugs)
    assert PLAIN.for_slug("no-such-slug") is None


@pytest.mark.parametrize("slug", PLAIN.slug_names())
def test_a_slug_resolves_to_a_catalog_row_with_and_without_references(slug: str) -> None:
    for count in _reference_counts(PLAIN, slug):
        entry = PLAIN.for_slug(slug, references=count)
        assert entry is not None and entry.id is not None
        assert PLAIN.get(entry.id) is entry


def test_the_mapping_serves_the_issues_choices() -> None:
    def served(slug: str, references: int = 0) -> str | None:
        entry = PLAIN.for_slug(slug, references)
        return None if entry is None else entry.id

    assert served("sfumato-tiny") == TINY_MODEL_ID
    assert served("flux-pro-2.0") == served("flux-pro-2.0", 4) == FLUX2_DEV
    # Nano Banana: Qwen-Image for text only, Edit Plus with references, FLUX.2 beyond what Edit Plus takes.
    assert [served("nano-banana-2", n) for n in (0, 1, 3, 4)] == [QWEN_IMAGE, QWEN_EDIT_PLUS, QWEN_EDIT_PLUS, FLUX2_DEV]
    assert served("gpt-image-2") == QWEN_IMAGE
    assert served("sd-turbo") == SD_TURBO
    ideogram = PLAIN.for_slug("ideogram-v3.0")
    assert ideogram is not None and ideogram.family == "ideogram4" and ideogram.licensing.gated
    # The v1 UUIDs of Phoenix and Lucid and their slugs are the same rows.
    assert served("phoenix-v1.0") == "de7d3faf-762f-48e0-b3b7-9d0ac3a3fcf3"
    assert served("lucid-origin") == "7b592283-e8a7-4c5a-9ba6-d18c31f258b9"
    assert served("lightning-xl") == LEONARDO_DEFAULT_MODEL_ID


def test_every_shipped_model_and_fallback_row_states_its_licence_and_gating() -> None:
    data = tomllib.loads(SHIPPED_CATALOG.read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = data["model"] + data["fallback"]
    lacking = [row["name"] for row in rows if not ({"license", "gated"} <= row.keys())]
    assert lacking == []
    assert {row["license"] for row in rows} <= LICENSES.keys()
    assert isinstance(PLAIN.get(FLUX2_DEV), CatalogEntry)
    dev = PLAIN.get(FLUX2_DEV)
    assert dev is not None and dev.licensing.gated and not dev.licensing.commercial
    klein = PLAIN.get(KLEIN_4B)
    assert klein is not None and klein.licensing.commercial and not klein.licensing.gated


def _commercial_or_refused(resolve: Any) -> CatalogEntry | str:
    try:
        entry = resolve()
    except CommercialUseRefused as refusal:
        return refusal.message
    assert entry is not None
    return entry


def test_commercial_only_serves_every_slug_id_and_sd_version_commercially_or_refuses_by_name() -> None:
    lookups = [
        (slug, lambda slug=slug, n=n: COMMERCIAL.for_slug(slug, references=n))
        for slug in COMMERCIAL.slug_names()
        for n in _reference_counts(COMMERCIAL, slug)
    ]
    lookups += [(model_id, lambda i=model_id: COMMERCIAL.resolve(i, None)) for model_id in COMMERCIAL.models]
    lookups += [(version, lambda v=version: COMMERCIAL.resolve(None, v)) for version in COMMERCIAL.fallbacks]
    lookups.append(("no modelId", lambda: COMMERCIAL.resolve(None, None)))
    refused = []
    for name, resolve in lookups:
        outcome = _commercial_or_refused(resolve)
        if isinstance(outcome, str):
            refused.append(name)
            assert "SFUMATO_COMMERCIAL_ONLY" in outcome and "does not allow commercial use" in outcome
        else:
            assert outcome.licensing.commercial, name
    # Only SD-Turbo (non-commercial, no stand-in) is refused among the shipped rows.
    assert set(refused) == {"sd-turbo", SD_TURBO}
    flux_dev = PLAIN.for_slug("flux-pro-2.0")
    assert flux_dev is not None and not flux_dev.licensing.commercial
    stand_in = COMMERCIAL.for_slug("flux-pro-2.0")
    assert stand_in is not None and stand_in.id == KLEIN_4B
    with pytest.raises(CommercialUseRefused, match=r"SD-Turbo.*stabilityai/sd-turbo.*Non-Commercial Research"):
        COMMERCIAL.for_slug("sd-turbo")


def test_commercial_only_refusal_at_post_names_the_modelid() -> None:
    unused: Any = None  # the refusal comes before the engine, the store or the blobs are asked anything
    service = GenerationService(unused, COMMERCIAL, unused, unused, unused, lambda: None)
    key = Principal(key_id="k", user_id="u", concurrency=1)
    with pytest.raises(CommercialUseRefused) as refused:
        service.create(key, GenerationRequest(prompt="a fox", model_id=SD_TURBO))
    assert refused.value.status == 400 and refused.value.path == f"{GENERATION_ARGS_PATH}.modelId"
    assert "SD-Turbo" in refused.value.message and "commercial" in refused.value.message


def _load(tmp_path: Path, text: str) -> ModelCatalog:
    operator = tmp_path / "operator.toml"
    operator.write_text(text, encoding="utf-8")
    return ModelCatalog.load(operator)


ROW = """
[[model]]
id = "0d9b3a52-4c1f-4b8e-9a3f-2e1d0c9b8a7f"
name = "Not yet runnable"
family = "a-family-of-the-future"
repo = "example/future"
sd_version = "v1_5"
native_width = 512
native_height = 512
default_steps = 4
default_guidance = 1.0
"""


def test_operator_slugs_and_rows_of_unregistered_families_load(tmp_path: Path) -> None:
    """A row of a family the engine does not run yet still loads (POST refuses it); a slug may name it.
    A row without `license` counts as non-commercial."""
    catalog = _load(tmp_path, ROW + '\n[[slug]]\nslug = "future"\nmodel = "0d9b3a52-4c1f-4b8e-9a3f-2e1d0c9b8a7f"\n')
    entry = catalog.for_slug("future")
    assert entry is not None and entry.family == "a-family-of-the-future"
    assert entry.licensing.license == "unknown" and not entry.licensing.commercial


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[slug]]\nslug = "x"\nmodel = "00000000-0000-4000-8000-000000000000"\n', "no \\[\\[model\\]\\] row"),
        (f'[[slug]]\nslug = "x"\nmodel = "{TINY_MODEL_ID}"\nreference_modle = "y"\n', "did you mean 'reference_model'"),
        (f'[[slug]]\nslug = "x"\nmodel = "{TINY_MODEL_ID}"\noverflow_model = "{TINY_MODEL_ID}"\n', "go together"),
        (ROW + 'commercial_model = "00000000-0000-4000-8000-000000000000"\n', "commercial_model names"),
    ],
)
def test_a_slug_or_stand_in_naming_no_row_is_refused_at_load(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CatalogFormatError, match=message):
        _load(tmp_path, text)


def test_an_auxiliary_model_may_not_take_a_slugs_name(tmp_path: Path) -> None:
    """`models pull NAME` takes slugs and auxiliary ids alike: `models add --kind` keeps them apart."""
    row = {"id": "flux-pro-2.0", "name": "Squatter", "path": str(tmp_path / "x.pth"), "scale": 4}
    with pytest.raises(CatalogEditError, match="is a v2 model slug"):
        add_local_entry(tmp_path / "catalog.local.toml", UpscalerEntry.from_row(row, where="test"), PLAIN)
