"""Expand Canvas' choices written once: the preset aspect ratios and the anchors, for the plug-in's dialog
(GIMP's Python, beside gptimage.py) and the core's planner (gimp_gptimage.pipeline.expand_plan imports it as
gimp_gptimage.plugin.gptimage.gptimage_canvas). Standard library only: plain data.
"""

from __future__ import annotations

# The ratios the dialog offers, with their labels (any other W:H is typed in, or given to the CLI).
PRESET_RATIOS: dict[str, str] = {
    "16:9": "16:9 (landscape video)",
    "4:5": "4:5 (portrait post)",
    "1:1": "1:1 (square)",
}
# Where the picture stays inside the new canvas: (share of the free width left of it, of the height above);
# the first is the default, and the dialog lists them in this order.
ANCHORS: dict[str, tuple[float, float]] = {
    "center": (0.5, 0.5),
    "top-left": (0.0, 0.0),
    "top": (0.5, 0.0),
    "top-right": (1.0, 0.0),
    "left": (0.0, 0.5),
    "right": (1.0, 0.5),
    "bottom-left": (0.0, 1.0),
    "bottom": (0.5, 1.0),
    "bottom-right": (1.0, 1.0),
}
