"""The interactive path in real GIMP 3.0 and 3.2: GIMP's GUI on Xvfb with a window manager, the project
installed as the README says (PyQt6 from PyPI in the venv the plug-in records), the command started from GIMP's
menu and the dialog driven by keys and clicks as a painter would.

One GIMP launch per version. The batch side only opens a photo in a window and selects an ellipse; the test
side opens Filters ▸ AI ▸ GPT Image ▸ Edit Selection… on the image window's menu bar, finds the dialog's
window, types the prompt without clicking (the prompt box has the focus), runs (Ctrl+Enter), clicks "Insert
all", closes the dialog; GIMP's side then checks the layers and the test presses Ctrl+Z once. A second run,
from the menu again, is closed through the window manager while the model streams: no process is left behind.
Screenshots of the dialog inside GIMP are kept in $GPTIMAGE_SCREENSHOTS (default: .ci-artifacts/screenshots/)
for CI and the README (`./dev.sh screenshots` re-takes the README's).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gimp_desktop import Desktop, desktop, processes_in
from gimp_harness import PROJECT, VENV_PYTHON, GimpRoot, GimpSession, new_session, read_report, scenario_result

from gimp_gptimage.server import LocalServer

pytestmark = pytest.mark.gimp

PHOTO = PROJECT / "resources" / "coffee.png"
SIZE = (1000, 750)
ELLIPSE = (520, 400, 190, 240)  # x, y, w, h on the canvas: the spoon's bowl (the README's screenshot)
FEATHER = 30
PROMPT = "remove the spoon"
DIALOG_TITLE = "^Edit Selection — "  # the dialog names the command it runs
KEY = "local-test-key"

BATCH = r'''
def signal(name):
    """Tell the test side that the batch reached a point."""
    open(os.path.join(OUT, name), "w").close()


def wait_signal(name, seconds=180):
    deadline = time.time() + seconds
    while not os.path.exists(os.path.join(OUT, name)):
        if time.time() > deadline:
            raise RuntimeError("the test side never sent " + name)
        time.sleep(0.1)


def layer_names(image):
    return [lay.get_name() for lay in image.get_layers()]


def wait_for_change(image, names, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline and layer_names(image) == names:
        time.sleep(0.05)
    return layer_names(image)


def processes(matches, seconds):
    """Command lines of processes matching `matches` still alive after up to `seconds` (/proc here is the
    host's: other processes show too)."""
    deadline = time.time() + seconds
    while True:
        found = []
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode()
            except (OSError, ValueError):
                continue
            if matches(cmd):
                found.append(cmd)
        if not found or time.time() > deadline:
            return found
        time.sleep(0.2)


def workers(seconds):
    """The worker's processes (its venv's Python)."""
    return processes(lambda cmd: cmd.startswith(WORKER_PYTHON), seconds)


def plugin_processes(seconds):
    """Our plug-in's processes (started by GIMP from the menu)."""
    return processes(lambda cmd: PLUGIN_SCRIPT in cmd, seconds)


image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(PHOTO))
image.scale(*SIZE)
source = image.get_layers()[0]
Gimp.Display.new(image)
Gimp.displays_flush()
image.select_ellipse(Gimp.ChannelOps.REPLACE, *ELLIPSE)
Gimp.Selection.feather(image, FEATHER)
dump(source, "source-before.rgba", "R'G'B'A u8")
dump_selection(image, "selection.gray")
signal("ready")


@scenario
def insert_all_then_undo():
    wait_signal("first-closed")  # the painter ran the menu command, inserted both results, closed the dialog
    plugin_left = plugin_processes(30)
    after_run = stack(image, "run")
    dump(source, "source-after.rgba", "R'G'B'A u8")
    names = layer_names(image)
    signal("inserted")
    wait_signal("undo-pressed")
    after_undo = wait_for_change(image, names)
    return {"plugin_left": plugin_left, "stack": after_run, "after_undo": after_undo,
            "selection_kept": not Gimp.Selection.is_empty(image)}


@scenario
def close_while_streaming():
    before = layer_names(image)
    signal("undone")
    wait_signal("second-closed")  # the second dialog was closed while its run streamed
    return {"before": before, "after": layer_names(image), "left": workers(10) + plugin_processes(10)}
