"""The chat-completions client and the prompt service against a fake OpenAI-compatible server on
loopback: what goes out on the wire, and each way the endpoint can fail as its 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sfumato.config import Settings
from sfumato.errors import BadGateway, ClientError, GatewayTimeout, ServiceUnavailable
from sfumato.service.llm import ChatClient
from sfumato.service.prompts import ENHANCE_INSTRUCTION, RANDOM_INSTRUCTION, VIDEO_INSTRUCTION, PromptService
from tests.support.fake_llm import FakeLlm, marked
from tests.support.server import free_port


@pytest.fixture
def llm() -> Iterator[FakeLlm]:
    with FakeLlm().running() as fake:
        yield fake


def _service(fake: FakeLlm, **settings: object) -> PromptService:
    return PromptService.from_settings(
        Settings(llm_base_url=fake.base_url, llm_model="tiny-chat", llm_api_key="sk-local", **settings).llm
    )


def test_enhance_posts_a_chat_completion_with_the_key_model_and_messages(llm: FakeLlm) -> None:
    answer = _service(llm).enhance("a red fox", "make it wintry", "$.enhancePrompt")

    assert answer == marked("a red fox")
    (request,) = llm.received
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-local"
    assert request.body["model"] == "tiny-chat"
    system, user = request.messages
    assert system["role"] == "system" and system["content"].startswith(ENHANCE_INSTRUCTION)
    assert "make it wintry" in system["content"]
    assert user == {"role": "user", "content": "a red fox"}


def test_improve_for_video_and_random_use_their_own_instructions(llm: FakeLlm) -> None:
    service = _service(llm)
    service.improve("a wave", None, video=True)
    random_prompt = service.random()

    improve, random_request = llm.received
    assert improve.messages[0]["content"] == VIDEO_INSTRUCTION
    assert random_request.messages[0]["content"] == RANDOM_INSTRUCTION
    assert random_prompt == marked(random_request.messages[1]["content"])


def test_no_key_sends_no_authorization(llm: FakeLlm) -> None:
    ChatClient(llm.base_url, "m").complete("system", "user")
    assert "authorization" not in llm.received[0].headers


def test_the_answer_is_cleaned_and_capped(llm: FakeLlm) -> None:
    llm.reply = '<think>the user wants a fox</think>\n  "' + "fox " * 600 + '"  '
    answer = _service(llm, llm_max_chars=100).enhance("fox", None, "$")
    assert answer == ("fox " * 25).strip()


@pytest.mark.parametrize(
    ("mode", "error", "status"),
    [("error", BadGateway, 502), ("garbage", BadGateway, 502), ("empty", BadGateway, 502),
     ("busy", ServiceUnavailable, 503)],
)  # fmt: skip
def test_an_unusable_answer_is_a_5xx(llm: FakeLlm, mode: str, error: type[Exception], status: int) -> None:
    llm.mode = mode  # type: ignore[assignment]
    with pytest.raises(error) as raised:
        _service(llm).enhance("fox", None, "$")
    assert raised.value.status == status  # type: ignore[attr-defined]


def test_a_late_answer_is_a_504_at_the_timeout(llm: FakeLlm) -> None:
    llm.mode, llm.delay_s = "slow", 2.0
    with pytest.raises(GatewayTimeout, match=r"0\.3 s"):
        _service(llm, llm_timeout_s=0.3).random()


def test_an_unreachable_endpoint_is_a_503_with_retry_after() -> None:
    client = ChatClient(f"http://127.0.0.1:{free_port()}/v1", "m", timeout_s=5)
    with pytest.raises(ServiceUnavailable) as raised:
        client.complete("system", "user")
    assert raised.value.status == 503 and "Retry-After" in raised.value.headers


def test_without_an_endpoint_each_feature_is_a_400_naming_the_settings() -> None:
    service = PromptService.from_settings(Settings().llm)
    with pytest.raises(ClientError, match="SFUMATO_LLM_BASE_URL") as raised:
        service.enhance("fox", None, "$.selectionSet.sdGenerationJob.args.arg1.enhancePrompt")
    assert raised.value.path.endswith("enhancePrompt") and "enhancePrompt" in raised.value.message
    with pytest.raises(ClientError, match="POST /prompt/random"):
        service.random()


def test_settings_refuse_an_endpoint_without_a_model_or_a_scheme() -> None:
    with pytest.raises(ValueError, match="needs SFUMATO_LLM_MODEL"):
        Settings(llm_base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ValueError, match="https"):
        Settings(llm_base_url="127.0.0.1:1/v1", llm_model="m")
    assert "sk-secret" not in repr(Settings(llm_base_url="http://h/v1", llm_model="m", llm_api_key="sk-secret"))
