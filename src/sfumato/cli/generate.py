"""`sfumato generate`: one generation in-process, no server, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sfumato.catalog import TINY_MODEL_ID, load_catalog
from sfumato.cli.common import DataDir, console, load_settings, refusing_engine_settings
from sfumato.domain.generation import GenerationRequest, resolve
from sfumato.errors import SfumatoError


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
    """Generate images from a prompt on this machine and write them as PNG files."""
    from sfumato.engine import Engine
    from sfumato.jobs.runner import image_file_stem

    settings = load_settings(data_dir)
    catalog = load_catalog(settings)
    engine = Engine(settings)  # no hub access: `sfumato models pull` fetches weights
    entry = catalog.get(model)
    if entry is None:
        console.print(f"[red]unknown model {model!r}[/red]: see `sfumato models list`")
        raise typer.Exit(2)
    if not engine.is_installed(entry):
        console.print(f"[red]{entry.name} is not installed[/red]: run `sfumato models pull {model}`")
        raise typer.Exit(2)
    request = GenerationRequest(
        prompt=prompt, negative_prompt=negative_prompt, model_id=model, width=width, height=height,
        num_images=num_images, num_inference_steps=steps, guidance_scale=guidance, seed=seed,
        scheduler=scheduler, preset_style=preset_style, alchemy=alchemy,
    )  # fmt: skip
    try:
        plan = resolve(request, entry, catalog.key_of(entry))
        engine.check(entry, plan.render_request())
    except SfumatoError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(2) from None

    with refusing_engine_settings():
        engine.renderer()  # torch and diffusers load here, not at import, so `sfumato keys ...` starts fast
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"{entry.name}, seed {plan.seed}", total=plan.num_inference_steps)
        images = engine.render(
            entry,
            plan.render_request(),
            on_step=lambda done, total: progress.update(task, completed=done, total=total),
        )
    out.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        path = out / f"{image_file_stem(entry.name, plan.prompt, index)}.png"
        image.save(path)
        print(path)
