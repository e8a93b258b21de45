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
