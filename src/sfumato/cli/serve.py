"""`sfumato serve`."""

from __future__ import annotations

import errno
import logging
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from sfumato.catalog import CPU_FRIENDLY_SLUG, ModelCatalog
from sfumato.cli.common import DataDir, console, load_settings, refuse, refusing_engine_settings
from sfumato.cli.db import require_current_schema

logger = logging.getLogger("sfumato.serve")


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen(host: str, port: int) -> list[socket.socket]:
    """Bind and listen on host:port before the app exists, so a busy port stops this process before
    its worker can claim a job. Binds like asyncio's create_server, which `uvicorn.run` uses: every
    address the host resolves to, SO_REUSEADDR (a port in TIME_WAIT is reusable), IPv6 sockets v6-only."""
    where = _host_port(host, port)
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        refuse(f"cannot listen on {where}", f"the host does not resolve ({error}); check --host")
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in sorted(set(infos), key=str):
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:
                continue  # a family this machine lacks (asyncio skips it too)
            sockets.append(sock)
            if os.name == "posix":  # elsewhere SO_REUSEADDR means sharing a live port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen()  # now, not in uvicorn: with SO_REUSEADDR a second bind alone may succeed
    except OSError as error:
        for sock in sockets:
            sock.close()
        if error.errno == errno.EADDRINUSE:
            refuse(f"{where} is already in use", "another server listens there; stop it or choose a free --port")
        refuse(f"cannot listen on {where}", f"{error.strerror or error}; check --host and --port")
    if not sockets:
        refuse(f"cannot listen on {where}", "no usable address for the host; check --host")
    return sockets


def _say_how_to_get_real_pictures(catalog: ModelCatalog, models_dir: Path) -> None:
    """One log line: Sfumato Tiny draws noise, so say how to install the catalog's CPU-friendly model."""
    slug = catalog.slugs.get(CPU_FRIENDLY_SLUG)
    entry = catalog.get(slug.model) if slug is not None else None
    if entry is None:  # an operator catalog took the slug away
        return
    if entry.weights.is_installed(models_dir):
        logger.info("%s is installed: modelId %s (v2: %r) draws real pictures", entry.name, entry.id, CPU_FRIENDLY_SLUG)
    else:
        logger.info(
            "for real pictures without a GPU: `sfumato models pull %s` installs %s (%s), then use modelId %s",
            CPU_FRIENDLY_SLUG, entry.name, entry.weights.source, entry.id,
        )  # fmt: skip


def serve(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    dev_key: Annotated[bool, typer.Option("--dev-key", help="Make a development key and print a curl.")] = False,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="API only: render nothing (= SFUMATO_WORKER_THREADS=0).")
    ] = False,
    migrate: Annotated[
        bool, typer.Option("--migrate", help="Upgrade a schema that is behind first (as `sfumato db upgrade`).")
    ] = False,
) -> None:
    """Serve the API under /api/rest/v1, images under /files, and /healthz."""
    settings = load_settings(data_dir, host=host, port=port, worker_threads=0 if no_worker else None)
    require_current_schema(settings, upgrade=migrate)
    sockets = listen(settings.server.host, settings.server.port)
    bound_port = int(sockets[0].getsockname()[1])  # the real one when --port 0

    import uvicorn

    # No torch here: a worker's engine loads it (and quiets diffusers' advisories) as it starts.
    from sfumato.api.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with refusing_engine_settings():
        fastapi_app = create_app(settings)
    supervisor = fastapi_app.state.container.supervisor
    if supervisor is not None:  # the worker process first: settings it refuses stop the server too
        from sfumato.jobs.worker_process import WorkerRefused

        try:
            supervisor.start()
        except WorkerRefused:
            raise typer.Exit(2) from None  # the worker said why, on the stderr it shares with us
    base_url = f"http://{_host_port(settings.server.host, bound_port)}"
    _say_how_to_get_real_pictures(fastapi_app.state.container.catalog, settings.models_dir)
    if dev_key:
        issued = fastapi_app.state.container.keys.create("dev", settings.jobs.default_key_concurrency)
        base = f"{base_url}/api/rest/v1"
        console.print(f"\n[bold]Development API key[/bold] (user 'dev'): {issued.api_key}\nTry:\n")
        print(
            f"curl -s -X POST {base}/generations -H 'Authorization: Bearer {issued.api_key}' "
            '-H \'Content-Type: application/json\' -d \'{"prompt": "a lighthouse at dusk", '
            '"modelId": "5f7e2a1c-0b5d-4c3e-9a8f-1d2e3f4a5b6c", "width": 512, "height": 512, "num_images": 1}\''
            f"\ncurl -s {base}/generations/<generationId> -H 'Authorization: Bearer {issued.api_key}'\n",
            flush=True,
        )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # uvicorn says this itself only when it binds
                logger.info("serving on %s (Press CTRL+C to quit)", base_url)

    server = Server(uvicorn.Config(fastapi_app, host=settings.server.host, port=bound_port, log_level="info"))
    server.run(sockets=sockets)
    if not server.started:
        raise typer.Exit(3)  # as uvicorn.run: the app's startup failed, and uvicorn logged why
