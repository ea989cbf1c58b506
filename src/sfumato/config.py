"""The one Settings object: built once per process, then passed down explicitly.

Values come from (highest first) explicit arguments, `SFUMATO_*` environment variables,
an optional TOML file named by `SFUMATO_CONFIG_FILE`, then the defaults below.
Only this module reads the environment.

Settings are grouped by concern (`settings.jobs`, `settings.engine`, ...) and each subsystem is
handed its group. Every setting also has one flat name, which is its environment variable
(`SFUMATO_<FLAT_NAME>`) and what `Settings(worker_threads=0)` and a flat TOML key take; a TOML
file may use either flat keys or one table per group (`[jobs]` `worker_threads = 0`).
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "SFUMATO_"


def _flat(name: str, flat_name: str, default: Any, **kwargs: Any) -> Any:
    """A group field whose flat name (env var, flat TOML key) differs from its name in the group."""
    return Field(default, validation_alias=AliasChoices(name, flat_name), **kwargs)


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ServerSettings(_Group):
    """The HTTP process: where it listens, how it names itself, what bodies it reads."""

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(
        None, description="Base URL used in image links; default: the URL the request came in on."
    )
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Larger request bodies get 413.")
    body_read_timeout_s: float = Field(
        30.0, gt=0, description="A request body that sends nothing for this long gets 408 and the connection closes."
    )


class DatabaseSettings(_Group):
    url: str | None = _flat("url", "database_url", None, description="SQLAlchemy URL; default: SQLite in data_dir.")
    busy_timeout_s: float = _flat(
        "busy_timeout_s",
        "database_busy_timeout_s",
        5.0,
        gt=0,
        description="How long a request waits for a busy database (SQLite's write lock, a PostgreSQL row "
        "lock, a pooled connection) before it is answered 503 with Retry-After.",
    )


class JobSettings(_Group):
    """The in-process worker and the queue's leases (docs/reliability.md)."""

    worker_threads: int = Field(1, ge=0, description="In-process workers; 0 = API only, no generation.")
    poll_interval_s: float = _flat("poll_interval_s", "job_poll_interval_s", 1.0, gt=0)
    lease_s: float = _flat(
        "lease_s", "job_lease_s", 600.0, gt=0, description="A RUNNING job whose lease lapsed is re-queued."
    )
    max_attempts: int = _flat(
        "max_attempts",
        "job_max_attempts",
        3,
        ge=1,
        description="Runs a job gets (pipeline failures and dead workers) before it ends FAILED.",
    )
    default_key_concurrency: int = Field(10, ge=1, description="Jobs of one key running at once, unless the key says.")
    worker_process: bool = Field(
        True,
        description="A server's worker runs in a child process the server starts and restarts if it dies (the API "
        "answers while a model runs); false: threads in the server process.",
    )


class QueueSettings(_Group):
    """What carries work to workers (docs/deploy.md): the database itself, or Celery on a broker. Either way
    the database's lease decides who runs a job; a message only says "look at job X"."""

    backend: Literal["local", "celery"] = _flat(
        "backend", "queue", "local", description="local: workers claim from the database; celery: a task per job."
    )
    broker_url: str | None = Field(
        None,
        pattern=r"^(amqp|amqps|pyamqp|redis|rediss)://",
        description="The Celery broker: amqp://guest:guest@127.0.0.1:5672// (RabbitMQ) or redis://127.0.0.1:6379/0.",
    )
    namespace: str = _flat(
        "namespace",
        "queue_namespace",
        "sfumato",
        pattern=r"^[A-Za-z0-9_-]{1,40}$",
        description="Queue names are <namespace>.<modelId>: deployments sharing one broker keep their work apart.",
    )
    resend_after_s: float = _flat(
        "resend_after_s",
        "queue_resend_after_s",
        60.0,
        gt=0,
        description="A QUEUED job whose last message is this old and missing from its queue (lost, purged) is sent "
        "again by a worker's sweep.",
    )
    visibility_timeout_s: float = _flat(
        "visibility_timeout_s",
        "broker_visibility_timeout_s",
        3600.0,
        gt=0,
        description="Redis only: an unacknowledged message is delivered again after this long; above the longest "
        "render (a copy that finds the job leased exits without running).",
    )

    @model_validator(mode="after")
    def _broker_for_celery(self) -> QueueSettings:
        if self.backend == "celery" and not self.broker_url:
            raise ValueError(
                "SFUMATO_QUEUE=celery needs SFUMATO_BROKER_URL: amqp://guest:guest@127.0.0.1:5672// or redis://..."
            )
        return self


class LimitSettings(_Group):
    """Per-key limits (docs/reliability.md): past either, POST /generations answers 429 + Retry-After."""

    queue_cap: int = _flat(
        "queue_cap", "key_queue_cap", 200, ge=1, description="Most unfinished (PENDING) generations one key may have."
    )
    rate_per_minute: int = _flat(
        "rate_per_minute",
        "key_rate_per_minute",
        100,
        ge=1,
        description="Most generations one key may create per rolling minute.",
    )


