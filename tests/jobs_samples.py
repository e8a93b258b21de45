"""The bundled sample photo and the spoon selection, as the arrays the pipeline takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gimp_gptimage.api.params import ImageParams
from gimp_gptimage.jobs.run import EditRequest
from gimp_gptimage.pipeline import ContextOptions

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
