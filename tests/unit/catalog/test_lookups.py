"""Look-ups: model ids, sd_version fallbacks, Leonardo's default, and operator rows on top."""

from __future__ import annotations

from sfumato.catalog import LEONARDO_DEFAULT_MODEL_ID, TINY_MODEL_ID, ModelCatalog
from sfumato.wire.enums import SdVersion


def test_catalog_resolves_ids_and_fallbacks() -> None:
    catalog = ModelCatalog.load()
    assert catalog.resolve(None, None).id == LEONARDO_DEFAULT_MODEL_ID  # type: ignore[union-attr]
    assert catalog.resolve(TINY_MODEL_ID, "v2").id == TINY_MODEL_ID  # type: ignore[union-attr]
    fallback = catalog.resolve(None, "FLUX")
    assert fallback is not None and fallback.id is None and fallback.family == "flux"
    assert catalog.resolve_key(catalog.key_of(fallback)) == fallback
    assert catalog.resolve("nope", None) is None
    # Only enum values the SDKs know are emitted; KINO_2_0 is missing from Python SDK 6.x.
    emitted = {e.face.sd_version for e in [*catalog.models.values(), *catalog.fallbacks.values()]}
    assert emitted <= set(SdVersion.__args__) - {"KINO_2_0"}


def test_operator_catalog_overrides_and_extends(tmp_path) -> None:  # type: ignore[no-untyped-def]
    extra = tmp_path / "mine.toml"
    extra.write_text(
        f'[[model]]\nid = "{TINY_MODEL_ID}"\nname = "Renamed Tiny"\nfamily = "sd15"\nbuiltin = "tiny"\n'
        'sd_version = "v1_5"\nnative_width = 64\nnative_height = 64\ndefault_steps = 12\ndefault_guidance = 5.0\n'
        '[[model]]\nid = "0d9b3a52-4c1f-4b8e-9a3f-2e1d0c9b8a7f"\nname = "My SD"\nfamily = "sd15"\npath = "/m/sd"\n'
        'sd_version = "v1_5"\nnative_width = 512\nnative_height = 512\ndefault_steps = 30\ndefault_guidance = 7.0\n'
    )
    catalog = ModelCatalog.load(extra)
    assert catalog.get(TINY_MODEL_ID).name == "Renamed Tiny"  # type: ignore[union-attr]
    mine = catalog.get("0d9b3a52-4c1f-4b8e-9a3f-2e1d0c9b8a7f")
    assert mine is not None and str(mine.weights.weights_dir(tmp_path)) == "/m/sd"
