"""The bundled sample photo and the spoon selection, as the arrays the pipeline takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
COFFEE = RESOURCES / "coffee.png"
SPOON = RESOURCES / "coffee-spoon-selection.png"


def coffee_layer() -> np.ndarray:
    return np.asarray(Image.open(COFFEE).convert("RGBA"))


def spoon_selection() -> np.ndarray:
    return np.asarray(Image.open(SPOON).convert("L"))
