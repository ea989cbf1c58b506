"""The one Settings object: built once per process, then passed down explicitly.

Values come from (highest first) explicit arguments, `SFUMATO_*` environment variables,
an optional TOML file named by `SFUMATO_CONFIG_FILE`, then the defaults below.
Only this module reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Everything a Sfumato process can be told; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="SFUMATO_", extra="forbid")

    data_dir: Path = Field(Path("data"), description="SQLite file, images and built-in models live here.")
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite in data_dir.")
    database_busy_timeout_s: float = Field(
        5.0,
        gt=0,
        description="How long a request waits for a busy database (SQLite's write lock, a PostgreSQL row "
        "lock, a pooled connection) before it is answered 503 with Retry-After.",
    )
    public_url: str | None = Field(
        None, description="Base URL used in image links; default: the URL the request came in on."
    )

    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Larger request bodies get 413.")
    body_read_timeout_s: float = Field(
        30.0, gt=0, description="A request body that sends nothing for this long gets 408 and the connection closes."
    )

    # Jobs
    worker_threads: int = Field(1, ge=0, description="In-process workers; 0 = API only, no generation.")
    job_poll_interval_s: float = Field(1.0, gt=0)
    job_lease_s: float = Field(600.0, gt=0, description="A RUNNING job whose lease lapsed is re-queued.")
    default_key_concurrency: int = Field(10, ge=1)
    job_max_attempts: int = Field(
        3, ge=1, description="Runs a job gets (pipeline failures and dead workers) before it ends FAILED."
    )

    # Per-key limits (docs/reliability.md): past either, POST /generations answers 429 + Retry-After.
    key_queue_cap: int = Field(200, ge=1, description="Most unfinished (PENDING) generations one key may have.")
    key_rate_per_minute: int = Field(100, ge=1, description="Most generations one key may create per rolling minute.")

    # Completion webhooks (docs/webhooks.md)
    webhook_backoff_scale: float = Field(
        1.0, gt=0, description="Multiplies every retry delay; tests compress the ~24 h schedule to seconds."
    )
    webhook_poll_interval_s: float = Field(1.0, gt=0, description="How often the deliverer looks for due rows.")
    webhook_timeout_s: float = Field(15.0, gt=0, description="Per-attempt HTTP timeout.")

    # Engine
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N | mps")
    torch_threads: int | None = Field(None, ge=1)
    catalog_file: Path | None = Field(None, description="Operator TOML overriding/extending the catalog.")
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
    allow_downloads: bool = Field(
        True,
        description="Fetch an absent model's weights from the hub on its first request (when the hub is reachable).",
    )
    hub_endpoint: str | None = Field(
        None, description="Hugging Face-compatible hub URL; default: HF_ENDPOINT, else huggingface.co."
    )

    # Price model (credits), see docs/knobs.md "Cost"
    price_image_base: float = 1.5
    price_per_megapixel: float = 1.5
    price_alchemy_multiplier: float = 2.5
    api_token_allowance: int = Field(
        1_000_000, description="Reported by /me as the key's API tokens; Sfumato does not bill."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("SFUMATO_CONFIG_FILE")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_file)))
        return tuple(sources)

    # Derived locations: one place decides the data-dir layout.
    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'sfumato.db'}"

    @property
    def files_base_url(self) -> str:
        """Absolute base for image links where no request is at hand (webhook bodies)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"