class UploadSettings(_Group):
    """Init-image uploads through the presigned form (docs/uploads.md)."""

    expiry_s: int = _flat(
        "expiry_s",
        "upload_expiry_s",
        120,
        ge=1,
        le=7 * 24 * 3600,
        description="An upload form is refused this long after POST /init-image made it (Leonardo's: 2 minutes).",
    )
    max_bytes: int = _flat(
        "max_bytes",
        "upload_max_bytes",
        20 * 1024 * 1024,
        ge=1024,
        description="A larger uploaded file gets 413.",
    )
    max_pixels: int = _flat(
        "max_pixels",
        "upload_max_pixels",
        4096 * 4096,
        ge=1,
        description="An uploaded image of more pixels (read from its header, before decoding) gets 400.",
    )
    fetch_urls: bool = _flat(
        "fetch_urls",
        "upload_fetch_urls",
        False,
        description="Let v2 image references name an http(s) URL, fetched by the server (public addresses only, "
        "upload_max_bytes at most, no redirects); off: only data: URLs and BASE64 (docs/v2.md).",
    )
    fetch_timeout_s: float = _flat(
        "fetch_timeout_s", "upload_fetch_timeout_s", 10.0, gt=0, description="A URL image not fetched by then: 400."
    )


class StorageSettings(_Group):
    """Where images, variations and init images live (docs/architecture.md "Storage"): the data dir, or an
    S3-compatible bucket; boto3 reads the standard AWS credential variables."""

    backend: Literal["local", "s3"] = _flat(
        "backend", "storage", "local", description="local: files under data_dir/images; s3: the bucket below."
    )
    s3_bucket: str | None = Field(None, min_length=3, description="The bucket (made beforehand); needed for s3.")
    s3_endpoint_url: str | None = Field(
        None, pattern=r"^https?://", description="An S3-compatible endpoint (MinIO, R2, moto); default: AWS."
    )
    s3_region: str | None = Field(None, description="The bucket's region; default: boto3's (AWS_DEFAULT_REGION).")
    s3_public_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="Image URLs are <this>/<key> (a public bucket or a CDN before it); unset: presigned GET URLs.",
    )
    s3_url_expiry_s: int = Field(
        7 * 24 * 3600,
        ge=1,
        le=7 * 24 * 3600,
        description="How long a presigned GET image URL works (S3's most: 7 days); a response made later "
        "carries a fresh one.",
    )

    @model_validator(mode="after")
    def _bucket_for_s3(self) -> StorageSettings:
        if self.backend == "s3" and not self.s3_bucket:
            raise ValueError("SFUMATO_STORAGE=s3 needs SFUMATO_S3_BUCKET: the bucket images go to")
        return self


class WebhookSettings(_Group):
    """Completion webhooks (docs/webhooks.md)."""

    backoff_scale: float = _flat(
        "backoff_scale",
        "webhook_backoff_scale",
        1.0,
        gt=0,
        description="Multiplies every retry delay; tests compress the ~24 h schedule to seconds.",
    )
    poll_interval_s: float = _flat(
        "poll_interval_s",
        "webhook_poll_interval_s",
        1.0,
        gt=0,
        description="How often the deliverer looks for due rows.",
    )
    timeout_s: float = _flat("timeout_s", "webhook_timeout_s", 15.0, gt=0, description="Per-attempt HTTP timeout.")


class EngineSettings(_Group):
    """How pipelines run on this machine (docs/performance.md)."""

    device: str = Field("auto", description="auto | cpu | cuda | cuda:N | mps")
    torch_threads: int | None = Field(None, ge=1, description="CPU threads for inference; default: torch's.")
    model_cache_device_bytes: int | None = Field(
        None, ge=1, description="Accelerator bytes of pipeline weights kept loaded; None = unbounded."
    )
    model_cache_host_bytes: int | None = Field(
        None, ge=1, description="Host-RAM bytes of pipeline weights kept loaded; None = unbounded."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto",
        description="Weights dtype; auto: bfloat16 on CUDA (else float16), float16 on MPS, float32 on CPU.",
    )
    memory_plan: Literal["auto", "none", "model_offload", "sequential_offload"] = Field(
        "auto", description='auto picks from free accelerator memory; see docs/performance.md "Memory plans".'
    )
    vae_tiling: Literal["auto", "on", "off"] = Field(
        "auto", description="VAE slicing+tiling for big images on small GPUs; auto turns it on with offload plans."
    )
    torch_compile: bool = Field(False, description="torch.compile the denoiser at load, with a warm-up render (CUDA).")
    fast_mode: Literal["off", "fp8"] = Field(
        "off",
        description="fp8: FP8 weights via torchao (CUDA, compute >= 8.9): faster, slightly different pictures.",
    )


