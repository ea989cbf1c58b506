"""What a model's licence lets an operator do, and the commercial-only refusal.

Each catalog row names its licence (`license`, a Hugging Face licence tag) and whether the hub gates
its download (`gated`). Whether a licence allows commercial use is read from `LICENSES` below, one
home for that judgement: a licence not listed there counts as non-commercial, so an operator row
without a `license` key is refused under `SFUMATO_COMMERCIAL_ONLY` until its licence is written down.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfumato.errors import ClientError

UNKNOWN_LICENSE = "unknown"


@dataclass(frozen=True)
class LicenseTerms:
    """One licence: its name for people and whether images made with it may be sold."""

    title: str
    commercial: bool


# Licence tag -> terms. Commercial = a business may use the model's pictures without another
# agreement (use-based restrictions such as OpenRAIL's still apply).
LICENSES: dict[str, LicenseTerms] = {
    "apache-2.0": LicenseTerms("Apache 2.0", commercial=True),
    "mit": LicenseTerms("MIT", commercial=True),
    "creativeml-openrail-m": LicenseTerms("CreativeML OpenRAIL-M", commercial=True),
    "openrail++": LicenseTerms("CreativeML OpenRAIL++-M", commercial=True),
    "faipl-1.0-sd": LicenseTerms("Fair AI Public License 1.0-SD", commercial=True),
    "flux-1-dev-non-commercial-license": LicenseTerms("FLUX.1 [dev] Non-Commercial License", commercial=False),
    "flux-non-commercial-license": LicenseTerms("FLUX Non-Commercial License (FLUX.2)", commercial=False),
    "stabilityai-ai-community": LicenseTerms(
        "Stability AI Community License (commercial only under USD 1M revenue)", commercial=False
    ),
    "sai-nc-community": LicenseTerms("Stability AI Non-Commercial Research Community License", commercial=False),
    "ideogram-4-non-commercial": LicenseTerms("Ideogram 4 Non-Commercial Model Agreement", commercial=False),
    UNKNOWN_LICENSE: LicenseTerms("not stated in the catalog", commercial=False),
}


def terms_of(license_tag: str) -> LicenseTerms:
    """The terms of `license_tag`; an unlisted licence is not assumed commercial."""
    return LICENSES.get(license_tag.lower(), LicenseTerms(license_tag, commercial=False))


@dataclass(frozen=True)
class Licensing:
    """A row's licence, gating and commercial stand-in (`commercial_model`: the id of the `[[model]]`
    row that serves this row's requests when the server is commercial-only)."""

    license: str = UNKNOWN_LICENSE
    gated: bool = False
    commercial_model: str | None = None

    @property
    def commercial(self) -> bool:
        return terms_of(self.license).commercial


class CommercialUseRefused(ClientError):
    """`SFUMATO_COMMERCIAL_ONLY` is on and the model asked for is not commercially usable (nor has a
    stand-in that is). A 400 at `$` unless the caller names its field with `at`."""

    def at(self, path: str) -> CommercialUseRefused:
        return CommercialUseRefused(self.message, path)
