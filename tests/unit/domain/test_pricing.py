"""The price model: more of anything never costs less, and the calculator quotes what is charged."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sfumato.config import PriceSettings
from sfumato.domain.pricing import GenerationQuote, PriceModel, UpscalerQuote, quoted_credits, variation_credits
from sfumato.domain.variations import TransformType

_DEFAULTS = PriceSettings()
PRICES = PriceModel(
    image_base=_DEFAULTS.image_base,
    per_megapixel=_DEFAULTS.per_megapixel,
    alchemy_multiplier=_DEFAULTS.alchemy_multiplier,
    per_element=_DEFAULTS.per_element,
    per_guide=_DEFAULTS.per_guide,
)
sizes = st.integers(4, 192).map(lambda n: n * 8)
requests = st.fixed_dictionaries({
    "width": sizes, "height": sizes, "num_images": st.integers(1, 8), "alchemy": st.booleans(),
    "elements": st.integers(0, 5), "guides": st.integers(0, 4),
    "second_pass": st.one_of(st.none(), st.tuples(sizes, sizes)),
})  # fmt: skip
models = st.builds(
    PriceModel,
    image_base=st.floats(0, 10),
    per_megapixel=st.floats(0, 10),
    alchemy_multiplier=st.floats(1, 5),
    per_element=st.floats(0, 5),
    per_guide=st.integers(0, 5),
)


@settings(max_examples=200, deadline=None)
@given(prices=models, request=requests, knob=st.sampled_from(["width", "height", "num_images", "alchemy", "elements",
                                                              "guides", "second_pass"]))  # fmt: skip
def test_asking_for_more_never_costs_less(prices: PriceModel, request: dict[str, Any], knob: str) -> None:
    more = dict(request)
    value = request[knob]
    if knob == "alchemy":
        more[knob] = True
    elif knob == "second_pass":
        more[knob] = (request["width"], request["height"]) if value is None else (value[0] + 8, value[1])
    else:
        assert isinstance(value, int)
        more[knob] = value + (8 if knob in ("width", "height") else 1)
    assert prices.credits(**more) >= prices.credits(**request) >= 0


@given(request=requests)
def test_the_calculator_quotes_what_a_generation_is_charged(request: dict[str, Any]) -> None:
    quote = GenerationQuote(
        width=request["width"], height=request["height"], num_images=request["num_images"],
        alchemy=request["alchemy"], elements=request["elements"], second_pass=request["second_pass"],
        guides_cost=PRICES.guides_credits(request["guides"], request["num_images"]),
    )  # fmt: skip
    assert quoted_credits(PRICES, quote) == PRICES.credits(**request)


def test_the_defaults_keep_the_documented_prices() -> None:
    assert PRICES.credits(width=512, height=512, num_images=4, alchemy=False) == 8
    assert PRICES.credits(width=1024, height=1024, num_images=4, alchemy=True) == 31
    assert PRICES.credits(width=512, height=512, num_images=4, alchemy=False, elements=1, guides=1) == 14
    assert PRICES.credits(width=512, height=512, num_images=1, alchemy=False, second_pass=(1024, 1024)) == 4


def test_the_upscaler_quote_is_the_variations_price() -> None:
    assert quoted_credits(PRICES, UpscalerQuote(2.0)) == variation_credits(
        TransformType.UPSCALE, universal_output=(2000, 1000)
    )
