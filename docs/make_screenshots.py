"""Regenerate the dialog screenshots in docs/screenshots/ (English and Simplified Chinese, with results).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py

Runs the real dialog standalone on the bundled coffee photo and its spoon selection, against the embedded
local server (offline engine), with private settings/history folders so nothing of the user's is touched.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
_TMP = Path(tempfile.mkdtemp(prefix="gptimage-shots-"))
os.environ["XDG_CONFIG_HOME"] = str(_TMP / "config")
os.environ["XDG_DATA_HOME"] = str(_TMP / "data")
for _var in ("GPTIMAGE_API_KEY", "OPENAI_API_KEY"):
    os.environ.pop(_var, None)
sys.path.insert(0, str(ROOT))

from PyQt6.QtWidgets import QApplication, QWidget  # noqa: E402

from gimp_gptimage.history import HistoryStore  # noqa: E402
from gimp_gptimage.keystore import local_backend  # noqa: E402
from gimp_gptimage.server import LocalServer  # noqa: E402
from gimp_gptimage.settings import SettingsStore  # noqa: E402
from qt_ui.dialog import GptImageDialog  # noqa: E402
from qt_ui.i18n import install_language  # noqa: E402
from qt_ui.insert import FolderTarget  # noqa: E402
from qt_ui.loop import new_event_loop  # noqa: E402
from qt_ui.source import source_from_files  # noqa: E402

PROMPTS = {"en": "Remove the spoon and continue the saucer's rim", "zh_CN": "去掉勺子，补全碟子的边缘"}


async def until(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the dialog did not get there in time")
        await asyncio.sleep(0.02)


async def settle(widget: QWidget) -> None:
    # Waiting on the loop, not app.processEvents(): events processed inside this task's step would run other
    # tasks' steps in it, which asyncio refuses ("Cannot enter into task ... while another task ...").
    await asyncio.sleep(0.25)
    widget.repaint()


async def shoot(server: LocalServer, language: str) -> None:
    install_language(language)
    source = source_from_files(ROOT / "resources" / "coffee.png", ROOT / "resources" / "coffee-spoon-selection.png")
    dialog = GptImageDialog(
        source,
        FolderTarget(_TMP / "out", source),
        SettingsStore(_TMP / "config" / language),
        HistoryStore(_TMP / "data" / "history"),
        backend=local_backend(server.base_url),
    )
    dialog.resize(1280, 860)
    dialog.show()
    dialog.model.prompt = PROMPTS[language]
    dialog.model.n = 4
    dialog.model.quality = "high"
    dialog.model.partial_images = 2
    dialog.run()
    await until(lambda: dialog.model.state != "running")
    await until(lambda: dialog.history_view.loaded)
    await settle(dialog)
    suffix = "en" if language == "en" else "zh"
    dialog.grab().save(str(OUT / f"dialog-{suffix}.png"))
    dialog.tabs.setCurrentWidget(dialog.sent_preview)
    await settle(dialog)
    dialog.grab().save(str(OUT / f"preview-{suffix}.png"))
    dialog.tabs.setCurrentWidget(dialog.history_view)
    await settle(dialog)
    dialog.grab().save(str(OUT / f"history-{suffix}.png"))
    dialog.open_settings()
    settings = dialog.settings_dialog
    settings.resize(820, 720)
    await settle(settings)
    settings.grab().save(str(OUT / f"settings-{suffix}.png"))
    settings.reject()
    dialog.close()
    await settle(dialog)


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    OUT.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        with LocalServer(latency=1.0) as server:
            for language in ("en", "zh_CN"):
                await shoot(server, language)

    with loop:
        loop.run_until_complete(run())
        loop.run_until_complete(loop.shutdown_asyncgens())
    shutil.rmtree(_TMP, ignore_errors=True)
    print(f"screenshots written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
