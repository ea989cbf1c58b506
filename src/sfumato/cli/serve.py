"""`sfumato serve`."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from sfumato.cli.common import DataDir, console, load_settings, refusing_engine_settings


def serve(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    dev_key: Annotated[bool, typer.Option("--dev-key", help="Make a development key and print a curl.")] = False,
) -> None:
    """Serve the API under /api/rest/v1, images under /files, and /healthz."""
    import uvicorn

    from sfumato.engine.library_noise import quiet_ml_libraries

    quiet_ml_libraries()
    from sfumato.api.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(data_dir, host=host, port=port)
    with refusing_engine_settings():
        fastapi_app = create_app(settings)
    if dev_key:
        issued = fastapi_app.state.container.keys.create("dev", settings.default_key_concurrency)
        base = f"http://{settings.host}:{settings.port}/api/rest/v1"
        console.print(f"\n[bold]Development API key[/bold] (user 'dev'): {issued.api_key}\nTry:\n")
        print(
            f"curl -s -X POST {base}/generations -H 'Authorization: Bearer {issued.api_key}' "
            '-H \'Content-Type: application/json\' -d \'{"prompt": "a lighthouse at dusk", '
            '"modelId": "5f7e2a1c-0b5d-4c3e-9a8f-1d2e3f4a5b6c", "width": 512, "height": 512, "num_images": 1}\''
            f"\ncurl -s {base}/generations/<generationId> -H 'Authorization: Bearer {issued.api_key}'\n",
            flush=True,
        )
    uvicorn.run(fastapi_app, host=settings.host, port=settings.port, log_level="info")
