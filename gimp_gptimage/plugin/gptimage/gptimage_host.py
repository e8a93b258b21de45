# pyright: reportMissingImports=false
# (`gi` and GIMP's typelibs exist only inside GIMP; everything else in this file is checked.)
"""The only code that talks to GIMP: read layers and the selection, insert results, drive the progress bar.

Everything crossing this module's boundary is plain Python (bytes, ints, dicts), so the job logic in
gptimage_ipc stays testable without GIMP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402
from gptimage_ipc import JobError, OutboxResult, RawWindow, describe_window_handle  # noqa: E402

RGBA_U8 = "R'G'B'A u8"
COVERAGE_U8 = "Y u8"
MAX_FUSE_LAYERS = 16
MARKUP_LAYER = "markup"  # a visible layer of this name (any case, "markup #2" too) holds the user's markup


@dataclass(frozen=True)
class LayerInfo:
    name: str
    width: int
    height: int
    offset_x: int
    offset_y: int


def check_image(image: Gimp.Image) -> None:
    if image.get_base_type() == Gimp.ImageBaseType.INDEXED:
        raise JobError(
            "GPT Image works on RGB and grayscale images: convert this indexed image with Image > Mode > RGB first."
        )


def image_info(image: Gimp.Image) -> dict:
    gray = image.get_base_type() == Gimp.ImageBaseType.GRAY
    return {
        "name": image.get_name() or "Untitled",
        "width": image.get_width(),
        "height": image.get_height(),
        "base_type": "gray" if gray else "rgb",
    }


def as_layer(drawable: Gimp.Drawable) -> Gimp.Layer:
    """The layer behind a selected drawable (a selected layer mask stands for its layer).

    Every layer kind is read as the pixels it shows and never written to: a group as its composite, and
    text, vector (3.2) and link (3.2) layers as their rendered pixels, so they stay editable as text, path
    or link; results always land as new pixel layers above. A link layer whose file has gone keeps showing
    its last pixels in GIMP, which are then what is edited.
    """
    if isinstance(drawable, Gimp.LayerMask):
        return Gimp.Layer.from_mask(drawable)
    if isinstance(drawable, Gimp.Layer):
        return drawable
    raise JobError("GPT Image works on layers: select a layer instead of a channel or path.")


def is_markup(layer: Gimp.Layer) -> bool:
    name = (layer.get_name() or "").strip().lower()
    return name == MARKUP_LAYER or name.startswith(MARKUP_LAYER + " ")


def markup_layer(image: Gimp.Image) -> Gimp.Layer | None:
    """The topmost visible top-level markup layer; hiding it is how a painter leaves it out."""
    return next((lay for lay in image.get_layers() if lay.get_visible() and is_markup(lay)), None)


def source_layer(image: Gimp.Image, drawables: list) -> Gimp.Layer:
    """The layer to edit. With the markup layer active (the painter just drew on it), the layer below it."""
    if drawables:
        layer = as_layer(drawables[0])
    else:
        selected = image.get_selected_layers()
        if not selected:
            raise JobError("Select the layer to edit first.")
        layer = selected[0]
    if not is_markup(layer):
        return layer
    siblings = list(layer.get_parent().get_children() if layer.get_parent() else image.get_layers())
    below = [lay for lay in siblings[siblings.index(layer) + 1 :] if not is_markup(lay)]
    if not below:
        raise JobError(f"'{layer.get_name()}' is the markup layer: select the layer to edit (below it).")
    return below[0]


def fuse_layers(image: Gimp.Image, drawables: list) -> list[Gimp.Layer]:
    """The selected layers, the active one first; with a single selected layer, every visible layer. The
    markup layer is never a reference."""
    layers = [as_layer(d) for d in drawables if not is_markup(as_layer(d))] or list(image.get_selected_layers())
    if len(layers) == 1:
        layers += [lay for lay in image.get_layers() if lay.get_visible() and lay != layers[0] and not is_markup(lay)]
    if not layers:
        raise JobError("Select the layers to fuse first.")
    if len(layers) > MAX_FUSE_LAYERS:
        raise JobError(f"Fuse takes at most {MAX_FUSE_LAYERS} layers; {len(layers)} are selected.")
    return layers


def layer_info(layer: Gimp.Layer) -> LayerInfo:
    _, ox, oy = layer.get_offsets()
    return LayerInfo(layer.get_name(), layer.get_width(), layer.get_height(), ox, oy)


def read_pixels(
    layer: Gimp.Layer, info: LayerInfo, window: tuple[int, int, int, int] | None = None
) -> bytes | RawWindow:
    """The layer (or only `window` of it, in layer pixels) as 8-bit sRGB RGBA, whatever the image's precision
    and mode. The layer's buffer is in layer coordinates; its extent starts at (0, 0)."""
    x, y, w, h = window or (0, 0, info.width, info.height)
    data = bytes(layer.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, RGBA_U8, Gegl.AbyssPolicy.NONE))
    if window is None:
        return data
    return RawWindow(info.width, info.height, 4, x, y, w, h, data)


def read_markup(markup: Gimp.Layer, source: LayerInfo) -> bytes:
    """The markup layer's pixels over the source layer's extent (source layer coordinates), as 8-bit RGBA;
    transparent wherever the markup layer does not reach."""
    _, mx, my = markup.get_offsets()
    rect = Gegl.Rectangle.new(source.offset_x - mx, source.offset_y - my, source.width, source.height)
    return bytes(markup.get_buffer().get(rect, 1.0, RGBA_U8, Gegl.AbyssPolicy.NONE))


