"""The real dialog, driven like a user would, against the real local server over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image
from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt6.QtGui import QDragEnterEvent, QDropEvent, QStandardItemModel
from PyQt6.QtWidgets import QApplication, QListWidget, QListWidgetItem
from qt_helpers import LAYER_H, LAYER_OFFSET, LAYER_W, SELECTION_BOX, make_dialog, qrun, until, write_job

from gimp_gptimage.api.providers import OPENAI, custom
from gimp_gptimage.history import HistoryStore
from gimp_gptimage.keystore import Backend, local_backend
from gimp_gptimage.server import Fault, LocalServer
from gimp_gptimage.settings import SettingsStore
from qt_ui.dialog import GptImageDialog
from qt_ui.insert import FolderTarget
from qt_ui.results_view import ImageViewer
from qt_ui.source import source_from_files

pytest_plugins = ["qt_fixtures"]


def list_item(widget: QListWidget, row: int) -> QListWidgetItem:
    item = widget.item(row)
    assert item is not None, f"no row {row}"
    return item


def item_text(widget: QListWidget, row: int) -> str:
    return list_item(widget, row).text()


def outbox_messages(job: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((job / "outbox").glob("*.json"))]


def test_run_streams_partials_then_results_and_insert_writes_the_outbox(qloop, qtbot, job_dir, temp_home) -> None:
    with LocalServer(latency=1.5) as server:
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            assert not dialog.run_button.isEnabled()  # no prompt yet
            qtbot.keyClicks(dialog.prompt_view.edit, "remove the yellow disc")
            dialog.model.n = 2
            dialog.model.partial_images = 2
            assert dialog.run_button.isEnabled()
            qtbot.keyClick(dialog.prompt_view.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
            assert dialog.model.state == "running"
            assert dialog.run_view.progress_row.isVisibleTo(dialog)
            await until(lambda: dialog.model.partials, what="a partial image")
            tile = dialog.results_view.tiles[min(dialog.model.partials)]
            assert not tile.view.image().isNull() and not tile.final
            await until(lambda: dialog.model.state != "running", what="the run to end")
            assert dialog.model.state == "done", dialog.model.error
            assert [r.index for r in dialog.model.results] == [0, 1]
            assert all(t.final and t.insert_button.isEnabled() for t in dialog.results_view.tiles.values())
            assert dialog.model.usage is not None and "the offline engine is free" in dialog.run_view.info.text()

            qtbot.mouseClick(dialog.results_view.tiles[1].insert_button, Qt.MouseButton.LeftButton)
            await until(lambda: len(outbox_messages(job_dir)) == 1, what="the outbox message")
            qtbot.mouseClick(dialog.results_view.insert_all_button, Qt.MouseButton.LeftButton)
            await until(lambda: len(outbox_messages(job_dir)) == 3, what="two more outbox messages")

        qrun(qloop, scenario())
    messages = outbox_messages(job_dir)
    # One click, one undo step in GIMP: "Insert all" marks how many of its results are still to come.
    assert [m["batch_left"] for m in messages] == [0, 1, 0]
    first = messages[0]
    result = dialog.model.results[1].result.placed
    h, w = result.pixels.shape[:2]
    assert (first["width"], first["height"]) == (w, h)
    assert (first["offset_x"], first["offset_y"]) == result.offset
    # The region lies in the layer and contains the selection; the offset is on the canvas.
    x0, y0 = first["offset_x"] - LAYER_OFFSET[0], first["offset_y"] - LAYER_OFFSET[1]
    assert 0 <= x0 <= SELECTION_BOX[0] and 0 <= y0 <= SELECTION_BOX[1]
    assert x0 + w >= SELECTION_BOX[2] and y0 + h >= SELECTION_BOX[3] and x0 + w <= LAYER_W and y0 + h <= LAYER_H
    pixels = np.frombuffer((job_dir / "outbox" / first["pixels"]).read_bytes(), np.uint8).reshape(h, w, 4)
    assert np.array_equal(pixels, result.pixels)
    mask = np.frombuffer((job_dir / "outbox" / first["mask"]).read_bytes(), np.uint8).reshape(h, w)
    assert mask.max() == 255 and mask.min() == 0  # selected area in, the rest out
    assert first["name"].startswith("remove the yellow disc")
    store = HistoryStore(temp_home.data / "history")
    entry = store.get(first["history_id"])
    assert entry.status == "done" and len(entry.results) == 2
    assert [m["history_id"] for m in messages] == [first["history_id"]] * 3
    assert sorted(m["name"][-2:] for m in messages[1:]) == ["#1", "#2"]


def test_with_no_provider_set_up_the_embedded_server_runs_beside_the_dialog(qloop, qtbot, job_dir, temp_home) -> None:
    """The first-run path: the offline server starts on first use in a child process (its work never holds
    the GUI thread) and goes away with the dialog."""
    dialog = make_dialog(job_dir, temp_home)  # no backend given, none configured
    qtbot.addWidget(dialog)

    def servers() -> list[psutil.Process]:
        return [p for p in psutil.Process().children() if "gimp_gptimage.server.child" in " ".join(p.cmdline())]

    async def scenario() -> None:
        assert servers() == []  # nothing started before it is needed
        qtbot.keyClicks(dialog.prompt_view.edit, "remove the yellow disc")
        dialog.run()
        await until(lambda: dialog.model.state != "running", what="the run to end")
        assert dialog.model.state == "done", dialog.model.error
        assert len(dialog.model.results) == 1
        assert len(servers()) == 1
        dialog.close()

    qrun(qloop, scenario())
    assert servers() == []


def test_cancel_mid_stream_stops_at_once_and_the_dialog_stays_usable(qloop, qtbot, job_dir, temp_home) -> None:
    with LocalServer(latency=3.0) as server:
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            dialog.model.prompt = "a red flower"
            dialog.model.partial_images = 2
            dialog.run()
            await until(lambda: dialog.model.partials, what="the first partial image")
            task = dialog.controller.task
            assert task is not None
            qtbot.mouseClick(dialog.run_view.cancel_button, Qt.MouseButton.LeftButton)
            await until(task.done, timeout=2, what="the request to be aborted")
            await until(lambda: dialog.model.state == "idle", timeout=2, what="the dialog to settle")
            assert dialog.model.error is None and "Cancelled" in dialog.run_view.info.text()
            assert dialog.model.results == []
            assert not dialog.run_view.progress_row.isVisibleTo(dialog)
            assert dialog.model.prompt == "a red flower" and dialog.run_button.isEnabled()
            # The next try works in the same dialog.
            dialog.model.stream = False
            dialog.run()
            await until(lambda: dialog.model.state != "running", what="the second run")
            assert dialog.model.state == "done" and len(dialog.model.results) == 1

        qrun(qloop, scenario())
    entries = HistoryStore(temp_home.data / "history").list()
    assert sorted(e.status for e in entries) == ["cancelled", "done"]
    assert not (job_dir / "outbox").exists() or outbox_messages(job_dir) == []


def test_api_error_is_shown_with_status_and_request_id_and_nothing_is_lost(qloop, qtbot, job_dir, temp_home) -> None:
    with LocalServer(faults=()) as server:
        server.faults.add(Fault("status", status=403, message="Your organization must be verified to use gpt-image-2."))
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            dialog.model.prompt = "make it night"
            dialog.model.quality = "high"
            dialog.run()
            await until(lambda: dialog.model.state != "running", what="the run to fail")

        qrun(qloop, scenario())
    assert dialog.model.state == "error"
    panel = dialog.run_view.error
    assert panel.isVisibleTo(dialog)
    assert "Your organization must be verified" in panel.detail.text()
    assert panel.title.text() == "This key may not use this model or endpoint"
    assert "HTTP status 403" in panel.meta.text()
    assert dialog.model.error is not None and dialog.model.error.request_id
    assert dialog.model.error.request_id in panel.meta.text()
    # Prompt and settings are kept; Run is ready for another try.
    assert dialog.prompt_view.edit.toPlainText() == "make it night"
    assert dialog.params_view.quality.currentData() == "high"
    assert dialog.run_button.isEnabled()


@pytest.mark.parametrize(
    ("setup", "field", "expected"),
    [
        ({"size": "1000x1000"}, "size", "Size 1000x1000: width and height must both be multiples of 16."),
        ({"size": "4096x2048"}, "size", "Size 4096x2048: width and height must both be at most 3840 pixels."),
        ({"size": "512x512"}, "size", "Size 512x512: 262,144 pixels in all; it must be between 655,360 and 8,294,400."),
        ({"size": "3840x1024"}, "size", "Size 3840x1024: the long edge may be at most 3 times the short edge."),
        (
            {"model": "gpt-image-1.5", "size": "2048x2048"},
            "size",
            "'2048x2048' is not allowed here; use one of '1024x1024', '1024x1536', '1536x1024', and 'auto'.",
        ),
        (
            {"model": "gpt-image-2", "background": "transparent"},
            "background",
            "This model cannot make transparent backgrounds.",
        ),
        (
            {"model": "gpt-image-1.5", "background": "transparent", "output_format": "jpeg"},
            "background",
            "A transparent background needs PNG or WebP output, not JPEG.",
        ),
        (
            {"model": "gpt-image-2", "quality": "standard"},
            "quality",
            "'standard' is not allowed here; use one of 'low', 'medium', 'high', and 'auto'.",
        ),
        ({"prompt": "x" * 32_001}, "prompt", "The prompt is too long: 32001 characters, at most 32000 allowed."),
    ],
)
def test_each_rule_is_named_next_to_its_field_and_blocks_run(qloop, qtbot, job_dir, temp_home, setup, field, expected):
    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)
    dialog.model.prompt = "ok"
    assert dialog.run_button.isEnabled()
    for name, value in setup.items():
        setattr(dialog.model, name, value)
    label = dialog.prompt_view.message if field == "prompt" else dialog.params_view.messages[field]
    assert label.isVisibleTo(dialog)
    assert label.text() == expected
    assert not dialog.run_button.isEnabled()
    assert dialog.run_hint.text() == "Fix the highlighted settings to run."


def test_the_count_box_keeps_n_within_the_rule(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)
    dialog.model.n = 11  # e.g. from a job file: the control holds the API's range (1-10)
    assert dialog.model.n == 10 and dialog.params_view.n.value() == 10 and "n" not in dialog.model.violations
    dialog.model.n = 0
    assert dialog.model.n == 1


def test_custom_size_typed_in_the_boxes_is_checked_live(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)
    dialog.model.prompt = "ok"
    view = dialog.params_view
    view.size_combo.setCurrentIndex(view.size_combo.findData("custom"))
    assert view.custom_box.isVisibleTo(dialog)
    view.width_spin.setValue(1000)
    view.height_spin.setValue(1024)
    assert dialog.model.size == "1000x1024"
    assert "multiples of 16" in view.messages["size"].text() and not dialog.run_button.isEnabled()
    view.width_spin.setValue(1008)
    assert dialog.model.size == "1008x1024" and not view.messages["size"].isVisibleTo(dialog)
    assert dialog.run_button.isEnabled()
    # Fixed-size models offer only their three sizes, and no custom entry.
    dialog.model.model = "gpt-image-1.5"
    sizes = [view.size_combo.itemData(i) for i in range(view.size_combo.count())]
    assert sizes == ["auto", "1024x1024", "1024x1536", "1536x1024"]


def test_options_are_enabled_only_where_valid(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)
    view = dialog.params_view
    dialog.model.output_format = "png"
    assert not view.compression.isEnabled()
    view.output_format.setCurrentIndex(view.output_format.findData("webp"))
    assert view.compression.isEnabled() and dialog.model.params().output_compression == dialog.model.compression
    view.stream.setChecked(False)
    assert not view.partials.isEnabled() and dialog.model.params().partial_images is None
    backgrounds, qualities = view.background.model(), view.quality.model()
    assert isinstance(backgrounds, QStandardItemModel) and isinstance(qualities, QStandardItemModel)
    transparent = backgrounds.item(view.background.findData("transparent"))
    xhigh = qualities.item(view.quality.findData("xhigh"))
    assert transparent is not None and xhigh is not None
    dialog.model.model = "gpt-image-2"
    assert not transparent.isEnabled() and "cannot make transparent backgrounds" in transparent.toolTip()
    assert not xhigh.isEnabled() and "gpt-image-2 does not offer this quality" in xhigh.toolTip()
    assert not view.complexity.isEnabled() and "2.6 models do" in view.complexity.toolTip()
    assert not view.markup.isEnabled() and "layer named 'markup'" in view.markup.toolTip()  # the job has none
    dialog.model.model = "gpt-image-1.5"
    assert transparent.isEnabled()
    dialog.model.model = "gpt-image-2.6-flare"
    assert xhigh.isEnabled() and view.complexity.isEnabled()
    view.complexity.setCurrentIndex(view.complexity.findData("low"))
    assert dialog.model.params().complexity == "low"
    dialog.model.model = "gpt-image-2.5-flare"  # no planning depth: not sent, not an error
    assert dialog.model.params().complexity is None and "complexity" not in dialog.model.violations
    dialog.model.model = "relay-image-9"  # unknown: everything offered, nothing checked locally
    assert view.complexity.isEnabled() and xhigh.isEnabled()


def test_markup_layer_is_offered_for_2_6_and_sent_as_markup(qloop, qtbot, tmp_path, temp_home) -> None:
    job = write_job(tmp_path / "job")
    raw = json.loads((job / "job.json").read_text())
    layer = raw["layer"]
    marks = np.zeros((layer["height"], layer["width"], 4), np.uint8)
    marks[10:20, 10:60] = (255, 0, 0, 255)
    (job / "markup.rgba").write_bytes(marks.tobytes())
    raw["markup"] = {**layer, "name": "markup", "file": "markup.rgba"}
    (job / "job.json").write_text(json.dumps(raw))
    dialog = make_dialog(job, temp_home)
    qtbot.addWidget(dialog)
    view = dialog.params_view
    dialog.model.model = "gpt-image-2"
    assert not view.markup.isEnabled() and "gpt-image-2 does not read markup" in view.markup.toolTip()
    assert not dialog.model.sends_markup()
    dialog.model.model = "gpt-image-2.6-sunburst"
    assert view.markup.isEnabled() and view.markup.isChecked() and "'markup'" in view.markup.text()
    assert dialog.model.sends_markup()
    view.markup.setChecked(False)
    assert not dialog.model.sends_markup()


def test_references_are_listed_reorderable_and_capped_at_sixteen(qloop, qtbot, tmp_path, temp_home) -> None:
    job = write_job(tmp_path / "job", references=2)
    dialog = make_dialog(job, temp_home)
    qtbot.addWidget(dialog)
    files = []
    for i in range(15):
        path = tmp_path / f"ref{i:02d}.png"
        Image.new("RGB", (40, 30), (i * 15, 80, 120)).save(path)
        files.append(path)

    async def scenario() -> None:
        await until(lambda: len(dialog.model.references) == 2, what="the job's references")
        view = dialog.references_view
        assert [item_text(view.list, i) for i in range(2)] == ["Reference 1", "Reference 2"]
        assert not list_item(view.list, 0).icon().isNull()
        view.list.setCurrentRow(0)
        qtbot.mouseClick(view.right_button, Qt.MouseButton.LeftButton)
        assert [r.name for r in dialog.model.references] == ["Reference 2", "Reference 1"]
        for path in files[:13]:
            await dialog.add_reference_path(path)
        assert dialog.model.image_count() == 16
        assert not view.add_button.isEnabled() and "16 of 16" in view.count.text()
        await dialog.add_reference_path(files[13])  # refused: the limit holds
        assert dialog.model.image_count() == 16
        view.list.setCurrentRow(3)
        qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
        assert dialog.model.image_count() == 15 and view.add_button.isEnabled()

    qrun(qloop, scenario())


def test_image_files_dropped_from_a_file_manager_become_references_in_order(qloop, qtbot, tmp_path, temp_home) -> None:
    dialog = make_dialog(write_job(tmp_path / "job"), temp_home)
    qtbot.addWidget(dialog)
    # The big file loads slowest: it must still land first, as it was first in the drop.
    sizes = {"big.png": (2400, 1800), "small.png": (20, 20), "tiny.jpg": (8, 8)}
    paths = []
    for name, size in sizes.items():
        Image.effect_noise(size, 40).convert("RGB").save(tmp_path / name)
        paths.append(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    view = dialog.references_view.list

    def drop(files: list[Path]) -> bool:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
        viewport = view.viewport()
        assert viewport is not None
        at = QPointF(viewport.rect().center())
        actions = Qt.DropAction.CopyAction
        enter = QDragEnterEvent(at.toPoint(), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view.viewport(), enter)
        if not enter.isAccepted():
            return False
        QApplication.sendEvent(
            view.viewport(), QDropEvent(at, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        )
        return True

    async def scenario() -> None:
        assert drop(paths)
        await until(lambda: len(dialog.model.references) == 3, what="three dropped references")
        assert [r.name for r in dialog.model.references] == list(sizes)
        assert [item_text(view, i) for i in range(3)] == list(sizes)
        assert drop([tmp_path / "notes.txt"])
        await until(lambda: dialog.model.error is not None, what="the message about the text file")
        assert dialog.model.error is not None
        line = dialog.model.error.one_line()
        assert "notes.txt" in line and "not an image" in line and "PNG, JPEG or WebP" in line
        assert len(dialog.model.references) == 3  # nothing half-added

    qrun(qloop, scenario())


def test_preview_shows_exactly_the_region_and_size_that_will_be_sent(qloop, qtbot, job_dir, temp_home) -> None:
    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)

    async def scenario() -> None:
        await until(lambda: "sent as" in dialog.sent_preview.caption.text(), what="the first preview")
        first = dialog.sent_preview.caption.text()
        assert not dialog.sent_preview.view.image().isNull()
        dialog.model.context_mode = "whole"
        await until(lambda: dialog.sent_preview.caption.text() != first, what="the preview to follow")

    qrun(qloop, scenario())
    assert f"Region {LAYER_W} × {LAYER_H} at (0, 0)" in dialog.sent_preview.caption.text()


def test_history_lists_past_results_and_inserts_one_again(qloop, qtbot, job_dir, temp_home, server) -> None:
    dialog = make_dialog(job_dir, temp_home, server)
    qtbot.addWidget(dialog)

    async def scenario() -> None:
        dialog.model.prompt = "a small boat"
        dialog.model.stream = False
        dialog.run()
        await until(lambda: dialog.model.state == "done", what="the run")
        view = dialog.history_view
        await until(lambda: view.loaded and view.list.count() == 1, what="the history list")
        assert "a small boat" in item_text(view.list, 0)
        assert not list_item(view.list, 0).icon().isNull()
        view.list.setCurrentRow(0)
        qtbot.mouseClick(view.insert_button, Qt.MouseButton.LeftButton)
        await until(lambda: len(outbox_messages(job_dir)) == 1, what="the re-inserted result")

    qrun(qloop, scenario())
    message = outbox_messages(job_dir)[0]
    original = dialog.model.results[0].result.placed
    # Same layer and selection: placed exactly as the first time (same region, same mask).
    assert (message["offset_x"], message["offset_y"]) == original.offset
    assert (message["height"], message["width"]) == original.pixels.shape[:2]
    assert message["mask"] is not None


def test_standalone_insert_saves_the_composited_image_and_says_where(qloop, qtbot, tmp_path, temp_home, server):
    image_path = tmp_path / "photo.png"
    Image.new("RGB", (600, 400), (90, 140, 200)).save(image_path)
    selection = Image.new("L", (600, 400), 0)
    selection.paste(255, (200, 100, 400, 300))
    selection.save(tmp_path / "sel.png")
    source = source_from_files(image_path, tmp_path / "sel.png")
    out = tmp_path / "out"
    dialog = GptImageDialog(
        source,
        FolderTarget(out, source),
        SettingsStore(temp_home.config),
        HistoryStore(temp_home.data),
        backend=local_backend(server.base_url),
    )
    qtbot.addWidget(dialog)
    dialog.show()

    async def scenario() -> None:
        dialog.model.prompt = "a kite"
        dialog.model.stream = False
        dialog.run()
        await until(lambda: dialog.model.state == "done", what="the run")
        qtbot.mouseClick(dialog.results_view.tiles[0].insert_button, Qt.MouseButton.LeftButton)
        await until(lambda: "Inserted at " in dialog.run_view.info.text(), what="the saved image")

    qrun(qloop, scenario())
    saved = out / "photo-gptimage-1.png"
    assert str(saved) in dialog.run_view.info.text()
    with Image.open(saved) as image:
        pixels = np.asarray(image.convert("RGBA"))
    assert pixels.shape == (400, 600, 4)
    # Far outside the selection the photo is untouched.
    assert (pixels[:40, :100, :3] == (90, 140, 200)).all()


def test_escape_cancels_a_run_and_closing_ends_everything(qloop, qtbot, job_dir, temp_home) -> None:
    with LocalServer(latency=3.0) as server:
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            dialog.model.prompt = "fog"
            dialog.run()
            await until(lambda: dialog.model.stage in ("uploading", "generating"), what="the upload")
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)
            await until(lambda: dialog.model.state == "idle", timeout=2, what="the cancel")
            assert dialog.isVisible()
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # not running: Escape closes
            await until(lambda: not dialog.isVisible(), timeout=2, what="the dialog to close")
            await asyncio.sleep(0)

        qrun(qloop, scenario())


def test_generate_job_hides_edit_controls_and_inserts_full_canvas_layers(qloop, qtbot, tmp_path, temp_home, server):
    job = write_job(tmp_path / "job", command="generate", prompt="a lighthouse at dusk")
    dialog = make_dialog(job, temp_home, server)
    qtbot.addWidget(dialog)
    assert not dialog.context_group.isVisibleTo(dialog) and not dialog.references_group.isVisibleTo(dialog)
    assert not dialog.tabs.isTabVisible(1)
    assert dialog.source_label.text() == "New layer from a prompt, sized to the canvas"
    assert dialog.windowTitle() == "Generate Layer — photo.xcf"  # Qt adds " — GPT Image" itself
    assert dialog.prompt_view.edit.placeholderText().startswith("Describe the picture")
    assert dialog.params_view.size_combo.itemText(0) == "Auto (the model chooses)"

    async def scenario() -> None:
        dialog.model.stream = False
        dialog.run()
        await until(lambda: dialog.model.state != "running", what="the generation")
        assert dialog.model.state == "done", dialog.model.error
        qtbot.mouseClick(dialog.results_view.tiles[0].insert_button, Qt.MouseButton.LeftButton)
        await until(lambda: outbox_messages(job), what="the outbox message")

    qrun(qloop, scenario())
    message = outbox_messages(job)[0]
    assert (message["width"], message["height"], message["offset_x"], message["offset_y"]) == (800, 600, 0, 0)
    assert message["mask"] is None


def test_clicking_a_result_enlarges_it(qloop, qtbot, job_dir, temp_home, server) -> None:
    dialog = make_dialog(job_dir, temp_home, server)
    qtbot.addWidget(dialog)

    async def scenario() -> None:
        dialog.model.prompt = "snow"
        dialog.model.stream = False
        dialog.run()
        await until(lambda: dialog.model.state == "done", what="the run")
        await until(lambda: dialog.results_view.tiles[0].final, what="the result tile")
        view = dialog.results_view.tiles[0].view
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.rect().center())
        await until(lambda: viewers(), what="the enlarged image")

    def viewers() -> list:
        return [w for w in dialog.findChildren(ImageViewer) if w.isVisible()]

    qrun(qloop, scenario())
    viewer = viewers()[0]
    result = dialog.model.results[0].result.placed
    h, w = result.pixels.shape[:2]
    image = viewer.view.image()
    assert image.width() == min(w, 1024) or image.height() == min(h, 1024)
    assert viewer.windowTitle() == "Image 1"


def test_too_many_layers_from_the_plugin_are_all_listed_with_the_rule(qloop, qtbot, tmp_path, temp_home) -> None:
    job = write_job(tmp_path / "job", references=17, prompt="fuse them")
    dialog = make_dialog(job, temp_home)
    qtbot.addWidget(dialog)

    async def scenario() -> None:
        await until(lambda: len(dialog.model.references) == 17, what="the job's references")

    qrun(qloop, scenario())
    view = dialog.references_view
    assert view.message.text() == "Too many images: 18, at most 16 in all (the layer included)."
    assert not dialog.run_button.isEnabled() and not view.add_button.isEnabled()
    for _ in range(2):
        view.list.setCurrentRow(0)
        qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    assert not view.message.isVisibleTo(dialog) and dialog.run_button.isEnabled()
    assert [r.name for r in dialog.model.references][:2] == ["Reference 3", "Reference 4"]


def test_results_that_arrived_before_a_failure_stay_insertable(qloop, qtbot, job_dir, temp_home) -> None:
    with LocalServer(faults=()) as server:
        server.faults.add(Fault("reset_after", events=1))  # the connection dies after the first image
        dialog = make_dialog(job_dir, temp_home, server)
        qtbot.addWidget(dialog)

        async def scenario() -> None:
            dialog.model.prompt = "two boats"
            dialog.model.n = 2
            dialog.model.partial_images = 0
            dialog.run()
            await until(lambda: dialog.model.state != "running", what="the run to fail")
            assert dialog.model.state == "error"
            assert [r.index for r in dialog.model.results] == [0]
            qtbot.mouseClick(dialog.results_view.tiles[0].insert_button, Qt.MouseButton.LeftButton)
            await until(lambda: outbox_messages(job_dir), what="the insert")

        qrun(qloop, scenario())
    assert dialog.run_view.error.isVisibleTo(dialog)
    assert dialog.results_view.tiles[0].final and not dialog.results_view.tiles[1].final
    entry = HistoryStore(temp_home.data / "history").list()[0]
    assert entry.status == "failed" and [r.index for r in entry.results] == [0]


def test_history_result_is_placed_in_its_recorded_region_when_the_selection_changed(
    qloop, qtbot, job_dir, temp_home, server
) -> None:
    from qt_ui.history_insert import history_item
    from qt_ui.source import source_from_job

    dialog = make_dialog(job_dir, temp_home, server)
    qtbot.addWidget(dialog)

    async def scenario() -> None:
        dialog.model.prompt = "a red kite"
        dialog.model.stream = False
        dialog.run()
        await until(lambda: dialog.model.state == "done", what="the run")

    qrun(qloop, scenario())
    original = dialog.model.results[0].result
    entry = HistoryStore(temp_home.data / "history").list()[0]
    moved = source_from_job(job_dir)
    moved.selection = np.zeros_like(moved.selection)
    moved.selection[10:60, 10:60] = 255  # another selection: the exact paste-back no longer applies
    item = history_item(entry, entry.results[0], moved)
    assert item.placed.alpha is None and item.history_id == entry.id
    assert item.placed.offset == original.placed.offset
    assert item.placed.pixels.shape == original.placed.pixels.shape
    assert item.name == original.name


def test_model_list_shows_what_the_provider_lists(qloop, qtbot, job_dir, temp_home) -> None:
    from gimp_gptimage.api.catalog import image_models

    dialog = make_dialog(job_dir, temp_home)
    qtbot.addWidget(dialog)
    combo = dialog.params_view.model_combo
    assert combo.findData("gpt-image-2.6-flare") >= 0 and combo.findData("gpt-image-1") < 0  # the table
    listed = image_models({"data": [{"id": "gpt-image-2"}, {"id": "relay/gpt-image-9"}, {"id": "whisper-1"}]})
    dialog.model.model = "gpt-image-2"
    dialog.params_view.set_listed_models(listed)
    assert [combo.itemText(i) for i in range(combo.count())] == ["gpt-image-2", "relay/gpt-image-9 (unknown)"]
    assert "sent as is" in combo.itemData(1, Qt.ItemDataRole.ToolTipRole)
    combo.setCurrentIndex(1)
    assert dialog.model.model == "relay/gpt-image-9" and dialog.params_view.complexity.isEnabled()


def test_the_preview_takes_the_mask_as_the_endpoint_says(qloop, qtbot, job_dir, temp_home, server) -> None:
    """A custom base URL at a gimp-gptimage server is an inpainting engine (selection ungrown, as the
    offline engine gets it); a preset aimed at the same server keeps its rule (grown)."""
    key = "sk-dialog-test-key-0123456789"
    grows = {}
    for provider in (custom(server.base_url), OPENAI.with_base_url(server.base_url)):
        backend = Backend(provider.name, provider.base_url, key, False, provider)
        dialog = make_dialog(job_dir, temp_home, backend=backend, show=False)
        qtbot.addWidget(dialog)

        async def scenario(dialog: GptImageDialog = dialog) -> bool:
            try:
                return await dialog.controller.grows_mask()
            finally:
                await dialog.controller.aclose()

        grows[provider.name] = qrun(qloop, scenario())
    assert grows == {"custom": False, "openai": True}
