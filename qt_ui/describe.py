"""What the dialog says about its source: the window title and the line above the columns, per command.

Qt appends the application's display name ("GPT Image") to every window title itself, so the title
names only the command and the image.
"""

from __future__ import annotations

from PyQt6.QtCore import QCoreApplication

from .source import EditSource

CTX = "GptImageDialog"  # these strings were the dialog's own; their translations stay where they were


def _tr(text: str) -> str:
    return QCoreApplication.translate(CTX, text)


def window_title(source: EditSource) -> str:
    image = source.image_name or _tr("new image")
    title = {
        "generate": _tr("Generate Layer — %1"),
        "fuse": _tr("Fuse Layers — %1"),
    }.get(source.kind, _tr("Edit Selection — %1") if source.selection is not None else _tr("Edit Layer — %1"))
    return title.replace("%1", image)


def source_line(source: EditSource) -> str:
    s = source
    if s.layer_rgba is None or s.kind == "generate":
        return _tr("New layer from a prompt, sized to the canvas")
    w, h = s.layer_size
    if s.kind == "fuse":
        text = _tr("Fusing %1 layer(s) of %2 · “%3” (%4 × %5) first; the result becomes a new layer")
        values = (str(1 + len(s.references)), s.image_name, s.layer_name, str(w), str(h))
    else:
        where = _tr("selection") if s.selection is not None else _tr("whole layer")
        text = _tr("Editing %1 · layer “%2” (%3 × %4) · %5")
        values = (s.image_name, s.layer_name, str(w), str(h), where)
    for i, value in reversed(list(enumerate(values, start=1))):
        text = text.replace(f"%{i}", value)
    return text


def uses_selection_context(source: EditSource) -> bool:
    """Context settings (surroundings, grow, feather) only mean something for an edit of a selection."""
    return source.kind == "edit" and source.layer_rgba is not None and source.selection is not None
