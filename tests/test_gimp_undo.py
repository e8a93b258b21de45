"""One undo removes every layer of a run: checked in GIMP 3.0.4's real GUI (on Xvfb), by pressing Ctrl+Z.

GIMP has no PDB procedure for undo, so this test opens a display for the image and sends the key with
xdotool. The run is the issue's main scenario: a 1600 x 1200 photo, a feathered elliptical selection, n=2,
real worker and local server.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gimp_harness import GimpSession, new_session, prepare_root, read_report, scenario_result

from gimp_gptimage.server import LocalServer

pytestmark = pytest.mark.gimp

PHOTO = Path(__file__).resolve().parent.parent / "resources" / "coffee.png"

BATCH = r'''
import subprocess


def layer_names(image):
    return [lay.get_name() for lay in image.get_layers()]


def press(keys):
    """Focus the image window (its title ends with the size) and press keys (XTEST), as a user would."""
    done = subprocess.run(
        ["xdotool", "search", "--sync", "--name", "1600x1200", "windowfocus", "--sync",
         "key", "--clearmodifiers", keys],
        capture_output=True, text=True, timeout=30)
    return [done.returncode, done.stdout, done.stderr]


def wait_for_change(image, names, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline and layer_names(image) == names:
        time.sleep(0.05)
    return layer_names(image)


@scenario
def undo():
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(PHOTO))
    image.scale(1600, 1200)
    source = image.get_layers()[0]
    Gimp.Display.new(image)
    Gimp.displays_flush()
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 520, 380, 560, 420)
    Gimp.Selection.feather(image, 40)
    outcome = call("python-fu-gptimage-edit", image, [source], prompt="a steaming teapot", n=2, base_url=BASE_URL)
    after_run = layer_names(image)
    undo_key = press("ctrl+z")
    after_undo = wait_for_change(image, after_run)
    redo_key = press("ctrl+y")
    after_redo = wait_for_change(image, after_undo)
    return {"call": outcome, "after_run": after_run, "after_undo": after_undo, "after_redo": after_redo,
            "selection_kept": not Gimp.Selection.is_empty(image), "keys": [undo_key, redo_key]}
'''


@pytest.fixture(scope="module")
def report() -> Iterator[dict]:
    prepare_root()
    session: GimpSession = new_session()
    shutil.copyfile(PHOTO, session.host_dir / PHOTO.name)
    installed = session.install_plugin()
    assert installed.returncode == 0, installed.stdout + installed.stderr
    with LocalServer() as server:
        prelude = f"PHOTO = {session.inner_dir + '/' + PHOTO.name!r}\nBASE_URL = {server.base_url!r}\n"
        proc = session.run_gui_batch(prelude + BATCH, {"GPTIMAGE_API_KEY": "local-test-key"})
    yield read_report(session.host_dir / "out" / "report.json", proc)
    session.remove()


def test_one_undo_removes_both_results_and_nothing_else(report: dict) -> None:
    r = scenario_result(report, "undo")
    assert r["call"]["status"] == "success", r["call"]
    assert len(r["after_run"]) == 3 and sorted(r["after_run"][:2]) == ["a steaming teapot #1", "a steaming teapot #2"]
    assert r["after_undo"] == r["after_run"][2:], ("one Ctrl+Z must remove both results", r["keys"])
    assert r["selection_kept"], "the undo must stop at the run: the selection made before it stays"
    assert r["after_redo"] == r["after_run"], "one redo brings both back"
