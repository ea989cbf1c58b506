"""`sfumato generate`: one generation on this machine, no server, with a progress bar.

It takes the worker's path, not a shortcut around it: the generation and its job are created in
the data dir's store through the service, the job is claimed and run by `run_job` under a lease,
and its stored images are copied out. What the command makes is recorded as any generation is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from sfumato.catalog import TINY_MODEL_ID
from sfumato.cli.common import DataDir, console, load_settings, refuse, refusing_engine_settings
from sfumato.domain.generation import GenerationRequest
from sfumato.domain.status import GenerationStatus
from sfumato.errors import SfumatoError

if TYPE_CHECKING:  # the container, the jobs and the engine load when the command runs, not with the CLI
    from sfumato.container import Container
    from sfumato.domain.views import GenerationView
    from sfumato.engine import StepCallback
    from sfumato.jobs.lease import Lease

# The user and key this command's generations are recorded under (`KeyService.local`).
CLI_USER = "cli"


def generate(
    prompt: Annotated[str, typer.Argument(help="What to draw.")],
    model: Annotated[str, typer.Option(help="Leonardo modelId (default: built-in Sfumato Tiny).")] = TINY_MODEL_ID,
    width: Annotated[int, typer.Option(help="Width in pixels, multiple of 8.")] = 512,
    height: Annotated[int, typer.Option(help="Height in pixels, multiple of 8.")] = 512,
    num_images: Annotated[int, typer.Option("--num-images", "-n")] = 1,
    steps: Annotated[int | None, typer.Option(help="Denoising steps (10-60; default: the model's).")] = None,
    guidance: Annotated[float | None, typer.Option(help="Guidance scale (1-20).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed; the same seed gives the same pixels.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="One of Leonardo's schedulers.")] = None,
    negative_prompt: Annotated[str | None, typer.Option("--negative-prompt")] = None,
    preset_style: Annotated[str | None, typer.Option("--preset-style", help="Style, e.g. CINEMATIC.")] = None,
    alchemy: Annotated[bool, typer.Option(help="Alchemy: quality default steps, 1024 size cap.")] = False,
    out: Annotated[Path, typer.Option(help="Directory for the PNG files.")] = Path("."),
    data_dir: DataDir = None,
) -> None:
    """Generate images from a prompt on this machine and write them as PNG files.

    Runs as a server's worker does, in the data dir's store: the generation is recorded under the
    local user and key "cli" (made on first use; the key has no secret anyone holds, and its
    concurrency 0 makes a server sharing the data dir leave the job to this command), rendered,
    stored under images/users/<user id>/generations/<id>/, then copied to --out. Weights are never
    downloaded here: `sfumato models pull` fetches them.
    """
    from sfumato.container import build_container

    request = GenerationRequest(
        prompt=prompt, negative_prompt=negative_prompt, model_id=model, width=width, height=height,
        num_images=num_images, num_inference_steps=steps, guidance_scale=guidance, seed=seed,
        scheduler=scheduler, preset_style=preset_style, alchemy=alchemy,
    )  # fmt: skip
    container = build_container(load_settings(data_dir), with_worker=False)
    try:
        paths = _generate(container, model, request, out)
    finally:
        container.close()
    for path in paths:
        print(path)


def _generate(container: Container, model: str, request: GenerationRequest, out: Path) -> list[Path]:
    """Refuse what cannot run here (exit 2), create the generation, run it, copy its images out."""
    from sfumato.jobs.outputs import copy_images

    try:  # as the server would: under commercial-only, the row's stand-in or a refusal
        entry = container.catalog.resolve(model, None)
    except SfumatoError as error:
        refuse(f"cannot use {model}", error.message)
    if entry is None:
        refuse(f"unknown model {model!r}", "see `sfumato models list`")
    if not container.engine.is_installed(entry):
        refuse(f"{entry.name} is not installed", f"run `sfumato models pull {model}`")
    key = container.keys.local(CLI_USER)
    try:
        created = container.generations.create(key, request)
    except SfumatoError as error:
        console.print(f"[red]{escape(error.message)}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None

    try:
        with refusing_engine_settings():
            container.engine.renderer()  # torch and diffusers load here, so `sfumato keys ...` starts fast
        generation = _run(container, key.user_id, created.generation_id, entry.name)
    except BaseException:  # refused settings, Ctrl-C, a bug: a run that did not end leaves nothing behind
        container.generations.delete(key.user_id, created.generation_id)
        raise
    if generation.status is GenerationStatus.FAILED:
        console.print(f"[red]generation failed[/red]: {escape(generation.failure_reason or '')}", soft_wrap=True)
        raise typer.Exit(1)
    if generation.status is not GenerationStatus.COMPLETE:
        console.print(f"[red]generation {generation.id} did not finish here[/red]: its job is parked or held elsewhere")
        raise typer.Exit(1)
    return copy_images(container.blobs, [image.blob_key for image in generation.images], out)


def _run(container: Container, user_id: str, generation_id: str, model_name: str) -> GenerationView:
    """Claim the generation's job and run it until it is no longer QUEUED: a failed attempt is
    re-queued by the runner and claimed again here, up to the job's attempts."""
    from sfumato.jobs.lease import claim_generation, new_owner
    from sfumato.jobs.runner import run_job

    generation = _read(container, user_id, generation_id)
    owner, lease_s = new_owner(), container.settings.jobs.lease_s
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"{model_name}, seed {generation.seed}", total=generation.inference_steps)
        while (lease := claim_generation(container.session_factory, generation_id, owner, lease_s)) is not None:
            run_job(container.jobs, lease, on_step=_on_step(progress, task, lease))
    return _read(container, user_id, generation_id)


def _read(container: Container, user_id: str, generation_id: str) -> GenerationView:
    generation = container.generations.get(user_id, generation_id)
    if generation is None:
        raise RuntimeError(f"generation {generation_id} vanished from the store")
    return generation


def _on_step(progress: Progress, task: TaskID, lease: Lease) -> StepCallback:
    """The progress bar, and the lease kept as the worker keeps it."""
    keep_lease = lease.guard()

    def on_step(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)
        keep_lease()

    return on_step
