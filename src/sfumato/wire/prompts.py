"""`POST /prompt/improve` and `POST /prompt/random`: Leonardo's names (the official SDK's
`prompt_improve` / `prompt_random` models), strict types, and the `promptGeneration` answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import StrictBool

from sfumato.domain.generation import MAX_PROMPT_CHARS, is_blank
from sfumato.errors import ClientError
from sfumato.wire.generation_response import cost_to_wire
from sfumato.wire.types import StrictBody, Text, validated_body

IMPROVE_ARGS_PATH = "$.selectionSet.promptImprove.args.arg1"
RANDOM_ARGS_PATH = "$.selectionSet.promptRandom.args.arg1"


class PromptImproveBody(StrictBody):
    prompt: Text
    isVideo: StrictBool | None = None
    promptInstructions: Text | None = None


class PromptRandomBody(StrictBody):
    """The SDK sends no body; an empty object is taken too, any key is unexpected."""


@dataclass(frozen=True)
class ImproveRequest:
    prompt: str
    instruction: str | None
    video: bool


def parse_prompt_improve(payload: Any) -> ImproveRequest:
    body = validated_body(PromptImproveBody, payload, IMPROVE_ARGS_PATH)
    if is_blank(body.prompt):
        raise ClientError("prompt must not be empty (it has no visible characters)", f"{IMPROVE_ARGS_PATH}.prompt")
    for field, text in (("prompt", body.prompt), ("promptInstructions", body.promptInstructions or "")):
        if len(text) > MAX_PROMPT_CHARS:
            raise ClientError(
                f"Invalid {field}, maximum length of {MAX_PROMPT_CHARS} characters exceeded.",
                f"{IMPROVE_ARGS_PATH}.{field}",
            )
    return ImproveRequest(body.prompt, body.promptInstructions, bool(body.isVideo))


def parse_prompt_random(payload: Any | None) -> None:
    """Refuse a body with any key (`None`: no body, as the SDK sends)."""
    if payload is not None:
        validated_body(PromptRandomBody, payload, RANDOM_ARGS_PATH)


def prompt_generation(prompt: str, credits: int) -> dict[str, Any]:
    """Both routes' answer: the prompt and what it cost."""
    return {"promptGeneration": {"prompt": prompt, "apiCreditCost": credits, "cost": cost_to_wire(credits)}}