class ModelSettings(_Group):
    """Which models exist (the catalog) and where absent weights come from (docs/models.md)."""

    catalog_file: Path | None = Field(None, description="Operator TOML overriding/extending the catalog.")
    allow_downloads: bool = Field(
        True,
        description="Fetch an absent model's weights from the hub on its first request (when the hub is reachable).",
    )
    hub_endpoint: str | None = Field(
        None, description="Hugging Face-compatible hub URL; default: HF_ENDPOINT, else huggingface.co."
    )
    commercial_only: bool = Field(
        False,
        description="Serve only commercially licensed models: each v2 slug, modelId and sd_version gets its row's "
        "commercial_model, else a 400 naming the model and its licence (docs/models.md).",
    )


class PriceSettings(_Group):
    """The credit price model, see docs/knobs.md "Cost"."""

    image_base: float = _flat("image_base", "price_image_base", 1.5, ge=0)
    per_megapixel: float = _flat("per_megapixel", "price_per_megapixel", 1.5, ge=0)
    # At least 1, and the others at least 0: a price never goes down as a request asks for more.
    alchemy_multiplier: float = _flat("alchemy_multiplier", "price_alchemy_multiplier", 2.5, ge=1)
    per_element: float = _flat(
        "per_element", "price_per_element", 0.5, ge=0, description="Credits per image per LoRA element."
    )
    per_guide: int = _flat(
        "per_guide", "price_per_guide", 1, ge=0, description="Credits per image per ControlNet or image reference."
    )
    api_token_allowance: int = Field(
        1_000_000, description="Reported by /me as the key's API tokens; Sfumato does not bill."
    )


class WebSettings(_Group):
    """The web page at `/` (docs: README "The web page"): optional, the API works without it."""

    ui: bool = _flat("ui", "web_ui", True, description="Serve the web page at / and its files at /static/.")


class LlmSettings(_Group):
    """The OpenAI-compatible chat-completions endpoint behind `enhancePrompt` and `/prompt/*` (docs/prompts.md)."""

    base_url: str | None = _flat(
        "base_url",
        "llm_base_url",
        None,
        pattern=r"^https?://",
        description="Endpoint base including /v1 (http://127.0.0.1:11434/v1); unset: the prompt features answer 400.",
    )
    model: str | None = _flat("model", "llm_model", None, description="The `model` sent with each chat completion.")
    api_key: str | None = _flat(
        "api_key", "llm_api_key", None, description="Sent as `Authorization: Bearer <key>` when set.", repr=False
    )
    timeout_s: float = _flat(
        "timeout_s", "llm_timeout_s", 30.0, gt=0, description="An answer not complete by then is a 504."
    )
    max_chars: int = _flat(
        "max_chars",
        "llm_max_chars",
        1500,
        ge=1,
        le=1500,
        description="A longer answer is cut to this many characters (Leonardo caps prompts at 1500).",
    )

    @model_validator(mode="after")
    def _model_with_endpoint(self) -> LlmSettings:
        if self.base_url is not None and not self.model:
            raise ValueError("SFUMATO_LLM_BASE_URL needs SFUMATO_LLM_MODEL too: the model the endpoint should run")
        return self


class OpenAISettings(_Group):
    """The OpenAI Images API door (`/v1/images/*`, `/v1/models`; docs/openai.md)."""

    enabled: bool = _flat("enabled", "openai_api", True, description="Serve the OpenAI Images API under /v1.")
    default_model: str = _flat(
        "default_model",
        "openai_default_model",
        "sfumato-tiny",
        min_length=1,
        description="The model (catalog id, v2 slug or alias) a request without `model` gets.",
    )
    model_aliases: dict[str, str] = _flat(
        "model_aliases",
        "openai_model_aliases",
        {},
        description='JSON object: OpenAI model names to a catalog id or v2 slug ({"dall-e-3": "sd-turbo"}).',
    )
    wait_s: float = _flat(
        "wait_s",
        "openai_wait_s",
        300.0,
        gt=0,
        description="How long a request waits for its generation; then a 504 names it (it still completes).",
    )

    @field_validator("model_aliases", mode="before")
    @classmethod
    def _aliases_from_json(cls, value: Any) -> Any:
        """The environment gives the aliases as a JSON string."""
        return json.loads(value) if isinstance(value, str) else value