def read_selection(image: Gimp.Image, layer: LayerInfo) -> RawWindow | None:
    """Soft selection coverage over the layer's extent (layer coordinates), or None when nothing is selected.

    Only the selection's bounding box (clipped to the layer) is read: outside it the coverage is zero.
    """
    if Gimp.Selection.is_empty(image):
        return None
    _, _, x1, y1, x2, y2 = Gimp.Selection.bounds(image)
    lx1, ly1 = layer.offset_x, layer.offset_y
    x1, y1 = max(x1, lx1), max(y1, ly1)
    x2, y2 = min(x2, lx1 + layer.width), min(y2, ly1 + layer.height)
    if x2 <= x1 or y2 <= y1:
        raise JobError(f"The selection does not touch the layer '{layer.name}': select inside it.")
    rect = Gegl.Rectangle.new(x1, y1, x2 - x1, y2 - y1)
    data = bytes(image.get_selection().get_buffer().get(rect, 1.0, COVERAGE_U8, Gegl.AbyssPolicy.NONE))
    return RawWindow(layer.width, layer.height, 1, x1 - lx1, y1 - ly1, x2 - x1, y2 - y1, data)


@dataclass
class ResultInserter:
    """Inserts results as masked layers above an anchor, each batch (a run's n results, or one click in the
    dialog) inside a single undo group.

    The group opens with a batch's first result and closes with its last (batch_left == 0) or in finish();
    if the user closes the image while the worker runs, later results are skipped (the worker keeps them in
    history).
    """

    image: Gimp.Image
    anchor: Gimp.Layer | None
    keep_selection: bool = False  # edit and fuse: the layers they read stay selected (see insert)
    inserted: list = field(default_factory=list)
    skipped: int = 0
    _group_open: bool = False

    def insert(self, result: OutboxResult) -> None:
        if not self.image.is_valid():
            self.skipped += 1
            return
        before = list(self.image.get_selected_layers())
        if not self._group_open:
            self.image.undo_group_start()
            self._group_open = True
        if result.canvas is not None and (self.image.get_width(), self.image.get_height()) != result.canvas[:2]:
            # Expand Canvas: the new size comes with the result, so canvas and layer are one undo step and a
            # failed run leaves the canvas as it was.
            self.image.resize(*result.canvas)
        gray = self.image.get_base_type() == Gimp.ImageBaseType.GRAY
        kind = Gimp.ImageType.GRAYA_IMAGE if gray else Gimp.ImageType.RGBA_IMAGE
        layer = Gimp.Layer.new(self.image, result.name, result.width, result.height, kind, 100.0, Gimp.LayerMode.NORMAL)
        parent, position = self._place()
        self.image.insert_layer(layer, parent, position)
        layer.set_offsets(result.offset_x, result.offset_y)
        rect = Gegl.Rectangle.new(0, 0, result.width, result.height)
        buffer = layer.get_buffer()
        buffer.set(rect, RGBA_U8, result.pixels)
        buffer.flush()
        if result.mask is not None:
            mask = layer.create_mask(Gimp.AddMaskType.WHITE)
            layer.add_mask(mask)
            mask_buffer = mask.get_buffer()
            mask_buffer.set(rect, COVERAGE_U8, result.mask)
            mask_buffer.flush()
            mask.update(0, 0, result.width, result.height)
        layer.update(0, 0, result.width, result.height)
        self.inserted.append(layer)
        # Inserting makes the new layer GIMP's active one. After an edit or a fuse, give the painter back the
        # layers they had: a second Edit Selection then reads the picture the first one read, not the result
        # just inserted. A generated layer stays selected (nothing was read to go back to).
        kept = [lay for lay in before if lay.is_valid()] if self.keep_selection else []
        self.image.set_selected_layers(kept or [layer])
        Gimp.displays_flush()
        if result.batch_left == 0:
            # Close the group as soon as the run (or the dialog click) is complete: while it is open, whatever
            # the user does in GIMP would join our undo step.
            self.finish()

    def _place(self) -> tuple[Gimp.Layer | None, int]:
        """Directly above the anchor (or above the previous result), else at the top of the stack."""
        anchor = self.inserted[-1] if self.inserted else self.anchor
        if anchor is None or not anchor.is_valid():
            return None, 0
        return anchor.get_parent(), self.image.get_item_position(anchor)

    def finish(self) -> None:
        if self._group_open and self.image.is_valid():
            self.image.undo_group_end()
            Gimp.displays_flush()
        self._group_open = False


def window_handle() -> dict | None:
    """The image window this command was started from, as the dialog's process can use it (or None).

    `Gimp.progress_get_window_handle() -> GLib.Bytes` exists in GIMP 3.0 and 3.2 alike (checked in both
    versions' Gimp-3.0.typelib): the native handle of the toplevel window the plug-in's progress is shown in,
    i.e. the image window the command was started from.
    """
    try:
        data = Gimp.progress_get_window_handle()
    except Exception:  # no window (batch mode) or a binding without it: the dialog is then simply not tied
        return None
    return describe_window_handle(bytes(data.get_data() or b"")) if data is not None else None


class ProgressBar:
    """GIMP's status-bar progress: a pulse while waiting, a real fraction when the worker reports one."""

    def __init__(self, title: str) -> None:
        self._text = title
        Gimp.progress_init(title)

    def tick(self, stage_text: str | None, fraction: float | None) -> None:
        if stage_text and stage_text != self._text:
            self._text = stage_text
            Gimp.progress_set_text(stage_text)
        if fraction is None:
            Gimp.progress_pulse()
        else:
            Gimp.progress_update(max(0.0, min(1.0, fraction)))

    def end(self) -> None:
        Gimp.progress_end()
