"""A client for an OpenAI-compatible chat-completions endpoint: plain httpx, one system
instruction and one user text in, one cleaned answer out (docs/prompts.md).

Every way the endpoint can let a request down becomes Leonardo's error body with a 5xx status,
never a hang: an answer not complete within `timeout_s` (checked as it arrives; each wait to
connect or for more bytes is bounded by it too) is a 504, an endpoint that cannot be reached
(or says it is busy) a 503 with Retry-After, anything else unusable (an error status, a body
that is not a chat completion, an empty answer) a 502.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from sfumato.errors import BadGateway, GatewayTimeout, ServiceUnavailable

log = logging.getLogger(__name__)

# Retry-After for an endpoint that is down or busy: a hint, as a restarting local server takes seconds.
UNAVAILABLE_RETRY_AFTER_S = 5
# The most of an answer read: a chat completion of a prompt is a few kilobytes.
MAX_RESPONSE_BYTES = 1024 * 1024
# Reasoning models (DeepSeek-R1, Qwen3) may put their thinking before the answer.
_THINKING = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)


@dataclass(frozen=True)
class ChatClient:
    """`POST {base_url}/chat/completions` with `model`; `api_key` goes out as a bearer token when set."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    max_chars: int = 1500

    def complete(self, system: str, user: str, temperature: float = 0.7) -> str:
        """The assistant's answer, stripped of thinking, whitespace and wrapping quotes, cut to `max_chars`."""
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": temperature,
            # A token is about four characters: enough for a full-length prompt, bounded.
            "max_tokens": max(64, self.max_chars // 2),
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        status, raw = self._post(f"{self.base_url.rstrip('/')}/chat/completions", body, headers)
        if status in (429, 503):
            raise ServiceUnavailable(
                f"the LLM endpoint is busy (HTTP {status}); retry shortly", UNAVAILABLE_RETRY_AFTER_S
            )
        if not 200 <= status < 300:
            log.warning("LLM endpoint answered HTTP %d: %.300r", status, raw)
            raise BadGateway(f"the LLM endpoint answered HTTP {status}")
        return self._answer(raw)

    def _post(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, bytes]:
        """Status and body, read under one deadline for the whole exchange."""
        deadline = time.monotonic() + self.timeout_s
        try:
            with (
                httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client,
                client.stream("POST", url, json=body, headers=headers) as response,
            ):
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise BadGateway(f"the LLM endpoint's answer is larger than {MAX_RESPONSE_BYTES} bytes")
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("answer not complete in time")
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks)
        except httpx.TimeoutException:
            raise GatewayTimeout(f"the LLM endpoint did not answer within {self.timeout_s:g} s") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
            log.warning("LLM endpoint %s unreachable: %s", url, error)
            raise ServiceUnavailable(
                "the LLM endpoint cannot be reached; retry shortly", UNAVAILABLE_RETRY_AFTER_S
            ) from None
        except httpx.HTTPError as error:  # an unusable URL, a proxy error: the operator's to fix
            log.warning("LLM request to %s failed: %s", url, error)
            raise BadGateway(f"the request to the LLM endpoint failed ({type(error).__name__})") from None

    def _answer(self, raw: bytes) -> str:
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise BadGateway(
                "the LLM endpoint's answer is not a chat completion (no choices[0].message.content)"
            ) from None
        if not isinstance(content, str):
            raise BadGateway("the LLM endpoint's answer has no text content")
        text = _THINKING.sub("", content).strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            text = text[1:-1].strip()
        text = text[: self.max_chars].strip()
        if not text:
            raise BadGateway("the LLM endpoint answered with an empty prompt")
        return text