class Settings(BaseSettings):
    """Everything a Sfumato process can be told; see README "Configuration"."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(Path("data"), description="SQLite file, images and built-in models live here.")
    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    uploads: UploadSettings = Field(default_factory=UploadSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    prices: PriceSettings = Field(default_factory=PriceSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @model_validator(mode="before")
    @classmethod
    def _group_flat_names(cls, data: Any) -> Any:
        """`worker_threads=0` (a flat name, as every source but a grouped TOML table gives it) lands in
        its group; an unknown name is left for `extra="forbid"` to refuse."""
        if not isinstance(data, dict):
            return data
        grouped: dict[str, Any] = {}
        for key, value in data.items():
            group, field = FLAT_NAMES.get(key, (None, key))
            if group is None:
                grouped[key] = value
                continue
            existing = grouped.get(group)
            merged = dict(existing) if isinstance(existing, dict) else {}
            merged[field] = value
            grouped[group] = merged
        return grouped

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [_Flattened(init_settings), _FlatEnvSource(settings_cls)]
        toml_file = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
        if toml_file:
            sources.append(_FlatTomlSource(settings_cls, Path(toml_file)))
        return tuple(sources)

    def as_environment(self) -> dict[str, str]:
        """These settings as `SFUMATO_*` variables, so a child process (the worker `serve` supervises)
        builds exactly them whatever the parent got from arguments, its environment or a file. Values
        left at None are omitted (None is every such setting's default)."""
        flat: dict[str, Any] = {"data_dir": str(self.data_dir.resolve())}
        for group in _GROUPS:
            values = getattr(self, group)
            for field, info in type(values).model_fields.items():
                flat[_flat_name(field, info)] = getattr(values, field)
        # Strings and paths as they are (a variable is read raw: JSON quotes would stay in the path).
        return {
            ENV_PREFIX + name.upper(): str(value) if isinstance(value, str | Path) else json.dumps(value)
            for name, value in flat.items()
            if value is not None
        }

    # Derived locations: one place decides the data-dir layout.
    @property
    def sqlalchemy_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir.resolve() / 'sfumato.db'}"

    @property
    def files_base_url(self) -> str:
        """Absolute base for image links where no request is at hand (webhook bodies)."""
        return (self.server.public_url or f"http://{self.server.host}:{self.server.port}").rstrip("/")

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def upload_secret_file(self) -> Path:
        """The key that signs upload forms: outside `images_dir`, which `/files/` serves."""
        return self.data_dir / "upload-signing.key"


_GROUPS: dict[str, type[_Group]] = {
    name: info.annotation
    for name, info in Settings.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, _Group)
}


def _flat_name(name: str, info: FieldInfo) -> str:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return next(str(choice) for choice in alias.choices if choice != name)
    return name


# flat name -> (group, field in the group); top-level fields map to (None, name).
FLAT_NAMES: dict[str, tuple[str | None, str]] = {
    "data_dir": (None, "data_dir"),
    **{
        _flat_name(field, info): (group, field)
        for group, model in _GROUPS.items()
        for field, info in model.model_fields.items()
    },
}


def env_name(location: tuple[str | int, ...]) -> str:
    """The environment variable of a setting, from a validation error's location (`("jobs", "lease_s")`)."""
    parts = [str(part) for part in location]
    if len(parts) >= 2 and parts[0] in _GROUPS:
        model = _GROUPS[parts[0]]
        info = model.model_fields.get(parts[1])
        flat = _flat_name(parts[1], info) if info is not None else parts[1]
        return ENV_PREFIX + flat.upper()
    return ENV_PREFIX + "_".join(parts).upper()


class _FlatEnvSource(PydanticBaseSettingsSource):
    """`SFUMATO_<FLAT_NAME>` variables (any case), as flat names for `_group_flat_names`."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every variable at once

    def __call__(self) -> dict[str, Any]:
        upper = {key.upper(): value for key, value in os.environ.items()}
        return {flat: upper[ENV_PREFIX + flat.upper()] for flat in FLAT_NAMES if ENV_PREFIX + flat.upper() in upper}


class _FlatTomlSource(PydanticBaseSettingsSource):
    """The TOML file: flat keys, or a table per group; tables are flattened so that every source
    merges by flat name (a flat env variable then overrides the file's grouped key)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file

    def __call__(self) -> dict[str, Any]:
        return _flatten(tomllib.loads(self.path.read_text(encoding="utf-8")))


class _Flattened(PydanticBaseSettingsSource):
    """Another source (the explicit arguments) with its group tables flattened like the TOML file's."""

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self.source = source

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ flattens the whole source

    def __call__(self) -> dict[str, Any]:
        return _flatten(self.source())


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    """`{"jobs": {"lease_s": 5}}` -> `{"job_lease_s": 5}`, so every source merges by flat name and the
    highest one wins per setting; an unknown field stays visible as `jobs.<field>` to be refused."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in _GROUPS and isinstance(value, dict):
            for field, field_value in value.items():
                info = _GROUPS[key].model_fields.get(field)
                flat[_flat_name(field, info) if info is not None else f"{key}.{field}"] = field_value
        else:
            flat[key] = value
    return flat
