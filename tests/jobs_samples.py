"""The bundled sample photo and the spoon selection, as the arrays the pipeline takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gimp_gptimage.api.params import ImageParams
from gimp_gptimage.jobs.run import EditRequest, JobResult
from gimp_gptimage.pipeline import ContextOptions, PasteResult, Rect

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
COFFEE = RESOURCES / "coffee.png"
SPOON = RESOURCES / "coffee-spoon-selection.png"


def coffee_layer() -> np.ndarray:
    return np.asarray(Image.open(COFFEE).convert("RGBA"))


def spoon_selection() -> np.ndarray:
    return np.asarray(Image.open(SPOON).convert("L"))


def write_spoon_job(job_dir: Path, *, n: int = 1, prompt: str = "Remove the spoon", base_url: str = "") -> None:
    """The headless spoon edit's job folder exactly as the plug-in writes it: raw RGBA rows, raw selection,
    job.json last (gptimage_ipc.write_job)."""
    import gptimage_ipc as ipc  # the plug-in's own module (on the path once tests/conftest.py has run)

    layer, selection = coffee_layer(), spoon_selection()
    h, w = selection.shape
    job = {
        "command": "edit",
        "interactive": False,
        "image": {"name": "coffee.xcf", "width": w, "height": h, "base_type": "rgb"},
        "layer": {"name": "Background", "file": "layer.rgba", "width": w, "height": h, "offset_x": 0, "offset_y": 0},
        "selection": {"file": "selection.gray"},
        "references": [],
        "params": {"prompt": prompt, "n": n, "model": "", "size": "", "quality": "", "base_url": base_url},
    }
    ipc.write_job(job_dir, job, {"layer.rgba": layer.tobytes(), "selection.gray": selection.tobytes()})


def edit_request(params: ImageParams, **changes: Any) -> EditRequest:
    """The spoon edit of the sample photo, with unselected pixels kept bit-exact (blend margin 0)."""
    fields: dict[str, Any] = {
        "layer": coffee_layer(),
        "selection": spoon_selection(),
        "layer_offset": (0, 0),
        "references": [],
        "params": params,
        "options": ContextOptions(blend_margin_px=0),
        "source_name": "coffee.png",
    }
    fields.update(changes)
    return EditRequest(**fields)


def placed_result(
    name: str, pixels: np.ndarray, offset: tuple[int, int], mask: np.ndarray | None = None, history_id: str = ""
) -> JobResult:
    """A finished result as the job runner hands it on (for outbox tests that need no real run)."""
    h, w = pixels.shape[:2]
    return JobResult(0, name, PasteResult(pixels, offset, mask, Rect(0, 0, w, h)), history_id)
