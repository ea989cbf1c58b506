"""Prompt help by an LLM: `enhancePrompt` at POST /generations, `POST /prompt/improve` and
`POST /prompt/random` (docs/prompts.md). Without an LLM configured each is a 400 that names the
settings to set; the client (`llm.py`) turns the LLM's failures into 502/503/504."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sfumato.config import LlmSettings
from sfumato.errors import ClientError
from sfumato.service.llm import ChatClient

# Leonardo's price of a prompt from /prompt/improve or /prompt/random (the SDK's documented default).
PROMPT_CREDITS = 4

_IMAGE_RULES = (
    "Answer with the prompt only: one paragraph of plain text, no title, no quotes, no preamble, "
    "at most 1500 characters."
)
ENHANCE_INSTRUCTION = (
    "You rewrite prompts for a text-to-image model. Keep the subject and intent of the user's prompt "
    "and make it vivid and specific: subject details, setting, composition, lighting, colours, style "
    "and medium. " + _IMAGE_RULES
)
VIDEO_INSTRUCTION = (
    "You rewrite prompts for a text-to-video model. Keep the subject and intent of the user's prompt and "
    "describe the scene, the motion, the camera movement, lighting and style. " + _IMAGE_RULES
)
RANDOM_INSTRUCTION = (
    "You invent prompts for a text-to-image model. Write one original, concrete image prompt on a subject "
    "of your own choosing: subject, setting, lighting, style and medium. " + _IMAGE_RULES
)
# Subjects to start from, so that an endpoint which caches identical requests still varies.
_THEMES = ("an animal", "a city", "a landscape", "a person", "an object", "a machine", "food", "architecture",
           "the sea", "space", "a plant", "a festival", "weather", "a fantasy creature", "an interior")  # fmt: skip


def _with_instruction(system: str, instruction: str | None) -> str:
    if instruction is None or not instruction.strip():
        return system
    return f"{system}\nAlso follow the user's instruction for the rewrite: {instruction.strip()}"


@dataclass(frozen=True)
class PromptService:
    """Prompts written by the configured LLM; `llm` is None when no endpoint is set."""

    llm: ChatClient | None

    @classmethod
    def from_settings(cls, settings: LlmSettings) -> PromptService:
        if settings.base_url is None or settings.model is None:
            return cls(None)
        return cls(ChatClient(settings.base_url, settings.model, settings.api_key, settings.timeout_s,
                              settings.max_chars))  # fmt: skip

    def _client(self, what: str, path: str) -> ChatClient:
        if self.llm is None:
            raise ClientError(
                f"{what} needs an LLM and none is configured on this server: set SFUMATO_LLM_BASE_URL "
                "(an OpenAI-compatible endpoint, with its /v1) and SFUMATO_LLM_MODEL (docs/prompts.md)",
                path,
            )
        return self.llm

    def enhance(self, prompt: str, instruction: str | None, path: str) -> str:
        """`enhancePrompt`: the generation's prompt rewritten, following `enhancePromptInstruction`."""
        return self._client("enhancePrompt", path).complete(_with_instruction(ENHANCE_INSTRUCTION, instruction), prompt)

    def improve(self, prompt: str, instruction: str | None, video: bool) -> str:
        """`POST /prompt/improve`: as `enhance`, for an image prompt or (`isVideo`) a video one."""
        system = VIDEO_INSTRUCTION if video else ENHANCE_INSTRUCTION
        return self._client("POST /prompt/improve", "$").complete(_with_instruction(system, instruction), prompt)

    def random(self) -> str:
        """`POST /prompt/random`: a new prompt, on a theme drawn here so repeated calls differ."""
        theme = secrets.choice(_THEMES)
        return self._client("POST /prompt/random", "$").complete(
            RANDOM_INSTRUCTION, f"Write one random image prompt. Start from this theme: {theme}.", temperature=1.0
        )
