"""What only GIMP's real GUI (on Xvfb) can show: undo, and the user closing the image mid-run.

GIMP has no PDB procedure for undo or closing a display, so these scenarios open displays and press keys
with xdotool, as a user would. Real worker and local server; one GIMP launch for both.
- undo: the issue's main scenario (1600 x 1200 photo, feathered elliptical selection, n=2); one Ctrl+Z
  removes both results and nothing else, one redo brings them back;
- close: the image is closed (Ctrl+W) while the model works; nothing crashes and the result is kept in
  history.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gimp_harness import GimpRoot, GimpSession, new_session, read_report, scenario_result

from gimp_gptimage.server import LocalServer

pytestmark = pytest.mark.gimp

PHOTO = Path(__file__).resolve().parent.parent / "resources" / "coffee.png"

BATCH = r'''
import subprocess


def layer_names(image):
    return [lay.get_name() for lay in image.get_layers()]


def xdotool_press(title, keys):
    """Focus the image window (found by a part of its title, e.g. its size) and press keys (XTEST)."""
    return ["xdotool", "search", "--sync", "--name", title, "windowfocus", "--sync", "key", "--clearmodifiers", keys]


def press(keys, title="1600x1200"):
    done = subprocess.run(xdotool_press(title, keys), capture_output=True, text=True, timeout=30)
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


@scenario
def close_while_waiting():
    image = Gimp.Image.new(640, 480, Gimp.ImageBaseType.RGB)
    layer = pattern_layer(image, "Background", 640, 480)
    Gimp.Display.new(image)
    Gimp.displays_flush()
    image.clean_all()  # nothing to save: Ctrl+W closes at once
    # The user closes the image while the (slow) model works.
    closer = subprocess.Popen(["sh", "-c", "sleep 1 && " + " ".join(xdotool_press("640x480", "ctrl+w"))])
    outcome = call("python-fu-gptimage-edit", image, [layer], prompt="a late result", n=1, base_url=SLOW_URL)
    closer.wait(timeout=60)
    return {"call": outcome, "image_still_open": image.is_valid(), "closer": closer.returncode}
'''


@pytest.fixture(scope="module")
def run(gimp_root: GimpRoot) -> Iterator[tuple[GimpSession, dict]]:
    session: GimpSession = new_session(gimp_root)
    shutil.copyfile(PHOTO, session.host_dir / PHOTO.name)
    installed = session.install_plugin()
    assert installed.returncode == 0, installed.stdout + installed.stderr
    with LocalServer() as server, LocalServer(latency=4.0) as slow:
        prelude = (
            f"PHOTO = {session.inner_dir + '/' + PHOTO.name!r}\nBASE_URL = {server.base_url!r}\n"
            f"SLOW_URL = {slow.base_url!r}\n"
        )
        proc = session.run_gui_batch(prelude + BATCH, {"GPTIMAGE_API_KEY": "local-test-key"})
    yield session, read_report(session.host_dir / "out" / "report.json", proc)
    session.remove()


def test_one_undo_removes_both_results_and_nothing_else(run) -> None:
    _, report = run
    r = scenario_result(report, "undo")
    assert r["call"]["status"] == "success", r["call"]
    assert len(r["after_run"]) == 3 and sorted(r["after_run"][:2]) == ["a steaming teapot #1", "a steaming teapot #2"]
    assert r["after_undo"] == r["after_run"][2:], ("one Ctrl+Z must remove both results", r["keys"])
    assert r["selection_kept"], "the undo must stop at the run: the selection made before it stays"
    assert r["after_redo"] == r["after_run"], "one redo brings both back"


def test_closing_the_image_while_waiting_keeps_the_result_in_history(run) -> None:
    session, report = run
    r = scenario_result(report, "close_while_waiting")
    assert r["closer"] == 0 and not r["image_still_open"], "the image must have been closed during the run"
    assert r["call"]["status"] == "success", r["call"]
    folders = [p.parent for p in session.host_dir.glob("home/data/gimp-gptimage/history/*/record.json")]
    (entry,) = [f for f in folders if "a late result" in (f / "record.json").read_text()]
    assert len(list(entry.glob("result-*.png"))) == 1
