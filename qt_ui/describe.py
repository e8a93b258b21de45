"""What the dialog says about its source: the window title and the line above the columns, per command.

Qt appends the application's display name ("GPT Image") to every window title itself, so the title
names only the command and the image.
"""

from __future__ import annotations

from PyQt6.QtCore import QCoreApplication

from .source import EditSource

# These strings were the dialog's own: they keep its context ("GptImageDialog"), and so their translations.


def window_title(source: EditSource) -> str:
    translate = QCoreApplication.translate
    image = source.image_name or translate("GptImageDialog", "new image")
    if source.kind == "generate":
        title = translate("GptImageDialog", "Generate Layer — %1")
    elif source.kind == "fuse":
        title = translate("GptImageDialog", "Fuse Layers — %1")
    elif source.selection is not None:
        title = translate("GptImageDialog", "Edit Selection — %1")
    else:
        title = translate("GptImageDialog", "Edit Layer — %1")
    return title.replace("%1", image)


def source_line(source: EditSource) -> str:
    translate = QCoreApplication.translate
    s = source
    if s.layer_rgba is None or s.kind == "generate":
        return translate("GptImageDialog", "New layer from a prompt, sized to the canvas")
    w, h = s.layer_size
    if s.kind == "fuse":
        text = translate(
            "GptImageDialog", "Fusing %1 layer(s) of %2 · “%3” (%4 × %5) first; the result becomes a new layer"
        )
        values = (str(1 + len(s.references)), s.image_name, s.layer_name, str(w), str(h))
    else:
        selection = translate("GptImageDialog", "selection")
        where = selection if s.selection is not None else translate("GptImageDialog", "whole layer")
        text = translate("GptImageDialog", "Editing %1 · layer “%2” (%3 × %4) · %5")
        values = (s.image_name, s.layer_name, str(w), str(h), where)
    for i, value in reversed(list(enumerate(values, start=1))):  # %10 before %1, were there ten
        text = text.replace(f"%{i}", value)
    return text


def uses_selection_context(source: EditSource) -> bool:
    """Context settings (surroundings, grow, feather) only mean something for an edit of a selection."""
    return source.kind == "edit" and source.layer_rgba is not None and source.selection is not None
