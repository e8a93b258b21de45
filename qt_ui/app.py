"""Entry points: the GIMP worker's interactive dialog and `gimp-gptimage ui IMAGE`.

Each creates the QApplication and a qasync event loop, shows the dialog and runs until it closes.
Without a configured provider the dialog talks to the embedded local server and says so in a banner.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from PyQt6.QtWidgets import QApplication

from gimp_gptimage.history import HistoryStore
from gimp_gptimage.settings import SettingsStore

from .dialog import GptImageDialog
from .gimp_link import GimpLink
from .i18n import install_language
from .insert import FolderTarget, InsertTarget, JobFolderTarget
from .loop import new_event_loop
from .source import EditSource, source_from_files, source_from_job


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("gimp-gptimage")
    app.setApplicationDisplayName("GPT Image")
    app.setQuitOnLastWindowClosed(False)  # the loop ends when *our* dialog closes, not on any window
    return app


async def show_dialog(dialog: GptImageDialog) -> None:
    """Show the dialog and wait until it is closed (the dialog stays modeless so insertion can go on)."""
    closed = asyncio.get_running_loop().create_future()
    dialog.finished.connect(lambda _code: closed.done() or closed.set_result(None))
    dialog.destroyed.connect(lambda *_: closed.done() or closed.set_result(None))
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    await closed
    await dialog.controller.wait()
    await dialog.controller.aclose()


def _run(make_source, make_target, attach=None) -> int:  # type: ignore[no-untyped-def]
    app = _application()
    store = SettingsStore()
    settings = store.load()
    install_language(settings.language)
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    # A bad job or image file raises here: the worker / CLI turn it into one line for the user.
    source: EditSource = make_source()
    target: InsertTarget = make_target(source)
    dialog = GptImageDialog(source, target, store, HistoryStore())
    if attach is not None:
        attach(dialog)  # before showing: a transient parent must be known when the window is mapped
    with loop:
        loop.run_until_complete(show_dialog(dialog))
        loop.run_until_complete(loop.shutdown_asyncgens())
    return 0


def run_job_dialog(job_dir: Path) -> int:
    """The GIMP worker's interactive job: results go to the job's outbox while the dialog stays open.
    The worker writes done.json when this returns (or raises)."""
    job_dir = Path(job_dir)

    def attach(dialog: GptImageDialog) -> None:
        job = dialog.source.job
        dialog.gimp_link = GimpLink(dialog, job_dir, job.parent_window if job else None)

    return _run(lambda: source_from_job(job_dir), lambda _source: JobFolderTarget(job_dir), attach)


def run_standalone(
    image_path: Path | str, selection_path: Path | str | None = None, out_dir: Path | None = None
) -> int:
    """`gimp-gptimage ui IMAGE [--selection SEL]`: results are saved as PNGs next to the image (or in out_dir)."""
    image_path = Path(image_path)
    selection = Path(selection_path) if selection_path else None
    folder = Path(out_dir) if out_dir else image_path.parent
    return _run(lambda: source_from_files(image_path, selection), lambda source: FolderTarget(folder, source))
