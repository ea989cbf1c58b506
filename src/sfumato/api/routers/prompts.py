"""`/prompt/improve` and `/prompt/random`: prompts written by the configured LLM (docs/prompts.md)."""

from __future__ import annotations

from fastapi import APIRouter

from sfumato.api.deps import ContainerDep, JsonBody, KeyDep, OptionalJsonBody
from sfumato.api.responses import LeonardoJSON
from sfumato.service.prompts import PROMPT_CREDITS
from sfumato.wire.prompts import parse_prompt_improve, parse_prompt_random, prompt_generation

router = APIRouter(tags=["prompts"])


# `key` before `payload` in each: an unauthenticated caller is refused before its body is read.
@router.post("/prompt/improve")
def improve_prompt(key: KeyDep, payload: JsonBody, container: ContainerDep) -> LeonardoJSON:
    request = parse_prompt_improve(payload)
    prompt = container.prompts.improve(request.prompt, request.instruction, request.video)
    return LeonardoJSON(prompt_generation(prompt, PROMPT_CREDITS))


@router.post("/prompt/random")
def random_prompt(key: KeyDep, payload: OptionalJsonBody, container: ContainerDep) -> LeonardoJSON:
    parse_prompt_random(payload)
    return LeonardoJSON(prompt_generation(container.prompts.random(), PROMPT_CREDITS))