'''


def settings(base_url: str) -> str:
    """A provider at the test's local server, two results per run, streamed with partial images."""
    provider = {"name": "CI server", "base_url": base_url, "model": "gpt-image-2"}
    defaults = {"n": 2, "stream": True, "partial_images": 2}
    return json.dumps({"providers": [provider], "provider": "CI server", "defaults": defaults})


def screenshots_dir(root: GimpRoot) -> Path:
    base = Path(os.environ.get("GPTIMAGE_SCREENSHOTS", PROJECT / ".ci-artifacts" / "screenshots"))
    return base / f"gimp-{root.version}"


def wait_for(predicate, seconds: float, what: str, desk: Desktop | None = None) -> None:
    """Poll `predicate`; on a timeout, with `desk`, first keep a post-mortem (screen and stacks) as an artefact."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            kept = f" (screen and stacks: {desk.post_mortem('timeout')})" if desk is not None else ""
            pytest.fail(f"timed out waiting for {what}{kept}", pytrace=False)
        time.sleep(0.2)


def results_in_history(session: GimpSession) -> int:
    return len(list(session.host_dir.glob("home/data/gimp-gptimage/history/*/result-*.png")))


def open_edit_selection(desk: Desktop, image_window: str, shot: str | None = None) -> None:
    """Filters ▸ AI ▸ GPT Image ▸ Edit Selection… on the image window's menu bar, by keyboard as GTK offers it:
    Alt+R is Filters' mnemonic, End goes to its last entry (AI: GIMP puts a submenu a plug-in adds after its
    own), Right opens AI and then GPT Image (its only entry), E is Edit Selection's mnemonic. A wrong turn
    shows in the screenshot `shot` taken with the menu open, and no dialog appears."""
    desk.xdotool("windowactivate", "--sync", image_window)
    for key in ("alt+r", "End", "Right", "Right"):
        desk.xdotool("key", "--clearmodifiers", key)
        time.sleep(0.4)  # GTK maps each submenu before it takes the next key
    if shot:
        desk.screenshot(shot)
    desk.xdotool("key", "--clearmodifiers", "e")


def drive(desk: Desktop, session: GimpSession, slow_url: str) -> dict:
    """The painter's side; returns what it saw."""
    seen: dict = {}
    out = session.host_dir / "out"
    wait_for((out / "ready").exists, 120, "GIMP to open the photo", desk)
    image_window = desk.wait_window("{}x{}".format(*SIZE))
    open_edit_selection(desk, image_window, "0-menu")
    dialog = desk.wait_window(DIALOG_TITLE, timeout=90)
    desk.xdotool("windowmove", "--sync", dialog, "1130", "28")  # beside GIMP's window, as a painter would
    time.sleep(1.5)  # let the dialog paint its preview
    desk.screenshot("1-dialog-open")
    desk.xdotool("type", "--delay", "30", PROMPT)  # no click: the prompt box has the focus
    desk.screenshot("2-prompt-typed")
    desk.xdotool("key", "--clearmodifiers", "ctrl+Return")
    wait_for(lambda: results_in_history(session) >= 2, 90, "two results in history", desk)
    x, y, _ = desk.find_text("Insert all", "3-results")
    desk.click(dialog, x, y)
    time.sleep(2)  # GIMP inserts while the dialog stays open
    desk.screenshot("4-inserted")
    desk.xdotool("windowactivate", "--sync", dialog)
    desk.xdotool("key", "--clearmodifiers", "Escape")
    wait_for(lambda: desk.window_gone(dialog), 30, "the dialog to close", desk)
    (out / "first-closed").touch()
    wait_for((out / "inserted").exists, 60, "GIMP's side to see the inserted layers", desk)
    desk.xdotool("windowactivate", "--sync", image_window)
    desk.xdotool("key", "--clearmodifiers", "ctrl+z")
    (out / "undo-pressed").touch()
    wait_for((out / "undone").exists, 30, "GIMP's side to see the undo", desk)
    desk.screenshot("5-after-undo")
    # The next run talks to a slow server (written after the first dialog saved its settings on closing).
    (session.host_dir / "home/config/gimp-gptimage/settings.json").write_text(settings(slow_url))

    open_edit_selection(desk, image_window)
    second = desk.wait_window(DIALOG_TITLE, timeout=90)  # X may give it the first one's id again
    desk.xdotool("windowmove", "--sync", second, "1130", "28")
    time.sleep(1.0)
    desk.xdotool("type", "--delay", "30", PROMPT + " and its shadow")
    desk.xdotool("key", "--clearmodifiers", "ctrl+Return")
    time.sleep(3.0)  # the slow server is streaming partial images now
    desk.screenshot("7-streaming")
    seen["history_before_close"] = results_in_history(session)
    desk.xdotool("windowactivate", "--sync", second)
    desk.xdotool("key", "--clearmodifiers", "alt+F4")  # openbox's Close: what the title bar's x does
    wait_for(lambda: desk.window_gone(second), 30, "the streaming dialog to close", desk)
    (out / "second-closed").touch()
    return seen


@pytest.fixture(scope="module")
def run(gimp_root: GimpRoot) -> Iterator[tuple[GimpSession, dict, dict]]:
    session = new_session(gimp_root)
    shutil.copyfile(PHOTO, session.host_dir / PHOTO.name)
    installed = session.install_plugin()
    assert installed.returncode == 0, installed.stdout + installed.stderr
    config = session.host_dir / "home/config/gimp-gptimage"
    config.mkdir(parents=True)
    shots = screenshots_dir(gimp_root)
    shutil.rmtree(shots, ignore_errors=True)
    with LocalServer(api_key=KEY, latency=1.0) as fast, LocalServer(api_key=KEY, latency=20.0) as slow:
        (config / "settings.json").write_text(settings(fast.base_url))
        prelude = (
            f"PHOTO = {session.inner_dir + '/' + PHOTO.name!r}\nSIZE = {SIZE!r}\nELLIPSE = {ELLIPSE!r}\n"
            f"FEATHER = {FEATHER}\nWORKER_PYTHON = {VENV_PYTHON!r}\n"
            f"PLUGIN_SCRIPT = {session.gimp_dir + '/plug-ins/gptimage/gptimage.py'!r}\n"
        )
        with desktop(session, shots) as desk:
            gimp = session.start_gui_batch(prelude + BATCH, desk.display, {"GPTIMAGE_API_KEY": KEY})
            try:
                seen = drive(desk, session, slow.base_url)
                gimp.wait(timeout=120)
            finally:
                if gimp.poll() is None:
                    desk.screenshot("failure")
                    gimp.kill()
                    gimp.wait()
            seen["left_in_root"] = processes_in(gimp_root.path, VENV_PYTHON)
    report = read_report(session.host_dir / "out" / "report.json", gimp)
    yield session, report, seen
    session.remove()


def raw(session: GimpSession, name: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.fromfile(session.host_dir / "out" / name, dtype=np.uint8).reshape(shape)


def test_insert_all_lands_both_results_masked_over_the_selection(run) -> None:
    session, report, _ = run
    r = scenario_result(report, "insert_all_then_undo")
    assert r["plugin_left"] == [], "the plug-in started from the menu ends when its dialog closes"
    results, rest = r["stack"][:2], r["stack"][2:]
    assert sorted(layer["name"] for layer in results) == [f"{PROMPT} #1", f"{PROMPT} #2"]
    assert [layer["name"] for layer in rest] == ["Background"], rest
    w, h = SIZE
    selection = raw(session, "selection.gray", (h, w))
    far = np.ones((h, w), bool)
    x, y, sw, sh = ELLIPSE
    far[max(0, y - 2 * FEATHER) : y + sh + 2 * FEATHER, max(0, x - 2 * FEATHER) : x + sw + 2 * FEATHER] = False
    assert selection[far].max() == 0
    for layer in results:
        assert layer["has_mask"], layer
        lx, ly, lw, lh = layer["x"], layer["y"], layer["w"], layer["h"]
        assert lx >= 0 and ly >= 0 and lx + lw <= w and ly + lh <= h, layer
        mask = np.zeros((h, w), np.uint8)
        mask[ly : ly + lh, lx : lx + lw] = raw(session, layer["mask"], (lh, lw))
        assert mask[far].max() == 0, "the mask must be zero far outside the selection"
        centre = (y + sh // 2, x + sw // 2)
        assert mask[centre] == 255 and selection[centre] == 255
        pixels = raw(session, layer["pixels"], (lh, lw, 4))
        assert pixels[..., 3].min() == 255
    before = raw(session, "source-before.rgba", (h, w, 4))
    assert np.array_equal(before, raw(session, "source-after.rgba", (h, w, 4))), "the source layer is untouched"


def test_one_ctrl_z_removes_both_results(run) -> None:
    _, report, _ = run
    r = scenario_result(report, "insert_all_then_undo")
    assert r["after_undo"] == [layer["name"] for layer in r["stack"][2:]], r
    assert r["selection_kept"]


def test_closing_the_dialog_while_streaming_leaves_no_process(run) -> None:
    _, report, seen = run
    r = scenario_result(report, "close_while_streaming")
    assert seen["history_before_close"] == 2, "the second run must still be streaming when it is closed"
    assert r["after"] == r["before"], "nothing is inserted after the dialog closed"
    assert r["left"] == [], r["left"]
    assert seen["left_in_root"] == [], seen["left_in_root"]


def test_screenshots_of_the_dialog_inside_gimp_are_kept(run) -> None:
    session, _, _ = run
    shots = screenshots_dir(session.root)
    names = sorted(p.stem for p in shots.glob("*.png"))
    for wanted in ("0-menu", "1-dialog-open", "2-prompt-typed", "3-results", "4-inserted", "7-streaming"):
        assert wanted in names, names
