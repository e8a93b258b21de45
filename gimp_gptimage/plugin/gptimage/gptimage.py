#!/usr/bin/env python3
# pyright: reportMissingImports=false
# (`gi` and GIMP's typelibs exist only inside GIMP; everything else in this file is checked.)
"""GPT Image for GIMP 3: edit a selection, generate a layer or fuse layers with OpenAI-compatible models.

This file runs inside GIMP's own Python, so it uses only the standard library and `gi`. It snapshots the
pixels into a private job folder, starts the worker (the Python recorded by `gimp-gptimage install`, which
runs the Qt dialog or a headless job) and inserts each result as a masked layer as soon as it arrives.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
import gptimage_expand as expand  # noqa: E402
import gptimage_host as host  # noqa: E402
import gptimage_ipc as ipc  # noqa: E402
import gptimage_keep as keep  # noqa: E402
from gi.repository import Gegl, Gimp, GLib, GObject  # noqa: E402

PLUGIN_DIR = Path(__file__).resolve().parent
MENU_PATH = "<Image>/Filters/AI/GPT Image"

PROCEDURES = {
    "python-fu-gptimage-edit": (
        "edit",
        "_Edit Selection...",
        "Repaint the selection (or the whole layer) of the active layer from a prompt; with a 2.6 model, a "
        "visible layer named 'markup' (arrows, circles, notes) shows what to change",
    ),
    "python-fu-gptimage-generate": (
        "generate",
        "_Generate Layer...",
        "Create a new layer from a text prompt",
    ),
    "python-fu-gptimage-fuse": (
        "fuse",
        "_Fuse Layers...",
        "Combine the selected layers (the active one first) into a new picture from a prompt",
    ),
    "python-fu-gptimage-expand": (
        "expand",
        "E_xpand Canvas...",
        "Enlarge the canvas and let the model continue the picture into the new area",
    ),
}


def build_job(command: str, image: Gimp.Image, drawables: list, params: dict, interactive: bool):
    """Snapshot everything the worker needs.

    Returns (job dict, raw files, layer to insert above, reader of the whole source layer or None). A batch
    edit exports only a window around the selection; the worker asks for the rest if its context needs it.
    """
    if image is None:
        raise ipc.JobError("Open or create an image first.")
    if command == "expand":  # the whole layer and its canvas: the worker plans the rest
        job, files, source = expand.build_job(image, drawables, params)
        return job, files, source, None
    host.check_image(image)
    job = {
        "command": command,
        "interactive": interactive,
        "image": host.image_info(image),
        "layer": None,
        "selection": None,
        "references": [],
        "params": params,
    }
    files: dict[str, bytes | ipc.RawWindow] = {}
    if command == "generate":
        selected = image.get_selected_layers()
        return job, files, (selected[0] if selected else None), None

    layers = [host.source_layer(image, drawables)]
    if command == "fuse":
        layers = host.fuse_layers(image, drawables)
    source, info = layers[0], host.layer_info(layers[0])
    window = None
    if command == "edit":
        coverage = host.read_selection(image, info)
        if coverage is not None:
            files["selection.gray"] = coverage
            job["selection"] = {"file": "selection.gray"}
            if not interactive:  # the dialog may show or use the whole layer
                box = (coverage.x, coverage.y, coverage.width, coverage.height)
                window = ipc.context_window(box, info.width, info.height)
    files["layer.rgba"] = host.read_pixels(source, info, window)
    job["layer"] = _layer_entry(info, "layer.rgba", window)
    markup = host.markup_layer(image) if command == "edit" else None
    if markup is not None and markup != source:
        # Whole, not windowed: the worker cuts it over the same context region as the layer.
        files["markup.rgba"] = host.read_markup(markup, info)
        job["markup"] = {**_layer_entry(info, "markup.rgba"), "name": markup.get_name()}
    for i, layer in enumerate(layers[1:], start=1):
        ref = host.layer_info(layer)
        files[f"ref-{i}.rgba"] = host.read_pixels(layer, ref)
        job["references"].append(_layer_entry(ref, f"ref-{i}.rgba"))

    def whole_source() -> bytes:
        if not source.is_valid() or (source.get_width(), source.get_height()) != (info.width, info.height):
            raise ipc.JobError("The layer was removed or resized while the model worked; run the command again.")
        data = host.read_pixels(source, info)
        assert isinstance(data, bytes)  # no window asked for: the whole layer
        return data

    return job, files, source, (whole_source if window else None)


def _layer_entry(info: host.LayerInfo, file: str, window: tuple[int, int, int, int] | None = None) -> dict:
    entry = {
        "name": info.name,
        "file": file,
        "width": info.width,
        "height": info.height,
        "offset_x": info.offset_x,
        "offset_y": info.offset_y,
    }
    if window is not None:
        entry["window"] = list(window)
    return entry


def read_params(config: Gimp.ProcedureConfig) -> dict:
    return {
        "prompt": config.get_property("prompt") or "",
        "n": int(config.get_property("n")),
        "model": config.get_property("model") or "",
        "size": config.get_property("size") or "",
        "quality": config.get_property("quality") or "",
        "complexity": config.get_property("complexity") or "",
        "base_url": config.get_property("base-url") or "",
    }


def run_job(command: str, image: Gimp.Image, drawables: list, params: dict, interactive: bool) -> str | None:
    """Run one job to the end; returns a note for the user (or None). Raises ipc.JobError on failure."""
    if not interactive and not params["prompt"].strip() and command != "expand":  # expand: "continue the scene"
        raise ipc.JobError("A prompt is required: describe what the model should paint.")
    python = ipc.worker_python(PLUGIN_DIR)
    if image is None:
        raise ipc.JobError("Open or create an image first.")
    host.check_image(image)
    keep.remove_orphan_job_dirs()
    job_dir = ipc.create_job_dir()
    # The dialog replaces this text with its own state (open / running) as soon as it is up.
    waiting = "GPT Image: expanding the canvas" if command == "expand" else "GPT Image: waiting for the model"
    progress = host.ProgressBar("GPT Image: opening the dialog" if interactive else waiting)
    inserter = None
    log = keep.new_log(PLUGIN_DIR)
    parent_window = host.window_handle() if interactive else None
    done: dict = {}
    try:
        # Start the worker first: its Python start-up overlaps with GIMP exporting the pixels, and it
        # begins as soon as job.json (written last) appears.
        proc = ipc.start_worker(python, job_dir, log, ipc.worker_env(parent_window))
        keep.record_pids(job_dir, proc.pid)
        try:
            job, files, anchor, whole_source = build_job(command, image, drawables, params, interactive)
            job["parent_window"] = parent_window
            ipc.write_job(job_dir, job, files)
        except BaseException:
            ipc.stop_worker(proc)
            raise
        del files  # the snapshot can be large; it lives in the job folder now
        inserter = host.ResultInserter(image, anchor, keep_selection=command in ("edit", "fuse"))
        ipc.wait_for_job(
            proc,
            job_dir,
            inserter.insert,
            lambda p: progress.tick(p.text if p else None, p.fraction if p else None),
            read_whole_layer=whole_source,
            log=log,
            python=python,
        )
        done = ipc.read_done(job_dir) or {}
    finally:
        if inserter is not None:
            inserter.finish()
        progress.end()
        ipc.remove_job_dir(job_dir)
    notes = [f"GPT Image: {done['note']}."] if done.get("note") else []  # "1 of 2 images arrived"
    if inserter is not None and inserter.skipped:
        notes.append(
            f"The image was closed before {inserter.skipped} result(s) arrived; they are kept in GPT Image history."
        )
    return " ".join(notes) or None


def run(procedure, run_mode, image, drawables, config, data):
    command = PROCEDURES[procedure.get_name()][0]
    interactive = run_mode == Gimp.RunMode.INTERACTIVE
    try:
        extra = {}
        if command == "expand":
            if interactive and not expand.show_dialog(procedure, config):
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
            extra["expand"] = expand.read_expand(config)
            interactive = False  # GIMP's own dialog asked for the arguments: the worker runs it headless
        note = run_job(command, image, list(drawables), {**read_params(config), **extra}, interactive)
    except ipc.JobError as exc:
        return _failure(procedure, str(exc))
    except Exception as exc:
        return _failure(procedure, f"GPT Image failed unexpectedly: {type(exc).__name__}: {exc}")
    if note:
        Gimp.message(note)
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def _failure(procedure, message: str):
    error = GLib.Error.new_literal(Gimp.PlugIn.error_quark(), message, 0)
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, error)


class GptImage(Gimp.PlugIn):
    def do_set_i18n(self, name):
        return False

    def do_query_procedures(self):
        return list(PROCEDURES)

    def do_create_procedure(self, name):
        Gegl.init(None)
        command, label, blurb = PROCEDURES[name]
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        procedure.set_image_types("RGB*, GRAY*")
        if command == "generate":
            procedure.set_sensitivity_mask(
                Gimp.ProcedureSensitivityMask.DRAWABLE
                | Gimp.ProcedureSensitivityMask.DRAWABLES
                | Gimp.ProcedureSensitivityMask.NO_DRAWABLES
            )
        else:
            procedure.set_sensitivity_mask(
                Gimp.ProcedureSensitivityMask.DRAWABLE | Gimp.ProcedureSensitivityMask.DRAWABLES
            )
        procedure.set_documentation(blurb, blurb, name)
        procedure.set_menu_label(label)
        procedure.set_attribution("gimp-gptimage contributors", "GPL-3.0-or-later", "2026")
        procedure.add_menu_path(MENU_PATH)
        flags = GObject.ParamFlags.READWRITE
        procedure.add_string_argument("prompt", "Prompt", "What the model should paint", "", flags)
        procedure.add_int_argument("n", "Images", "How many results to make", 1, 10, 1, flags)
        procedure.add_string_argument("model", "Model", "Model name (empty: the configured one)", "", flags)
        procedure.add_string_argument("size", "Size", "e.g. 1024x1024 or auto (empty: automatic)", "", flags)
        procedure.add_string_argument(
            "quality", "Quality", "low, medium, high, auto; xhigh, max on 2.5/2.6 (empty: default)", "", flags
        )
        procedure.add_string_argument(
            "base-url", "Base URL", "OpenAI-compatible endpoint (empty: the configured provider)", "", flags
        )
        # Last, so scripts that pass the earlier arguments by position keep working.
        procedure.add_string_argument(
            "complexity", "Complexity", "low, medium or high, 2.6 models only (empty: the model's default)", "", flags
        )
        if command == "expand":
            expand.add_arguments(procedure)
        return procedure


if __name__ == "__main__":
    Gimp.main(GptImage.__gtype__, sys.argv)
