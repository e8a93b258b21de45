# pyright: reportMissingImports=false
# (`gi` and GIMP's typelibs exist only inside GIMP; everything else in this file is checked.)
"""Filters > AI > GPT Image > Expand Canvas...: its arguments, its dialog, and what its job holds (gptimage.run_job
runs it like every other command).

Two ways in: the canvas was already enlarged (Image > Canvas Size) and the layer leaves part of it uncovered,
or the arguments (the dialog, in an interactive run) give a new size and an anchor. The worker plans the
new canvas (one rule, in the core) and sends it with each result; the inserter resizes the image and adds the
layer in one undo group, so nothing changes when the run fails and one Ctrl+Z undoes both.
"""

from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
import gptimage_host as host  # noqa: E402
from gi.repository import Gimp, GObject  # noqa: E402
from gptimage_canvas import ANCHORS, PRESET_RATIOS  # noqa: E402

COMMAND = "expand"
# Choice nicks -> the ratio sent to the worker ("" = keep the canvas, or use the size / pixels per side).
ASPECTS = {
    "canvas": ("", "As the canvas is now (fill what the layer leaves uncovered), or the size/sides below"),
    **{ratio.replace(":", "-"): (ratio, label) for ratio, label in PRESET_RATIOS.items()},
}
SIDES = ("left", "top", "right", "bottom")
MAX_SIDE_PX = 100_000


def _choice(entries: list[tuple[str, str]]) -> Gimp.Choice:
    choice = Gimp.Choice.new()
    for i, (nick, label) in enumerate(entries):
        choice.add(nick, i, label, "")
    return choice


def add_arguments(procedure: Gimp.Procedure) -> None:
    """The arguments Expand Canvas has beyond the common ones (prompt, n, model, size, quality, base-url)."""
    flags = GObject.ParamFlags.READWRITE
    try:
        aspects = _choice([(nick, label) for nick, (_, label) in ASPECTS.items()])
        anchors = _choice([(a, a.replace("-", " ").capitalize()) for a in ANCHORS])
        procedure.add_choice_argument(
            "aspect", "New aspect", "Expand the canvas to this shape", aspects, "canvas", flags
        )
        procedure.add_choice_argument("anchor", "Anchor", "Where the picture stays", anchors, "center", flags)
    except (AttributeError, TypeError):  # a GIMP without Gimp.Choice: plain text arguments, same names
        procedure.add_string_argument("aspect", "New aspect", f"{', '.join(ASPECTS)} or W:H", "canvas", flags)
        procedure.add_string_argument("anchor", "Anchor", ", ".join(ANCHORS), "center", flags)
    procedure.add_string_argument("canvas-size", "New size", "WIDTHxHEIGHT of the new canvas (empty: none)", "", flags)
    for side in SIDES:
        procedure.add_int_argument(side, f"Add {side}", f"New pixels on the {side}", 0, MAX_SIDE_PX, 0, flags)


def read_expand(config: Gimp.ProcedureConfig) -> dict:
    aspect = str(config.get_property("aspect") or "canvas")
    return {
        "aspect": ASPECTS[aspect][0] if aspect in ASPECTS else aspect.replace("-", ":"),
        "canvas_size": config.get_property("canvas-size") or "",
        "anchor": str(config.get_property("anchor") or "center"),
        **{side: int(config.get_property(side)) for side in SIDES},
    }


def show_dialog(procedure: Gimp.Procedure, config: Gimp.ProcedureConfig) -> bool:
    """GIMP's own dialog for the arguments; False if the user cancelled."""
    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    GimpUi.init("gptimage")
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "Expand Canvas")
    dialog.fill(["prompt", "aspect", "anchor", "canvas-size", *SIDES, "n", "model", "quality"])
    try:
        return bool(dialog.run())
    finally:
        dialog.destroy()


def build_job(image: Gimp.Image, drawables: list, params: dict) -> tuple[dict, dict, Gimp.Layer]:
    """The whole source layer and the canvas it sits on; the worker plans the rest."""
    host.check_image(image)
    source = host.source_layer(image, drawables)
    info = host.layer_info(source)
    job = {
        "command": COMMAND,
        "interactive": False,
        "image": host.image_info(image),
        "layer": {
            "name": info.name,
            "file": "layer.rgba",
            "width": info.width,
            "height": info.height,
            "offset_x": info.offset_x,
            "offset_y": info.offset_y,
        },
        "selection": None,
        "references": [],
        "params": params,
    }
    return job, {"layer.rgba": host.read_pixels(source, info)}, source
