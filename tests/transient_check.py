"""Run under a real X server: `python tests/transient_check.py PARENT_XID JOB_DIR HOME`.

Builds the dialog as the worker does for GIMP (with GimpLink and the image window's handle), shows it,
and prints what the X server holds as the dialog window's WM_TRANSIENT_FOR (asked with xprop while the
dialog is on screen).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from conftest import TempHome
from PyQt6.QtWidgets import QApplication
from qt_helpers import make_dialog

from gimp_gptimage.jobs.jobfile import ParentWindow
from qt_ui.gimp_link import GimpLink
from qt_ui.loop import new_event_loop


def main() -> int:
    parent, job = int(sys.argv[1], 0), Path(sys.argv[2])
    app = QApplication(sys.argv[:1])
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    dialog = make_dialog(job, TempHome(Path(sys.argv[3])), show=False)
    link = GimpLink(dialog, job, ParentWindow("x11", parent))
    assert link.foreign_parent is not None, QApplication.platformName()
    dialog.show()

    async def settle() -> None:
        await asyncio.sleep(0.5)

    with loop:
        loop.run_until_complete(settle())
        prop = subprocess.run(
            ["xprop", "-id", hex(int(dialog.winId())), "WM_TRANSIENT_FOR"], capture_output=True, text=True, timeout=10
        )
        print(prop.stdout.strip() or prop.stderr.strip(), flush=True)
        dialog.close()
        loop.run_until_complete(asyncio.sleep(0.1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
