"""`gimp-gptimage expand IMAGE --to 16:9 | --size WxH | --left/--top/--right/--bottom PX`: Expand Canvas.

Writes OUT/<stem>-expanded-N.png (the whole new canvas) as each result is assembled; with no provider the
embedded offline engine paints the new area alone, and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..plugin.gptimage.gptimage_canvas import PRESET_RATIOS

if TYPE_CHECKING:
    import numpy as np

# Building the parser loads neither numpy nor the pipeline: `--help` of any command stays instant.
SIDES = ("left", "top", "right", "bottom")


def add_parser(sub: Any, int_type: Any, seconds_type: Any) -> None:
    p = sub.add_parser("expand", help="expand the canvas: the model continues the picture beyond its edges")
    p.add_argument("image", type=Path, help="PNG, JPEG or WebP image to expand")
    how = p.add_argument_group("new canvas (one of)")
    how.add_argument("--to", metavar="W:H", help=f"an aspect ratio, e.g. {', '.join(PRESET_RATIOS)}")
    how.add_argument("--size", metavar="WxH", help="the new canvas size in pixels, e.g. 3000x2000")
    for side in SIDES:
        how.add_argument(f"--{side}", type=int_type, default=0, metavar="PX", help=f"new pixels on the {side}")
    p.add_argument(
        "--anchor",
        metavar="NAME",
        help="where the picture stays with --to/--size: center (default), top, top-left, ...; a wrong name is "
        "refused with the list",
    )
    p.add_argument("--prompt", default="", metavar="TEXT", help="what the new area shows (default: the scene goes on)")
    p.add_argument("--model", metavar="M", help="e.g. gpt-image-2 (default: the provider's model)")
    p.add_argument("--quality", default="auto", metavar="Q", help="auto, low, medium, high")
    p.add_argument("-n", type=int_type, default=1, help="number of results (1-10)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--provider", metavar="NAME", help="openai, crazyrouter, quickrouter, local, or one from settings"
    )
    where.add_argument("--base-url", metavar="URL", help="any OpenAI-compatible API")
    p.add_argument("--blend-margin", type=int_type, metavar="PX", help="soft edge this many px into the picture")
    p.add_argument("--no-colour-match", action="store_true", help="do not match the new area's colours")
    p.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output folder (default: ./out)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    p.add_argument("--timeout", type=seconds_type, metavar="S", help="give up when the provider sends nothing for S s")
    p.add_argument(
        "--stall-timeout", type=seconds_type, metavar="S", help="give up when an answer that has begun stops for S s"
    )


def canvas_plan(args: argparse.Namespace, width: int, height: int) -> Any:
    """The plan from the command line; PipelineInputError (a usage problem) when it is not one clear way."""
    from ..pipeline.errors import PipelineInputError
    from ..pipeline.expand_plan import plan_canvas

    sides = tuple(getattr(args, side) for side in SIDES)
    if any(sides) and args.anchor:
        raise PipelineInputError("--anchor places the picture for --to or --size; per-side pixels place it already.")
    return plan_canvas(
        width, height, to=args.to, size=args.size, sides=sides if any(sides) else None, anchor=args.anchor or "center"
    )


def run(args: argparse.Namespace, secret: list[str], usage_error: type[Exception]) -> int:
    from .background import in_background, input_errors_first
    from .inputs import has_alpha, image_size, load_rgba

    # The picture is decoded in a thread of its own from the start, as an edit's input is (cli/background.py).
    loading = in_background(load_rgba, args.image, "image")
    from ..api.client import ImagesClient
    from ..api.params import ImageParams
    from ..jobs.context import context_options
    from ..jobs.expand import offline_painter
    from ..keystore import offline_notice, open_backend
    from ..migan import fallback_notice
    from ..pipeline.errors import PipelineInputError
    from ..settings import SettingsStore

    store = SettingsStore()
    settings = store.load()
    if store.problem:
        _say(store.problem)
    if args.out.exists() and not args.out.is_dir():
        raise usage_error(f"--out {args.out} is a file; give a folder for the results.")
    width, height = image_size(args.image, "image")  # all the plan needs: a wrong one is refused before anything starts
    overrides: dict[str, Any] = {"blend_margin_px": args.blend_margin}
    if args.no_colour_match:
        overrides["colour_match"] = False
    try:
        plan = canvas_plan(args, width, height)
        options = context_options(settings.context, **overrides)
    except PipelineInputError as exc:
        raise usage_error(str(exc)) from None
    with input_errors_first(loading), open_backend(settings, args.provider, args.base_url) as backend:
        secret.append(backend.api_key)
        if backend.is_local:
            _say(" ".join([*offline_notice(), f"The new area is painted by the {offline_painter()} alone."]))
        elif fallback := fallback_notice():  # the pre-fill is MI-GAN's for every provider
            _say(fallback)
        configured = settings.find_provider(backend.name)
        params = ImageParams(
            prompt=args.prompt,
            model=args.model or (configured.model if configured else "") or "gpt-image-2",
            n=args.n,
            quality=args.quality,
        )
        timeouts = settings.timeouts.timeouts(read=args.timeout, stall=args.stall_timeout)
        picture = loading.result()
        written = asyncio.run(
            _expand(args, picture, plan, params, options, has_alpha(args.image), backend, timeouts, ImagesClient)
        )
    summary = {
        "ok": True,
        "command": "expand",
        "backend": {"name": backend.name, "base_url": backend.base_url, "offline": backend.is_local},
        "model": params.model,
        "canvas": [plan.width, plan.height],
        "picture_offset": list(plan.offset),
        "results": written,
    }
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    from .main import _prune_history  # the user's clean-up policy, as after every edit

    _prune_history(settings, written[0]["history_id"] if written else None)
    return 0


async def _expand(
    args: argparse.Namespace,
    picture: np.ndarray,
    plan: Any,
    params: Any,
    options: Any,
    alpha: bool,
    backend: Any,
    timeouts: Any,
    client_type: Any,
) -> list[dict]:
    import numpy as np

    from ..atomic import atomic_write_bytes
    from ..history import HistoryStore
    from ..jobs.expand import ExpandRequest, run_expand
    from ..jobs.run import JobEvents, JobResult
    from ..pipeline.layer_png import LayerPng

    stem = args.image.stem or "image"
    written: list[dict] = []
    p = plan.picture

    class Events(JobEvents):
        last = ""

        def stage(self, stage: str, fraction: float | None) -> None:
            if stage != self.last:
                self.last = stage
                _say(f"{stage}...")

        def result(self, result: JobResult) -> None:
            placed = result.placed
            base = np.array(placed.pixels, copy=True)
            base[p.y : p.y + p.h, p.x : p.x + p.w] = picture  # the soft edge blends over the picture itself
            path = args.out / f"{stem}-expanded-{result.index + 1}.png"
            args.out.mkdir(parents=True, exist_ok=True)
            with LayerPng(base, keep_alpha=alpha) as writer:
                atomic_write_bytes(path, writer.png(placed))
            written.append(
                {
                    "index": result.index,
                    "path": str(path),
                    "width": plan.width,
                    "height": plan.height,
                    "history_id": result.history_id,
                }
            )
            if not args.json:
                print(path, flush=True)

    request = ExpandRequest(picture, plan, params, options, args.image.name)
    async with client_type(
        base_url=backend.base_url, api_key=backend.api_key, provider=backend.provider, timeouts=timeouts
    ) as client:
        await run_expand(request, client, HistoryStore(), Events())
    return written


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
