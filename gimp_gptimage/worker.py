"""`python -m gimp_gptimage.worker JOB_DIR`: the process the GIMP plug-in starts for each run.

Interactive jobs open the Qt dialog, batch jobs run headless. Whatever happens, the job ends with
done.json so the plug-in never waits on a dead worker, and the user sees one line, never a traceback.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from gimp_gptimage.api.errors import ConfigError, explain
from gimp_gptimage.jobs.jobfile import JobFileError, is_done, load_job, write_done
from gimp_gptimage.plugin.gptimage.gptimage_protocol import JOB_FILE

USAGE = "usage: python -m gimp_gptimage.worker JOB_DIR"
JOB_WAIT_S = 600.0  # the plug-in exports pixels before writing job.json; a huge layer takes seconds


def dialog_runner() -> Callable[[Path], object] | None:
    """qt_ui.app.run_job_dialog, or None while the dialog package is not installed."""
    try:
        module = importlib.import_module("qt_ui.app")
    except ModuleNotFoundError as exc:
        if exc.name in ("qt_ui", "qt_ui.app"):
            return None
        if (exc.name or "").split(".")[0] in ("PyQt6", "qasync"):
            raise ConfigError(
                f"The GPT Image dialog needs PyQt6 and qasync in {sys.executable}: "
                "pip install 'PyQt6>=6.7' 'qasync>=0.27', then try again."
            ) from exc
        raise
    except ImportError as exc:
        if "cannot open shared object file" in str(exc):  # Qt is there, a system library it loads is not
            raise ConfigError(
                f"The GPT Image dialog cannot start: a system library Qt needs is missing ({exc})."
            ) from exc
        raise
    return getattr(module, "run_job_dialog", None)


def run(job_dir: Path) -> int:
    """Run one job to done.json; returns the process exit code."""
    try:
        job = load_job(job_dir)
        runner = dialog_runner() if job.interactive else None
        if runner is None:
            from gimp_gptimage.jobs import headless

            runner = headless.run
        runner(job_dir)
    except JobFileError as exc:
        return _fail(job_dir, str(exc))
    except Exception as exc:
        traceback.print_exc()  # into worker.log, for a bug report; the user gets one line
        return _fail(job_dir, explain(exc).one_line())
    if not is_done(job_dir):
        write_done(job_dir)
    return 0


def _fail(job_dir: Path, message: str) -> int:
    if not is_done(job_dir):
        write_done(job_dir, message)
    return 1


def warm_up() -> None:
    """Import the job machinery while GIMP is still exporting pixels (a failure shows up later, in run)."""
    with contextlib.suppress(Exception):
        importlib.import_module("gimp_gptimage.jobs.headless")


def wait_for_job_file(job_dir: Path, parent: int, timeout: float = JOB_WAIT_S) -> bool:
    """True once job.json exists (the plug-in writes it last); False if the plug-in died or gave up."""
    deadline = time.monotonic() + timeout
    while not (job_dir / JOB_FILE).exists():
        plugin_gone = os.name == "posix" and os.getppid() != parent
        if plugin_gone or time.monotonic() > deadline or not job_dir.is_dir():
            return False
        time.sleep(0.01)
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print(USAGE, file=sys.stderr)
        return 2
    job_dir = Path(args[0])
    parent = os.getppid()
    warm_up()
    if not wait_for_job_file(job_dir, parent):
        return 1  # the plug-in stopped before handing over a job: nothing to do, nobody to tell
    code = run(job_dir)
    if os.name == "posix" and os.getppid() != parent:
        # The plug-in died (e.g. GIMP's Cancel kills it): nobody else will remove the job folder.
        shutil.rmtree(job_dir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
